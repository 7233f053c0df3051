// The Worker's configuration, validated once per request from its bindings (wrangler.toml vars,
// secrets, .dev.vars). A missing required field fails fast with its name. Each hosted service is
// used when its credentials are present; otherwise the local stand-in is, and the log says so.
import { z } from "zod";
import { parseEncryptionKeys, type KeySpec } from "../core/secrets.ts";

const ms = (fallback: number) => z.coerce.number().int().positive().default(fallback);

export const ConfigSchema = z.object({
  /**
   * "local" only where the whole stack runs on one machine (`npm start`, the tests): it enables
   * what trusts the machine (the local sign-in, the dev API key, http webhooks to loopback).
   * Anything else, including unset, is a deployment.
   */
  MXRAY_MODE: z.enum(["local", "production"]).default("production"),
  TURSO_DATABASE_URL: z.string().min(1),
  TURSO_AUTH_TOKEN: z.string().optional(),
  PROBE_SECRET: z.string().min(16),
  /**
   * Signs session cookies and live tokens: never PROBE_SECRET, which every probe host holds (a
   * probe could then mint a session for anyone). Required: live tokens need it under Clerk too.
   */
  SESSION_SECRET: z.string().min(16),
  /** Former SESSION_SECRETs (comma-separated), still accepted so a rotation signs nobody out. */
  SESSION_SECRET_PREVIOUS: z.string().optional(),
  /**
   * Master keys that wrap each account's data key, which seals its secrets (core/secrets.ts):
   * comma-separated `id:base64key` pairs of 32-byte keys; the first seals, all open (rotation:
   * put the new key first, run `npm run secrets:rotate`, then drop the old one). Parsed once here.
   */
  MXRAY_ENCRYPTION_KEYS: z.string().transform((raw, ctx): KeySpec[] => {
    const parsed = parseEncryptionKeys(raw);
    if (parsed.ok) return parsed.keys;
    ctx.addIssue({ code: "custom", message: parsed.message });
    return z.NEVER;
  }),
  MXRAY_DEV_API_KEY: z.string().min(8).optional(),
  /** Our own public origin, for links and the probes' callback (defaults to the request's). */
  MXRAY_PUBLIC_URL: z.url().optional(),
  QSTASH_TOKEN: z.string().optional(),
  QSTASH_URL: z.url().optional(),
  /** Direct dispatch signs with this, exactly as QStash would: the probe checks the same key. */
  QSTASH_CURRENT_SIGNING_KEY: z.string().optional(),
  /** QStash's next signing key: its calls to /internal/webhooks/* verify with either (key rotation). */
  QSTASH_NEXT_SIGNING_KEY: z.string().optional(),
  /** Rate limits and the single-check cache; `npm start` and the tests run redis-server behind a local bridge. */
  UPSTASH_REDIS_REST_URL: z.url(),
  UPSTASH_REDIS_REST_TOKEN: z.string().min(1),
  MXRAY_RATE_LIMIT_PER_MIN: z.coerce.number().int().positive().default(100),
  /**
   * What all of an account's keys may spend together a minute (a decision-makers request counts
   * one per person asked for); unset, 3 × MXRAY_RATE_LIMIT_PER_MIN (edge/adapters/ratelimit.ts).
   */
  MXRAY_ACCOUNT_RATE_LIMIT_PER_MIN: z.coerce.number().int().positive().optional(),
  /**
   * Single checks a publishable key (the sign-up form widget, issue 25) may make a minute: in all,
   * from one of its origins, and from one client IP (CF-Connecting-IP). Its checks also count in
   * the account's shared window (MXRAY_ACCOUNT_RATE_LIMIT_PER_MIN). A person filling in a form
   * needs a few; a page scraped to check a list needs many, from few IPs.
   */
  MXRAY_PK_RATE_PER_KEY: z.coerce.number().int().positive().default(120),
  MXRAY_PK_RATE_PER_ORIGIN: z.coerce.number().int().positive().default(60),
  MXRAY_PK_RATE_PER_IP: z.coerce.number().int().positive().default(10),
  /** Decision-maker lookups an account may make of the people-data provider per UTC day (answers from the day's cache are free). */
  MXRAY_PEOPLE_DATA_PER_DAY: z.coerce.number().int().nonnegative().default(100),
  /** Addresses per probe batch (≤ 5,000, the probe's limit). */
  MXRAY_BATCH_SIZE: z.coerce.number().int().min(1).max(5_000).default(1_000),
  MXRAY_BATCH_BUDGET_MS: ms(5 * 60_000),
  /** A dispatched batch not finished by then goes to another probe (budget + delivery slack). */
  MXRAY_LEASE_MS: ms(7 * 60_000),
  /**
   * How free probe capacity is shared: "fair" across accounts (weighted by plan), or "fifo",
   * oldest batch first, the order before issue 13, kept for `npm run bench:fairness` to compare.
   */
  MXRAY_DISPATCH_ORDER: z.enum(["fair", "fifo"]).default("fair"),
  /** A probe silent for this long is marked dead and gets no work. */
  MXRAY_PROBE_DEAD_MS: ms(90_000),
  /**
   * A probe not heard from for this long shows as silent on /admin, whatever its status says:
   * 3 of the probes' default 10 s heartbeats missed (issue 26). Display only; dispatch uses MXRAY_PROBE_DEAD_MS.
   */
  MXRAY_PROBE_SILENT_MS: ms(30_000),
  /**
   * A single check or find that finds no live probe (at start, while the fleet restarts) waits up
   * to this long for one to report in (never more than half its own budget), then answers 503.
   */
  MXRAY_PROBE_WAIT_MS: z.coerce.number().int().min(0).max(60_000).default(5_000),
  /** Bounce mailboxes one probe takes at most on its heartbeats (edge/bounces/assign.ts); more wait for another probe. */
  MXRAY_MAILBOXES_PER_PROBE: z.coerce.number().int().min(1).max(1_000).default(50),
  MXRAY_MAX_UPLOAD_BYTES: z.coerce.number().int().positive().default(80 * 1024 * 1024),
  /**
   * What an .xlsx or .zip upload may inflate to, all its entries together (a 1M-row workbook's
   * XML is ~320 MB); past it the upload is refused as `archive_too_large` (core/spreadsheet/limits.ts).
   */
  MXRAY_MAX_UNZIPPED_BYTES: z.coerce.number().int().positive().default(1024 * 1024 * 1024),
  /** Clerk signs people in when both keys are set; otherwise the local sign-in does. */
  CLERK_SECRET_KEY: z.string().optional(),
  CLERK_PUBLISHABLE_KEY: z.string().optional(),
  /** The instance's PEM public key: session tokens are verified without a network call. */
  CLERK_JWT_KEY: z.string().optional(),
  /** Where signed-out people go; defaults to the instance's Account Portal. */
  CLERK_SIGN_IN_URL: z.url().optional(),
  /**
   * Verifies Clerk's webhooks (whsec_…, from the Clerk Dashboard) to POST /webhooks/clerk: a
   * membership removed or re-roled in Clerk revokes that person's API keys here at once. Without
   * it the route answers 503: a demotion is seen at the person's next request, a removal not at all.
   */
  CLERK_WEBHOOK_SIGNING_SECRET: z.string().min(8).optional(),
  /**
   * The local sign-in trusts any email: it answers only in local mode, and there only to a
   * loopback host unless this is "allow" (a private test instance reached by another name).
   */
  MXRAY_LOCAL_SIGNIN: z.enum(["loopback", "allow"]).default("loopback"),
  /** Credits granted once to each new personal account. */
  MXRAY_SIGNUP_CREDITS: z.coerce.number().int().nonnegative().default(100),
  /** Verifies Stripe's webhook deliveries (whsec_…); without it POST /webhooks/stripe answers 503. */
  STRIPE_WEBHOOK_SECRET: z.string().min(8).optional(),
  /** Stripe's API key (sk_… or rk_…); without it billing is off (`npm start` runs the stand-in). */
  STRIPE_SECRET_KEY: z.string().optional(),
  /** Where the Stripe client sends requests; only the local stand-in sets it (e2e/standin-stripe.ts). */
  STRIPE_API_URL: z.url().optional(),
  /**
   * People-data providers for decision makers (POST /api/v1/decision-makers): People Data Labs
   * when its key is set, else Apollo; neither, the feature is off. The URLs point the real
   * adapters at the loopback stand-ins (e2e/standin-peopledata.ts).
   */
  PDL_API_KEY: z.string().min(1).optional(),
  PDL_API_URL: z.url().optional(),
  APOLLO_API_KEY: z.string().min(1).optional(),
  APOLLO_API_URL: z.url().optional(),
  /** Bearer token of GET /internal/metrics (Prometheus); unset, the route answers 503. */
  MXRAY_METRICS_TOKEN: z.string().min(16).optional(),
  /**
   * Platform operators (comma-separated emails): they alone see /admin, the fleet and every
   * account. Parsed once here, lower-cased.
   */
  MXRAY_ADMIN_EMAILS: z
    .string()
    .optional()
    .transform((s) => (s ?? "").split(",").map((e) => e.trim().toLowerCase()).filter((e) => e.length > 0)),
  /**
   * "1": relays (and, through the probes, their addresses) may be loopback or private hosts, as
   * for probes: the local stack's relay sink and private test networks. Off in production.
   */
  MXRAY_ALLOW_PRIVATE_TARGETS: z.enum(["0", "1"]).default("0").transform((v) => v === "1"),
  /** Recipients per send batch (≤ 1,000, MAX_SEND_BATCH). */
  MXRAY_SEND_BATCH_SIZE: z.coerce.number().int().min(1).max(1_000).default(200),
  /** A send batch's time on a probe; past its lease (budget + slack) it is swept back. */
  MXRAY_SEND_BUDGET_MS: ms(10 * 60_000),
  MXRAY_SEND_LEASE_MS: ms(12 * 60_000),
  /** How long a single check's answer is served from the cache. */
  MXRAY_VERIFY_CACHE_S: z.coerce.number().int().nonnegative().default(3_600),
});
export type Config = z.infer<typeof ConfigSchema>;

export const localMode = (c: Config) => c.MXRAY_MODE === "local";

/** The secret that signs, then those that still verify (rotation). */
export const sessionSecrets = (c: Config): string[] => [
  c.SESSION_SECRET,
  ...(c.SESSION_SECRET_PREVIOUS ?? "").split(",").map((s) => s.trim()).filter((s) => s.length > 0),
];

export const clerkConfigured = (c: Config) => Boolean(c.CLERK_SECRET_KEY && c.CLERK_PUBLISHABLE_KEY);

export class ConfigError extends Error {}

const parsed = new WeakMap<object, Config>();

export function loadConfig(env: Env): Config {
  const hit = parsed.get(env);
  if (hit) return hit;
  const result = ConfigSchema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(`Worker configuration: ${result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  }
  parsed.set(env, result.data);
  return result.data;
}

// The probe daemon's environment, validated once at start-up (fail fast, naming the field).
import { z } from "zod";
import type { EngineOptions } from "./engine.ts";

const port = z.coerce.number().int().min(1).max(65_535);
const positiveInt = z.coerce.number().int().positive();
const commaList = z
  .string()
  .default("")
  .transform((s) => s.split(",").map((x) => x.trim()).filter(Boolean));
const edgeOnly = z
  .never({
    error:
      "the edge's Redis, which a probe must not hold: remove it from this host, rotate that token, and give probes the fleet's own database as MXRAY_FLEET_REDIS_REST_URL/_TOKEN (docs/deployment.md)",
  })
  .optional();

export const ConfigSchema = z.object({
  PORT: port.default(8025),
  HOST: z.string().min(1).default("0.0.0.0"),
  /** The URL QStash delivers to, without the path: the signature's `sub` is PUBLIC_URL + "/v1/batches". */
  PUBLIC_URL: z.url().transform((u) => u.replace(/\/+$/, "")),
  PROBE_ID: z.string().min(1),
  /** HMAC secret shared with the edge (core/signing.ts): results, heartbeats, /v1/verify. */
  PROBE_SECRET: z.string().min(16),
  QSTASH_CURRENT_SIGNING_KEY: z.string().min(1),
  QSTASH_NEXT_SIGNING_KEY: z.string().min(1),
  EDGE_URL: z.url().transform((u) => u.replace(/\/+$/, "")),
  MXRAY_HELO: z.string().min(1),
  MXRAY_FROM: z.string().default(""),
  MXRAY_DNS: commaList,
  MXRAY_SMTP_PORT: port.default(25),
  MXRAY_CONCURRENCY: positiveInt.optional(),
  MXRAY_PER_HOST: positiveInt.optional(),
  MXRAY_TIMEOUT_MS: positiveInt.optional(),
  MXRAY_GREYLIST_BUDGET_MS: z.coerce.number().int().nonnegative().optional(),
  MXRAY_DRAIN_GRACE_MS: z.coerce.number().int().nonnegative().default(30_000),
  MXRAY_OUTBOX_DIR: z.string().min(1).default("./.data/outbox"),
  MXRAY_MAX_INFLIGHT_BATCHES: positiveInt.default(4),
  MXRAY_HEARTBEAT_MS: positiveInt.default(10_000),
  /** The fleet's own Redis (probe/shared.ts: MX breakers, catch-all answers, deferrals), never the
   *  edge's database; unset: this probe's memory only. */
  MXRAY_FLEET_REDIS_REST_URL: z.url().optional(),
  MXRAY_FLEET_REDIS_REST_TOKEN: z.string().min(1).optional(),
  // The edge's database names (verify cache, idempotency, quotas, rate limits). Probes read them
  // until issue 21; a probe given them now refuses to start, so an old env file cannot keep the
  // edge's token on a probe host unnoticed.
  UPSTASH_REDIS_REST_URL: edgeOnly,
  UPSTASH_REDIS_REST_TOKEN: edgeOnly,
  /** host:port targets of the self-check's outbound port-25 test (probe/selfcheck.ts); doctor's defaults when unset. */
  MXRAY_SELF_CHECK_TARGETS: commaList,
  /** This host's public IP: the self-check then checks its PTR against MXRAY_HELO and its blocklist standing. */
  MXRAY_PUBLIC_IP: z.union([z.ipv4(), z.ipv6()]).optional(),
  /** "1": SMTP to loopback, private and other non-public addresses is allowed (the simulated world, the local relay sink). */
  MXRAY_ALLOW_PRIVATE_TARGETS: z.enum(["0", "1"]).default("0").transform((v) => v === "1"),
  /**
   * "1": the probe's DNS and SMTP are the simulated world's (npm run demo, the local stack): the
   * self-check then checks port 25 against MXRAY_SELF_CHECK_TARGETS only and calls the HELO name
   * check not applicable (the world's DNS holds only its scenario's domains), instead of red.
   */
  MXRAY_SIMULATED_WORLD: z.enum(["0", "1"]).default("0").transform((v) => v === "1"),
  /** A PEM file of CAs trusted for campaign relays beside the system's (the local relay sink's test CA, e2e/relay-sink). */
  MXRAY_RELAY_CA_FILE: z.string().min(1).optional(),
  /** How often each assigned bounce mailbox is read (probe/bounces/mailboxes.ts); POST …/poll reads sooner. */
  MXRAY_BOUNCE_POLL_MS: positiveInt.default(300_000),
  /** A PEM file of CAs trusted for bounce mailboxes (IMAP) beside the system's (the local Dovecot's test CA, e2e/relay-sink). */
  MXRAY_IMAP_CA_FILE: z.string().min(1).optional(),
}).refine((c) => !c.MXRAY_FLEET_REDIS_REST_URL || c.MXRAY_FLEET_REDIS_REST_TOKEN, {
  path: ["MXRAY_FLEET_REDIS_REST_TOKEN"],
  message: "required when MXRAY_FLEET_REDIS_REST_URL is set",
});
export type ProbeConfig = z.infer<typeof ConfigSchema>;

export type ConfigResult = { ok: true; value: ProbeConfig } | { ok: false; error: string };

/** Empty strings count as unset, so `FOO=` in an env file falls back to the default. */
function withoutEmpty(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] => typeof e[1] === "string" && e[1] !== ""),
  );
}

export function loadConfig(env: NodeJS.ProcessEnv): ConfigResult {
  const present = withoutEmpty(env);
  const parsed = ConfigSchema.safeParse(present);
  if (parsed.success) return { ok: true, value: parsed.data };
  const problems = parsed.error.issues.map((i) => {
    const field = String(i.path[0] ?? "env");
    return `${field}: ${present[field] === undefined ? "required, not set" : i.message}`;
  });
  return { ok: false, error: `invalid probe configuration: ${problems.join("; ")}` };
}

/** MXRAY_ALLOW_PRIVATE_TARGETS as the daemon reads it, for entry points without a full config. */
export function allowPrivateTargetsFrom(env: NodeJS.ProcessEnv): { ok: true; value: boolean } | { ok: false; error: string } {
  const parsed = ConfigSchema.shape.MXRAY_ALLOW_PRIVATE_TARGETS.safeParse(env.MXRAY_ALLOW_PRIVATE_TARGETS || undefined);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, error: 'MXRAY_ALLOW_PRIVATE_TARGETS must be "1" or "0"' };
}

export function engineOptionsFrom(config: ProbeConfig): Partial<EngineOptions> {
  const options: Partial<EngineOptions> = {
    from: config.MXRAY_FROM,
    helo: config.MXRAY_HELO,
    dnsServers: config.MXRAY_DNS,
    port: config.MXRAY_SMTP_PORT,
    allowPrivateTargets: config.MXRAY_ALLOW_PRIVATE_TARGETS,
  };
  if (config.MXRAY_CONCURRENCY !== undefined) options.concurrency = config.MXRAY_CONCURRENCY;
  if (config.MXRAY_PER_HOST !== undefined) options.perHostConnections = config.MXRAY_PER_HOST;
  if (config.MXRAY_TIMEOUT_MS !== undefined) options.timeoutMs = config.MXRAY_TIMEOUT_MS;
  if (config.MXRAY_GREYLIST_BUDGET_MS !== undefined) {
    options.greylistBudgetMs = config.MXRAY_GREYLIST_BUDGET_MS;
  }
  return options;
}

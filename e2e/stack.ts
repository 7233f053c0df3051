// The whole local stack, as `npm start` runs it and as the integration tests and benchmarks
// drive it: sqld (migrated), the Worker under `wrangler dev` (workerd), local probe daemons as
// child processes, optionally the simulated mail world, and a timer that fires the Worker's
// scheduled sweeper (wrangler dev does not run cron by itself). It is up when each probe has
// reported in: the edge accepted its first heartbeat. Stand-ins are chosen from the
// absence of credentials: the Worker dispatches directly, signed, without QStash; two Redis
// databases, each a redis-server behind its own Upstash REST bridge and token, are started here
// unless UPSTASH_REDIS_REST_URL (the edge's) and MXRAY_FLEET_REDIS_REST_URL (the probes') are set;
// and the Stripe stand-in (a loopback server) unless STRIPE_SECRET_KEY is. Campaigns send to a
// local relay sink, and their bounces can be dropped into a local Dovecot (one IMAP user) that a
// bounce mailbox points at.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { eq } from "drizzle-orm";
import { createDb } from "../db/client.ts";
import { migrateDb } from "../db/migrate.ts";
import { probes as probesTable } from "../db/schema.ts";
import { freePort, startSqld, type RunningSqld } from "../db/sqld.ts";
import { startDovecot, type RunningDovecot } from "./dovecot.ts";
import { startRedis } from "./redis.ts";
import { startRelaySink, type RelaySink } from "./relay-sink.ts";
import { removeScratch } from "./scratch.ts";
import { startStandInStripe, type StandInStripe } from "./standin-stripe.ts";
import { startUpstashBridge } from "./upstash-bridge.ts";
import { startWorld, type World } from "./world/index.ts";

export const ROOT = resolve(import.meta.dirname, "..");
/** Where `npm start` keeps its data. */
export const LOCAL_DATA_DIR = join(ROOT, ".data", "local");
/** What `npm start` writes there while it runs, for the scripts that drive it (`npm run demo:bounce`). */
export const RUNNING_FILE = join(LOCAL_DATA_DIR, "running.json");

export interface RunningStack {
  url: string;
  api_key: string;
  relay_inbox_url: string | null;
  imap: LocalImap;
}

export interface StackOptions {
  /** Where sqld, Durable Object state, outboxes and local secrets live; one made by `scratchDir` is removed at stop. */
  dataDir: string;
  /** The Worker's port (8787 for `npm start`; tests pass 0 for a free one). */
  port?: number;
  world?: boolean | World;
  probes?: number;
  /** Extra Worker vars (e.g. short leases for fault tests). */
  vars?: Record<string, string>;
  /** Extra probe environment. */
  probeEnv?: Record<string, string>;
  /** How often the sweeper runs; 0 disables the timer (tests call sweep()). */
  sweepMs?: number;
  devApiKey?: string;
  log?: (line: string) => void;
  /** The relay sink's inbox page port (0 or unset: any free port). */
  relayInboxPort?: number;
  /** The relay sink's SMTP port (0 or unset: any free port); `npm start` keeps one, so a relay saved for it works after a restart. */
  relayPort?: number;
  /** The local Dovecot's plain (STARTTLS) and implicit-TLS ports (0 or unset: any free port). */
  imapPort?: number;
  imapTlsPort?: number;
  /** Where the children's output goes; defaults to being dropped. */
  childOutput?: "inherit" | "ignore";
}

export interface RunningProbe {
  id: string;
  url: string;
  child: ChildProcess;
  /** SIGKILL: the probe dies mid-work, as a crashed VPS would. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

export interface Stack {
  url: string;
  devApiKey: string;
  /** What the Worker verifies Stripe webhooks with: STRIPE_WEBHOOK_SECRET when set, else this install's. */
  stripeWebhookSecret: string;
  /**
   * The local relay sink campaigns send through (STARTTLS + AUTH as `relayUser`/`relayPassword`),
   * and its inbox page: nothing sent here leaves the machine.
   */
  relaySink: RelaySink;
  relayUser: string;
  relayPassword: string;
  /**
   * The local IMAP mailbox campaigns' bounces can be dropped into (`dovecot.deliver(imap.user, raw)`)
   * and a bounce mailbox can read: plain IMAP with STARTTLS on `port`, implicit TLS on `tlsPort`,
   * with the relay sink's test certificate, which the probes trust (MXRAY_IMAP_CA_FILE).
   */
  imap: LocalImap;
  /** The Dovecot behind it: more users (addUser), delivery into any folder, every message's flags (messages). */
  dovecot: RunningDovecot;
  /** The loopback Stripe stand-in billing talks to, or null when STRIPE_SECRET_KEY names a real account. */
  stripe: StandInStripe | null;
  /** The edge's Redis (Worker only): its local bridge, or UPSTASH_REDIS_REST_URL's. */
  redis: RedisEndpoint;
  /** The fleet's Redis (probes only, issue 21): another redis-server and token, or MXRAY_FLEET_REDIS_REST_URL's. */
  fleetRedis: RedisEndpoint;
  /** This install's probe secret and QStash-style signing key (tests sign with them). */
  secrets: LocalSecrets;
  world: World | null;
  sqld: RunningSqld;
  probes: RunningProbe[];
  addProbe(): Promise<RunningProbe>;
  sweep(): Promise<void>;
  stop(): Promise<void>;
}

export interface LocalImap {
  host: string;
  port: number;
  tlsPort: number;
  user: string;
  password: string;
}

export interface LocalSecrets {
  probeSecret: string;
  /** Signs session cookies and live tokens; the probes never see it. */
  sessionSecret: string;
  signingKey: string;
  devApiKey: string;
  /** Verifies the local Stripe stand-in's webhooks, as STRIPE_WEBHOOK_SECRET does Stripe's. */
  stripeWebhookSecret: string;
  /** MXRAY_ENCRYPTION_KEYS: the master key of this install's secrets at rest (kept: losing it loses them). */
  encryptionKeys: string;
}

/** Secrets of this local install, made once and kept under the data folder. */
function localSecrets(dataDir: string): LocalSecrets {
  const file = join(dataDir, "local-secrets.json");
  const base62 = (n: number) => Array.from(randomBytes(n), (b) => "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"[b % 62]).join("");
  const kept = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Partial<LocalSecrets>) : {};
  const secrets: LocalSecrets = {
    probeSecret: kept.probeSecret ?? base62(40),
    // Installs from before sessions had their own secret get one now; the others are kept.
    sessionSecret: kept.sessionSecret ?? base62(40),
    signingKey: kept.signingKey ?? `sig_${base62(32)}`,
    devApiKey: kept.devApiKey ?? `mx_test_${base62(32)}`,
    stripeWebhookSecret: kept.stripeWebhookSecret ?? `whsec_${base62(32)}`,
    encryptionKeys: kept.encryptionKeys ?? `local1:${randomBytes(32).toString("base64")}`,
  };
  if (Object.keys(kept).length !== Object.keys(secrets).length) writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}

/** Newest modification time under a folder. */
function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/** Builds the Remix app when its build is missing or older than its sources (never while wrangler runs). */
export function ensureAppBuild(log: (line: string) => void = () => {}): void {
  const server = join(ROOT, "build/server/index.js");
  // The server bundle holds the services the pages call, so edge/, core/ and db/ count too, and the
  // guides of docs/ that /docs renders.
  const inputs = Math.max(...["app", "edge", "core", "db", "docs"].map((d) => newestMtime(join(ROOT, d))), statSync(join(ROOT, "vite.config.ts")).mtimeMs);
  const fresh = () => existsSync(server) && statSync(server).mtimeMs >= inputs;
  if (fresh()) return;
  // Test files start stacks in parallel: one builds, the others wait for it (mkdir is atomic).
  const lock = join(ROOT, "build.lock");
  for (const started = Date.now(); ; ) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() - started > 5 * 60_000) throw new Error(`${lock} held for 5 minutes; remove it if no build is running`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200); // a synchronous pause while another process builds
    }
  }
  try {
    if (fresh()) return;
    log("app       building the web app (remix vite:build)");
    const built = spawnSync(process.execPath, [join(ROOT, "node_modules/@remix-run/dev/dist/cli.js"), "vite:build"], { cwd: ROOT, stdio: "inherit" });
    if (built.status !== 0) throw new Error("remix vite:build failed");
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** How many times a wrangler dev that exits while starting is started again (see startStack). */
const WRANGLER_STARTS = 3;

async function waitFor(what: string, check: () => Promise<boolean>, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} did not come up within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100)); // polling a process start-up
  }
}

function stopChild(child: ChildProcess, signal: NodeJS.Signals, group = false): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    try {
      if (group && child.pid) process.kill(-child.pid, signal);
      else child.kill(signal);
    } catch {
      resolve();
    }
  });
}

export interface RedisEndpoint {
  url: string;
  token: string;
  /** true: a redis-server this stack started, behind its own bridge. */
  local: boolean;
}

export interface StackRedis {
  edge: RedisEndpoint;
  fleet: RedisEndpoint;
  stop(): Promise<void>;
}

/** One Upstash database from the environment, else a redis-server of its own behind its own bridge and random token. */
async function redisDatabase(who: string, names: [url: string, token: string], env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<RedisEndpoint & { stop(): Promise<void> }> {
  const [url, token] = [env[names[0]], env[names[1]]];
  if (url) {
    if (!token) throw new Error(`${names[0]} is set without ${names[1]}`);
    log(`redis     ${who}Upstash at ${new URL(url).host} (${names[0]})`);
    return { url, token, local: false, stop: async () => {} };
  }
  const redis = await startRedis({ log });
  const bridge = await startUpstashBridge({ redisPort: redis.port, redisPassword: redis.password, token: randomBytes(24).toString("base64url") }).catch(async (e) => {
    await redis.stop();
    throw e;
  });
  log(`redis     ${who}redis-server on 127.0.0.1:${redis.port}, Upstash REST bridge at ${bridge.url} with its own token (no ${names[0]}; in memory, empty each start)`);
  return { url: bridge.url, token: bridge.token, local: true, stop: async () => (await bridge.stop(), await redis.stop()) };
}

/**
 * The edge's database (verify cache, idempotency, quotas, rate limits) and the fleet's (the
 * probes' MX state), never one for both (issue 21): with the fleet's token no key the edge
 * writes can be reached. Locally each is its own redis-server, so not even FLUSHALL crosses.
 */
export async function stackRedis(env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<StackRedis> {
  const edge = await redisDatabase("edge  (the Worker's): ", ["UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN"], env, log);
  const fleet = await redisDatabase("fleet (the probes'): ", ["MXRAY_FLEET_REDIS_REST_URL", "MXRAY_FLEET_REDIS_REST_TOKEN"], env, log).catch(async (e) => {
    await edge.stop();
    throw e;
  });
  const stop = async () => (await fleet.stop(), await edge.stop());
  if (!edge.local && !fleet.local && (edge.url.replace(/\/+$/, "") === fleet.url.replace(/\/+$/, "") || edge.token === fleet.token)) {
    await stop();
    throw new Error("MXRAY_FLEET_REDIS_REST_URL/_TOKEN name the edge's database: the probes need a database of their own (docs/deployment.md)");
  }
  const endpoint = ({ url, token, local }: RedisEndpoint): RedisEndpoint => ({ url, token, local });
  return { edge: endpoint(edge), fleet: endpoint(fleet), stop };
}

/** What a probe never inherits from this shell: the edge's credentials (a probe given the edge's Redis refuses to start). */
const EDGE_ONLY_ENV = ["UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN", "QSTASH_TOKEN", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "MXRAY_DEV_API_KEY", "TURSO_AUTH_TOKEN"];

export async function startStack(opts: StackOptions): Promise<Stack> {
  const log = opts.log ?? (() => {});
  const stdio = opts.childOutput ?? "ignore";
  mkdirSync(opts.dataDir, { recursive: true });
  const secrets = localSecrets(opts.dataDir);
  const devApiKey = opts.devApiKey ?? process.env.MXRAY_DEV_API_KEY ?? secrets.devApiKey;
  const stripeWebhookSecret = process.env.STRIPE_WEBHOOK_SECRET ?? secrets.stripeWebhookSecret;
  const cleanups: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
    removeScratch(opts.dataDir);
  };

  try {
    const world = opts.world === true ? await startWorld({ greylistDelayMs: 1000 }) : opts.world || null;
    if (opts.world === true && world) cleanups.push(() => world.stop());

    const sqld = await startSqld({ dataDir: join(opts.dataDir, "db") });
    cleanups.push(() => sqld.stop());
    await migrateDb(sqld.url);
    log(`database  sqld at ${sqld.url} (data in ${join(opts.dataDir, "db")}), migrated`);

    const redis = await stackRedis(process.env, log);
    cleanups.push(redis.stop);

    // Campaigns send only here locally: a relay on loopback, which the Worker and the probes
    // accept because MXRAY_ALLOW_PRIVATE_TARGETS=1 below, and whose test CA the probes trust.
    const relayUser = "mxray";
    const relayPassword = secrets.probeSecret.slice(0, 16);
    const relaySink = await startRelaySink({ users: { [relayUser]: relayPassword }, inboxPort: opts.relayInboxPort ?? 0, port: opts.relayPort ?? 0 });
    cleanups.push(() => relaySink.stop());
    log(`relay     local relay sink at ${relaySink.host}:${relaySink.port} (STARTTLS, AUTH ${relayUser} / ${relayPassword}); inbox at ${relaySink.inboxUrl}`);

    // Bounces locally: a mailbox on loopback (MXRAY_ALLOW_PRIVATE_TARGETS=1) whose certificate is
    // from the relay sink's test CA, which the probes trust for IMAP (MXRAY_IMAP_CA_FILE below). Its
    // password is the same at every start (a mailbox saved for it still logs in) and tells nothing of the probe secret.
    const imapUser = "bounces";
    const imapPassword = createHash("sha256").update(`local imap password:${secrets.probeSecret}`).digest("base64url").slice(0, 16);
    const dovecot = await startDovecot({ users: { [imapUser]: imapPassword }, port: opts.imapPort ?? 0, tlsPort: opts.imapTlsPort ?? 0, log });
    cleanups.push(() => dovecot.stop());
    const imap: LocalImap = { host: dovecot.host, port: dovecot.port, tlsPort: dovecot.tlsPort, user: imapUser, password: dovecot.users[imapUser]! };
    log(`imap      local Dovecot at ${imap.host}:${imap.tlsPort} (TLS) and :${imap.port} (STARTTLS), user ${imap.user} / ${imap.password}; a bounce mailbox can read it (empty each start)`);

    ensureAppBuild(log);
    const port = opts.port === 0 || opts.port === undefined ? await freePort() : opts.port;
    const url = `http://127.0.0.1:${port}`;

    // Without a Stripe account, billing talks to the stand-in, which signs its webhooks with the
    // secret the Worker verifies.
    const stripeKey = process.env.STRIPE_SECRET_KEY;
    const stripe = stripeKey ? null : await startStandInStripe({ webhookUrl: `${url}/webhooks/stripe`, webhookSecret: stripeWebhookSecret });
    if (stripe) {
      cleanups.push(() => stripe.stop());
      log(`billing   Stripe stand-in at ${stripe.url} (no STRIPE_SECRET_KEY; checkout pages pay with no real money)`);
    }
    const vars: Record<string, string> = {
      MXRAY_MODE: "local",
      TURSO_DATABASE_URL: sqld.url,
      PROBE_SECRET: secrets.probeSecret,
      SESSION_SECRET: secrets.sessionSecret,
      MXRAY_ENCRYPTION_KEYS: process.env.MXRAY_ENCRYPTION_KEYS ?? secrets.encryptionKeys,
      QSTASH_CURRENT_SIGNING_KEY: secrets.signingKey,
      MXRAY_DEV_API_KEY: devApiKey,
      STRIPE_WEBHOOK_SECRET: stripeWebhookSecret,
      UPSTASH_REDIS_REST_URL: redis.edge.url,
      UPSTASH_REDIS_REST_TOKEN: redis.edge.token,
      MXRAY_ALLOW_PRIVATE_TARGETS: "1",
      // The local probes beat every 2 s (MXRAY_HEARTBEAT_MS below): silent on /admin after 3 missed.
      MXRAY_PROBE_SILENT_MS: "6000",
      // Scheduled runs (the sweeper) write links too: campaign mail's unsubscribe URL.
      MXRAY_PUBLIC_URL: url,
      ...(stripe ? { STRIPE_SECRET_KEY: stripe.secretKey, STRIPE_API_URL: stripe.url } : { STRIPE_SECRET_KEY: stripeKey! }),
      ...opts.vars,
    };
    // The inspector's port is picked free and then bound by wrangler: another process may take it
    // in between (any outgoing connection can land on it). A start that exits before answering
    // is tried again on a fresh inspector port, at most WRANGLER_STARTS times; its last words
    // (stderr) go into the error when every try failed.
    for (let attempt = 1; ; attempt++) {
      const wrangler = spawn(
        process.execPath,
        [
          join(ROOT, "node_modules/wrangler/bin/wrangler.js"), "dev",
          "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(await freePort()),
          "--persist-to", join(opts.dataDir, "wrangler"), "--test-scheduled", "--show-interactive-dev-session=false",
          ...Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
        ],
        { cwd: ROOT, stdio: ["ignore", stdio, stdio === "ignore" ? "pipe" : stdio], detached: true, env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" } },
      );
      let lastWords = "";
      wrangler.stderr?.on("data", (chunk: Buffer) => { lastWords = (lastWords + chunk.toString()).slice(-2000); });
      try {
        await waitFor("wrangler dev", async () => (await fetch(`${url}/healthz`)).ok, wrangler, 90_000);
        cleanups.push(() => stopChild(wrangler, "SIGTERM", true));
        break;
      } catch (e) {
        await stopChild(wrangler, "SIGTERM", true);
        if (wrangler.exitCode === null || attempt >= WRANGLER_STARTS) throw new Error(`${(e as Error).message}${lastWords ? `: ${lastWords.trim()}` : ""}`);
        log(`worker    wrangler dev exited while starting (try ${attempt} of ${WRANGLER_STARTS}); starting it again`);
      }
    }
    log(`worker    wrangler dev at ${url}`);

    const fleet = createDb({ url: sqld.url });
    cleanups.push(async () => fleet.client.close());
    /** Whether the edge recorded a heartbeat of this probe, as the single check's choice reads it. */
    const reportedIn = async (id: string) =>
      (await fleet.db.select({ status: probesTable.status }).from(probesTable).where(eq(probesTable.id, id)))[0]?.status === "active";

    const probes: RunningProbe[] = [];
    const addProbe = async (): Promise<RunningProbe> => {
      const n = probes.length + 1;
      const probePort = await freePort();
      const id = `prb_local_${n}_${randomBytes(3).toString("hex")}`;
      const probeUrl = `http://127.0.0.1:${probePort}`;
      const env: Record<string, string> = {
        PORT: String(probePort),
        HOST: "127.0.0.1",
        PUBLIC_URL: probeUrl,
        PROBE_ID: id,
        PROBE_SECRET: secrets.probeSecret,
        QSTASH_CURRENT_SIGNING_KEY: secrets.signingKey,
        QSTASH_NEXT_SIGNING_KEY: `${secrets.signingKey}-next`,
        EDGE_URL: url,
        MXRAY_HELO: "probe.mxray.local",
        MXRAY_OUTBOX_DIR: join(opts.dataDir, "outbox", id),
        MXRAY_HEARTBEAT_MS: "2000",
        MXRAY_FLEET_REDIS_REST_URL: redis.fleet.url,
        MXRAY_FLEET_REDIS_REST_TOKEN: redis.fleet.token,
        // The relay sink's certificate is signed by a test CA; a probe trusts it only when told.
        MXRAY_RELAY_CA_FILE: relaySink.caFile,
        MXRAY_IMAP_CA_FILE: dovecot.caFile,
        MXRAY_ALLOW_PRIVATE_TARGETS: "1",
        // The world is on loopback, and so is the relay sink (MXRAY_ALLOW_PRIVATE_TARGETS above).
        ...(world ? { MXRAY_DNS: world.dnsServer, MXRAY_SMTP_PORT: String(world.smtpPort), MXRAY_SELF_CHECK_TARGETS: world.selfCheckTarget, MXRAY_SIMULATED_WORLD: "1", MXRAY_TIMEOUT_MS: "3000", MXRAY_GREYLIST_BUDGET_MS: "4000" } : {}),
        ...opts.probeEnv,
      };
      const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "probe/cli.ts"), "serve"], {
        cwd: ROOT,
        stdio: ["ignore", stdio, stdio],
        env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !EDGE_ONLY_ENV.includes(k))), ...env },
      });
      const probe: RunningProbe = { id, url: probeUrl, child, kill: () => stopChild(child, "SIGKILL"), stop: () => stopChild(child, "SIGTERM") };
      cleanups.push(() => probe.stop());
      await waitFor(`probe ${id}`, async () => (await fetch(`${probeUrl}/healthz`)).ok, child, 30_000);
      // Up is not enough: until the edge has accepted a heartbeat of it, no check can reach it, so
      // a stack (and `npm start`'s "ready") waits for the probe's row in the fleet.
      await waitFor(`probe ${id}'s first heartbeat`, () => reportedIn(id), child, 30_000);
      probes.push(probe);
      log(`probe     ${id} at ${probeUrl}, reported in${world ? ` (simulated world: DNS ${world.dnsServer}, SMTP port ${world.smtpPort})` : " (real DNS and port 25)"}`);
      return probe;
    };
    for (let i = 0; i < (opts.probes ?? 1); i++) await addProbe();

    const sweep = async () => {
      const res = await fetch(`${url}/__scheduled?cron=${encodeURIComponent("* * * * *")}`);
      await res.body?.cancel();
    };
    if (opts.sweepMs) {
      const timer = setInterval(() => void sweep().catch(() => {}), opts.sweepMs);
      cleanups.push(async () => clearInterval(timer));
    }
    return { url, devApiKey, stripeWebhookSecret, relaySink, relayUser, relayPassword, imap, dovecot, stripe, redis: redis.edge, fleetRedis: redis.fleet, secrets, world, sqld, probes, addProbe, sweep, stop: stopAll };
  } catch (e) {
    await stopAll();
    throw e;
  }
}

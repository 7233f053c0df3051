// Fleet-shared state benchmark (issue 13): three probes verify the same list on the simulated
// world's fleet domains (e2e/world/scenario.ts FleetOptions), first each with its own memory,
// then sharing MX state through real Redis behind the Upstash REST bridge (e2e/redis.ts,
// e2e/upstash-bridge.ts). The world counts what the fleet costs the mail hosts: connection
// attempts to dead MX hosts, random-mailbox RCPTs per catch-all domain, connections to a
// deferring provider and how many it deferred, per 10,000 addresses; accuracy against its truth.
//
// Dispatch is the edge's: the list cut into batches grouped by domain (core/ingest.ts
// BatchCutter), handed round-robin to the probes, up to 4 in flight per probe, each batch one
// engine.verify call with a budget. The three engines share this process and its loopback source
// address, so the provider counts them as one client (like a fleet behind one NAT).
//
//   npm run bench:fleet [-- --addresses 30000 --seed 13 --batch 500 --inflight 4 --budget-s 20 --timeout-ms 400 --modes per-probe,shared]
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import type { Verdict } from "../../core/verdict.ts";
import { BatchCutter } from "../../core/ingest.ts";
import { startWorld, type FleetWorld, type World } from "../../e2e/world/index.ts";
import { createEngine, type Engine } from "../../probe/engine.ts";
import { createSharedMxState, type SharedMxState, type SharedTuning } from "../../probe/shared.ts";

const { values } = parseArgs({
  options: {
    addresses: { type: "string", default: "30000" },
    seed: { type: "string", default: "13" },
    batch: { type: "string", default: "500" },
    inflight: { type: "string", default: "4" },
    "budget-s": { type: "string", default: "20" },
    "timeout-ms": { type: "string", default: "400" },
    modes: { type: "string", default: "per-probe,shared" },
  },
});
const ADDRESSES = Number(values.addresses);
const SEED = Number(values.seed);
const BATCH = Number(values.batch);
const INFLIGHT = Number(values.inflight);
const BUDGET_MS = Number(values["budget-s"]) * 1000;
const TIMEOUT_MS = Number(values["timeout-ms"]);
const PROBES = ["p1", "p2", "p3"];
type Mode = "per-probe" | "shared";
const MODES = values.modes.split(",") as Mode[];
/** The shared state's clocks scaled down to a run of seconds rather than hours; both modes use
 *  them, so only sharing differs. */
const TUNING: Partial<SharedTuning> = {
  breakerCooldownMs: 10_000,
  trialLeaseMs: 5_000,
  freshMs: 500,
  deferralPauseMs: 1_000,
  deferralMaxPauseMs: 10_000,
  deferralDecayMs: 5_000,
  // The bridge shares 2 loaded cores with the world and the probes: a start-up burst of lookups
  // can pass Upstash's usual 1 s, and each miss would send a probe to memory alone for a while.
  redisTimeoutMs: 5_000,
  redisRetryMs: 2_000,
};
/** The provider's budget per probe, as a big provider's is (probe/providers.ts), sized against
 *  the world's limit (6 open, 10 a second from one address): three probes behind one address
 *  within their own budgets still pass it together (9 open, 15 a second), which only a pause
 *  shared by the fleet sees. Both modes use it. */
const PROVIDERS = { "bigmail.test": { connectionsPerMinute: 300, rcptsPerMinute: 30_000, maxOpen: 3 } };
for (const m of MODES) if (m !== "per-probe" && m !== "shared") throw new Error(`--modes: unknown mode ${m}`);

interface Figures {
  wallS: number;
  deadConnections: number;
  randomRcpts: number;
  randomPerDomainAvg: number;
  randomPerDomainMax: number;
  providerConnections: number;
  providerDeferred: number;
  accuracy: number;
  unknown: number;
  providerUnknown: number;
  /** Why the provider's unknowns are unknown, by reason. */
  providerUnknownReasons: Record<string, number>;
  catchAllUnknown: number;
  ordinaryUnknown: number;
  /** Redis steps that failed (the probe went on with memory alone): a shared run's caveat. */
  redisErrors: number;
  /** Decisions taken on another probe's discovery. */
  fleetHits: number;
  wrong: string[];
}

/** The edge's batching: the list streamed in, each window of addresses packed by domain. */
function planBatches(emails: string[]): string[][] {
  const cutter = new BatchCutter<{ domain: string; email: string }>(BATCH);
  const batches: { email: string }[][] = [];
  for (const email of emails) batches.push(...cutter.push([{ email, domain: email.slice(email.lastIndexOf("@") + 1).toLowerCase() }]));
  batches.push(...cutter.end());
  return batches.map((b) => b.map((i) => i.email));
}

/** Batches round-robin to the probes; each probe runs up to INFLIGHT at once. */
async function dispatch(engines: Engine[], batches: string[][], onResult: (email: string, verdict: Verdict, reason: string) => void) {
  const queues = engines.map((): string[][] => []);
  batches.forEach((b, i) => queues[i % engines.length]!.push(b));
  await Promise.all(
    engines.flatMap((engine, p) =>
      Array.from({ length: INFLIGHT }, async () => {
        for (let batch = queues[p]!.shift(); batch; batch = queues[p]!.shift()) {
          await engine.verify(batch, { budgetMs: BUDGET_MS }, (r, index) => onResult(batch[index]!, r.verdict, r.reason));
        }
      }),
    ),
  );
}

function engineFor(world: World, probeId: string, shared: SharedMxState): Engine {
  return createEngine({
    shared,
    helo: `${probeId}.mxray.test`,
    dnsServers: [world.dnsServer],
    port: world.smtpPort,
    timeoutMs: TIMEOUT_MS, // a silent host costs little
    greylistBudgetMs: 2_000,
    allowPrivateTargets: true, // the world is on loopback
  });
}

interface Bridge {
  url: string;
  token: string;
  stop(): void;
}

/** bench/fleet/bridge.ts in its own process, as Upstash is outside a probe's. */
async function startBridge(): Promise<Bridge> {
  const child = spawn(process.execPath, ["--import", "tsx", new URL("./bridge.ts", import.meta.url).pathname], { stdio: ["pipe", "pipe", "inherit"] });
  const [line] = await Promise.race([
    createInterface({ input: child.stdout! })[Symbol.asyncIterator]().next().then((r) => [r.value as string | undefined]),
    new Promise<never>((_, reject) => child.once("exit", (code) => reject(new Error(`bench/fleet/bridge.ts exited with ${code}`)))),
  ]);
  const { url, token } = JSON.parse(line!) as { url: string; token: string };
  return { url, token, stop: () => child.stdin!.end() };
}

/** Redis empty, so the shared run learns nothing from an earlier one. */
async function flush(bridge: Bridge) {
  const res = await fetch(bridge.url, { method: "POST", headers: { authorization: `Bearer ${bridge.token}` }, body: JSON.stringify(["FLUSHALL"]) });
  if (!res.ok) throw new Error(`FLUSHALL: ${res.status} ${await res.text()}`);
}

async function measure(mode: Mode, world: World, fleet: FleetWorld, bridge: Bridge | null): Promise<Figures> {
  if (mode === "shared") await flush(bridge!);
  const states = PROBES.map((probeId) =>
    createSharedMxState({ probeId, tuning: TUNING, providers: PROVIDERS, ...(mode === "shared" ? { redis: { url: bridge!.url, token: bridge!.token } } : {}) }),
  );
  const engines = PROBES.map((id, i) => engineFor(world, id, states[i]!));
  const before = world.stats();
  const randomBefore = new Map(fleet.randomRcpts);
  const verdicts = new Map<string, Verdict>();
  const reasons = new Map<string, string>();
  let results = 0;
  const started = Date.now();
  try {
    await dispatch(engines, planBatches(fleet.addresses), (email, verdict, reason) => {
      results++;
      verdicts.set(email, verdict);
      reasons.set(email, reason);
    });
  } finally {
    await Promise.all(engines.map((e) => e.close()));
  }
  const wallS = (Date.now() - started) / 1000;
  const sharing = states.map((s) => s.stats());
  if (results !== fleet.addresses.length || verdicts.size !== fleet.addresses.length) {
    throw new Error(`${mode}: ${results} results for ${fleet.addresses.length} addresses (${verdicts.size} distinct)`);
  }
  const after = world.stats();
  const delta = (hosts: string[], field: "connections" | "deferred") =>
    hosts.reduce((n, h) => n + after.perHost[h]![field] - before.perHost[h]![field], 0);
  const random = fleet.catchAllDomains.map((d) => fleet.randomRcpts.get(d)! - randomBefore.get(d)!);
  const kindOf = new Map<string, "dead" | "catchAll" | "provider">([
    ...fleet.deadDomains.map((d) => [d, "dead"] as const),
    ...fleet.catchAllDomains.map((d) => [d, "catchAll"] as const),
    ...fleet.providerDomains.map((d) => [d, "provider"] as const),
  ]);
  const share: Record<string, [unknown: number, all: number]> = { dead: [0, 0], catchAll: [0, 0], provider: [0, 0], ordinary: [0, 0] };
  const providerUnknownReasons: Record<string, number> = {};
  let right = 0;
  let unknown = 0;
  const wrong: string[] = [];
  for (const email of fleet.addresses) {
    const got = verdicts.get(email)!;
    const expected = world.truth.get(email)!.verdict;
    if (got === expected) right++;
    else if (wrong.length < 5) wrong.push(`${email}: expected ${expected}, got ${got}`);
    if (got === "unknown") unknown++;
    const kind = share[kindOf.get(email.slice(email.lastIndexOf("@") + 1)) ?? "ordinary"]!;
    kind[1]++;
    if (got === "unknown") kind[0]++;
    if (got === "unknown" && kindOf.get(email.slice(email.lastIndexOf("@") + 1)) === "provider") {
      const reason = reasons.get(email)!;
      providerUnknownReasons[reason] = (providerUnknownReasons[reason] ?? 0) + 1;
    }
  }
  const unknownShare = ([u, all]: [number, number]) => (all ? u / all : 0);
  return {
    wallS,
    deadConnections: delta(fleet.deadHosts, "connections"),
    randomRcpts: random.reduce((a, b) => a + b, 0),
    randomPerDomainAvg: random.reduce((a, b) => a + b, 0) / random.length,
    randomPerDomainMax: Math.max(...random),
    providerConnections: delta(fleet.providerHosts, "connections"),
    providerDeferred: delta(fleet.providerHosts, "deferred"),
    accuracy: right / fleet.addresses.length,
    unknown: unknown / fleet.addresses.length,
    providerUnknown: unknownShare(share.provider!),
    catchAllUnknown: unknownShare(share.catchAll!),
    ordinaryUnknown: unknownShare(share.ordinary!),
    redisErrors: sharing.reduce((n, s) => n + s.redisErrors, 0),
    fleetHits: sharing.reduce((n, s) => n + s.fleetHits.breaker + s.fleetHits.catchAll + s.fleetHits.deferral, 0),
    wrong,
    providerUnknownReasons,
  };
}

function table(columns: [Mode, Figures][]) {
  const per10k = (n: number) => (n * 10_000) / ADDRESSES;
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const rows: [string, (f: Figures) => number, (x: number) => string, boolean][] = [
    ["connection attempts to dead MX hosts / 10k", (f) => per10k(f.deadConnections), (x) => x.toFixed(0), true],
    ["random-mailbox RCPTs / 10k", (f) => per10k(f.randomRcpts), (x) => x.toFixed(0), true],
    ["random-mailbox RCPTs per catch-all domain, avg", (f) => f.randomPerDomainAvg, (x) => x.toFixed(2), true],
    ["random-mailbox RCPTs per catch-all domain, max", (f) => f.randomPerDomainMax, (x) => x.toFixed(0), true],
    ["connections to the deferring provider / 10k", (f) => per10k(f.providerConnections), (x) => x.toFixed(0), true],
    ["  of which deferred (421 greeting) / 10k", (f) => per10k(f.providerDeferred), (x) => x.toFixed(0), true],
    ["verdict matches truth", (f) => f.accuracy, pct, false],
    ["unknown", (f) => f.unknown, pct, false],
    ["unknown on the provider's domains", (f) => f.providerUnknown, pct, false],
    ["unknown on catch-all domains", (f) => f.catchAllUnknown, pct, false],
    ["unknown on ordinary domains", (f) => f.ordinaryUnknown, pct, false],
    ["wall time (s)", (f) => f.wallS, (x) => x.toFixed(1), true],
    ["decisions on another probe's discovery", (f) => f.fleetHits, (x) => x.toFixed(0), false],
    ["Redis steps failed (memory alone meanwhile)", (f) => f.redisErrors, (x) => x.toFixed(0), false],
  ];
  const ratio = columns.length === 2;
  const head = ["", ...columns.map(([m]) => m), ...(ratio ? ["per-probe ÷ shared"] : [])];
  const body = rows.map(([label, get, fmt, showRatio]) => {
    const vals = columns.map(([, f]) => get(f));
    const r = ratio && showRatio ? (vals[1] === 0 ? (vals[0] === 0 ? "=" : "∞") : `${(vals[0]! / vals[1]!).toFixed(1)}×`) : "";
    return [label, ...vals.map(fmt), ...(ratio ? [r] : [])];
  });
  const widths = head.map((_, i) => Math.max(...[head, ...body].map((r) => r[i]!.length)));
  for (const r of [head, ...body]) console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("   "));
}

const world = await startWorld({ fleet: { addresses: ADDRESSES, seed: SEED } });
const fleet = world.fleet!;
const bridge = MODES.includes("shared") ? await startBridge() : null;
try {
  console.log(
    `fleet benchmark: ${ADDRESSES} addresses (seed ${SEED}): ${fleet.deadDomains.length} dead-MX, ${fleet.catchAllDomains.length} catch-all, ` +
      `${fleet.providerDomains.length} on the deferring provider, the rest ordinary; ${PROBES.length} probes, batches of ${BATCH}, ` +
      `${INFLIGHT} in flight per probe, ${BUDGET_MS / 1000} s budget, ${TIMEOUT_MS} ms SMTP timeout\n`,
  );
  const figures: [Mode, Figures][] = [];
  for (const mode of MODES) {
    const f = await measure(mode, world, fleet, bridge);
    console.log(`${mode}: ${f.wallS.toFixed(1)} s${f.wrong.length ? `; e.g. ${f.wrong.join("; ")}` : ""}`);
    console.log(`${mode}: the provider's unknowns by reason: ${JSON.stringify(f.providerUnknownReasons)}`);
    figures.push([mode, f]);
  }
  console.log("");
  table(figures);
} finally {
  bridge?.stop();
  await world.stop();
}

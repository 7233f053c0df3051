// The daemon's own `mxray doctor` (issue 13): run at start and every day, its latest result sent
// in each heartbeat (`self_check`), so /admin shows a probe whose port 25, PTR or blocklist
// standing went bad without anyone logging in to it. The checks are doctor.ts's; the clock and
// the timer are injected so tests drive the schedule.
import type { SelfCheck } from "../core/contracts.ts";
import type { ProbeConfig } from "./config.ts";
import { DEFAULT_BLOCKLISTS, DEFAULT_PORT25_TARGETS, doctorPassed, type DoctorOptions, type DoctorReport } from "./doctor.ts";

export const SELF_CHECK_INTERVAL_MS = 24 * 60 * 60_000;
/** Per network step of a run (a banner, a DNS answer) when MXRAY_TIMEOUT_MS is unset. */
const SELF_CHECK_TIMEOUT_MS = 5_000;

/** `mxray doctor` as the daemon is configured: its HELO name, resolvers and public IP. */
export function doctorOptionsFrom(config: ProbeConfig): DoctorOptions {
  return {
    helo: config.MXRAY_HELO,
    ...(config.MXRAY_PUBLIC_IP ? { ip: config.MXRAY_PUBLIC_IP } : {}),
    dnsServers: config.MXRAY_DNS,
    // In the simulated world only its own hosts (never the Internet's defaults, which resolve outside it).
    port25Targets: config.MXRAY_SELF_CHECK_TARGETS.length > 0 || config.MXRAY_SIMULATED_WORLD ? config.MXRAY_SELF_CHECK_TARGETS : DEFAULT_PORT25_TARGETS,
    blocklists: DEFAULT_BLOCKLISTS,
    timeoutMs: config.MXRAY_TIMEOUT_MS ?? SELF_CHECK_TIMEOUT_MS,
    simulated: config.MXRAY_SIMULATED_WORLD,
  };
}

export interface SelfCheckDeps {
  /** One doctor run (runDoctor with the daemon's options). */
  run: () => Promise<DoctorReport>;
  now?: () => Date;
  /** Calls `fn` every `ms`; answers a function that stops it. */
  every?: (fn: () => void, ms: number) => () => void;
  log?: (message: string, fields?: Record<string, unknown>) => void;
}

export interface SelfChecker {
  /** The latest finished run; undefined until the first one ends. */
  latest(): SelfCheck | undefined;
  /** The run in progress (or the last one), for tests and shutdown. */
  settled(): Promise<void>;
  stop(): void;
}

const realEvery = (fn: () => void, ms: number) => {
  const timer = setInterval(fn, ms);
  timer.unref();
  return () => clearInterval(timer);
};

export function startSelfCheck(deps: SelfCheckDeps): SelfChecker {
  const now = deps.now ?? (() => new Date());
  let latest: SelfCheck | undefined;
  let running: Promise<void> = Promise.resolve();
  const runOnce = () => {
    running = running.then(async () => {
      try {
        const report = await deps.run();
        latest = { checked_at: now().toISOString(), ok: doctorPassed(report), checks: report.checks.map((c) => ({ ...c, detail: c.detail.slice(0, 1_000) })) };
        if (!latest.ok) deps.log?.("self-check found problems", { failed: report.checks.filter((c) => c.ok === false).map((c) => c.name) });
      } catch (err) {
        // A run that could not finish is a failed check, not a crash of the daemon.
        latest = { checked_at: now().toISOString(), ok: false, checks: [{ name: "self-check", ok: false, detail: String(err).slice(0, 1_000) }] };
      }
    });
  };
  runOnce();
  const stop = (deps.every ?? realEvery)(runOnce, SELF_CHECK_INTERVAL_MS);
  return { latest: () => latest, settled: () => running, stop };
}

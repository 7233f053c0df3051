// The daemon's self-check schedule with an injected clock and timer: a run at start, one per
// timer tick, the latest kept in the heartbeat's shape, and a run that throws taken as a failure.
import { describe, expect, it } from "vitest";
import { HeartbeatSchema } from "../core/contracts.ts";
import { startWorld } from "../e2e/world/index.ts";
import { loadConfig } from "./config.ts";
import { NOT_APPLICABLE, runDoctor, type DoctorReport } from "./doctor.ts";
import { doctorOptionsFrom, SELF_CHECK_INTERVAL_MS, startSelfCheck } from "./selfcheck.ts";

const T0 = Date.UTC(2026, 10, 30, 9, 0, 0);

function harness(reports: (DoctorReport | Error)[]) {
  let clock = T0;
  let tick: (() => void) | undefined;
  let period = 0;
  let stopped = false;
  const checker = startSelfCheck({
    run: async () => {
      const next = reports.shift()!;
      if (next instanceof Error) throw next;
      return next;
    },
    now: () => new Date(clock),
    every: (fn, ms) => ((tick = fn), (period = ms), () => (stopped = true)),
  });
  return { checker, period: () => period, stopped: () => stopped, advance: (ms: number) => ((clock += ms), tick!()) };
}

describe("the self-check", () => {
  it("runs at start and then daily, keeping the latest result as the heartbeat carries it", async () => {
    const good: DoctorReport = { checks: [{ name: "port 25", ok: true, detail: "220 mx ready" }, { name: "blocklists", ok: null, detail: "skipped" }] };
    const bad: DoctorReport = { checks: [{ name: "PTR of 192.0.2.1 names probe.example", ok: false, detail: "PTR: NXDOMAIN" }] };
    const h = harness([good, bad, new Error("resolver gone")]);
    expect(h.checker.latest()).toBeUndefined();
    await h.checker.settled();
    expect(h.checker.latest()).toEqual({ checked_at: new Date(T0).toISOString(), ok: true, checks: good.checks });
    expect(h.period()).toBe(SELF_CHECK_INTERVAL_MS);

    h.advance(SELF_CHECK_INTERVAL_MS);
    await h.checker.settled();
    expect(h.checker.latest()).toMatchObject({ checked_at: new Date(T0 + SELF_CHECK_INTERVAL_MS).toISOString(), ok: false, checks: bad.checks });

    h.advance(SELF_CHECK_INTERVAL_MS);
    await h.checker.settled();
    expect(h.checker.latest()).toMatchObject({ ok: false, checks: [{ name: "self-check", ok: false, detail: "Error: resolver gone" }] });
    const heartbeat = { probe_id: "prb_1", url: "http://probe.test", version: "1", in_flight: 0, capacity: 1, draining: false, sent_at: "", self_check: h.checker.latest() };
    expect(HeartbeatSchema.parse(heartbeat).self_check).toEqual(h.checker.latest());
    h.checker.stop();
    expect(h.stopped()).toBe(true);
  });

  it("checks what the daemon is configured with: HELO, resolvers, public IP, port-25 targets", () => {
    const base = { PUBLIC_URL: "http://probe.test", PROBE_ID: "prb_1", PROBE_SECRET: "0123456789abcdef", QSTASH_CURRENT_SIGNING_KEY: "k", QSTASH_NEXT_SIGNING_KEY: "k", EDGE_URL: "http://edge.test", MXRAY_HELO: "probe.example" };
    const loaded = loadConfig({ ...base, MXRAY_DNS: "127.0.0.1:5353", MXRAY_PUBLIC_IP: "192.0.2.1", MXRAY_SELF_CHECK_TARGETS: "127.0.0.1:2525" });
    if (!loaded.ok) throw new Error(loaded.error);
    expect(doctorOptionsFrom(loaded.value)).toMatchObject({ helo: "probe.example", ip: "192.0.2.1", dnsServers: ["127.0.0.1:5353"], port25Targets: ["127.0.0.1:2525"] });
    expect(loadConfig({ ...base, MXRAY_PUBLIC_IP: "not-an-ip" }).ok).toBe(false);
  });

  it("in the simulated world checks port 25 against the world and calls the HELO name check not applicable, never red", async () => {
    const world = await startWorld();
    try {
      const base = { PUBLIC_URL: "http://probe.test", PROBE_ID: "prb_1", PROBE_SECRET: "0123456789abcdef", QSTASH_CURRENT_SIGNING_KEY: "k", QSTASH_NEXT_SIGNING_KEY: "k", EDGE_URL: "http://edge.test", MXRAY_HELO: "probe.mxray.local", MXRAY_DNS: world.dnsServer, MXRAY_TIMEOUT_MS: "2000", MXRAY_ALLOW_PRIVATE_TARGETS: "1" };
      const simulated = loadConfig({ ...base, MXRAY_SIMULATED_WORLD: "1", MXRAY_SELF_CHECK_TARGETS: world.selfCheckTarget });
      if (!simulated.ok) throw new Error(simulated.error);
      const report = await runDoctor(doctorOptionsFrom(simulated.value));
      expect(report.checks.filter((c) => c.ok === false)).toEqual([]);
      expect(report.checks).toContainEqual({ name: `port 25 to ${world.selfCheckTarget}`, ok: true, detail: expect.stringMatching(/^220 /) });
      expect(report.checks).toContainEqual({ name: "HELO name probe.mxray.local resolves", ok: null, detail: NOT_APPLICABLE });

      // Told nothing of the world, the same probe's HELO name is NXDOMAIN there: the red this mode avoids.
      const unaware = loadConfig({ ...base, MXRAY_SELF_CHECK_TARGETS: world.selfCheckTarget });
      if (!unaware.ok) throw new Error(unaware.error);
      expect((await runDoctor(doctorOptionsFrom(unaware.value))).checks).toContainEqual(expect.objectContaining({ name: "HELO name probe.mxray.local resolves", ok: false }));

      // Simulated with no target: port 25 is not applicable (never the Internet's default targets).
      const bare = loadConfig({ ...base, MXRAY_SIMULATED_WORLD: "1" });
      if (!bare.ok) throw new Error(bare.error);
      expect(doctorOptionsFrom(bare.value).port25Targets).toEqual([]);
      expect((await runDoctor(doctorOptionsFrom(bare.value))).checks[0]).toMatchObject({ name: "port 25", ok: null });
    } finally {
      await world.stop();
    }
  });
});

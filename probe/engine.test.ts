// The engine against the simulated world: real DNS and SMTP servers on loopback.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FindAnswer, FindCandidate, Result } from "../core/contracts.ts";
import { startWorld, type World } from "../e2e/world/index.ts";
import { startRedis, type RunningRedis } from "../e2e/redis.ts";
import { startUpstashBridge, type UpstashBridge } from "../e2e/upstash-bridge.ts";
import { createEngine, type EngineOptions } from "./engine.ts";
import { createSharedMxState } from "./shared.ts";
import { WaitingBoard } from "./waiting.ts";

let world: World;

beforeAll(async () => {
  world = await startWorld({ greylistDelayMs: 300 });
});
afterAll(async () => {
  await world?.stop();
});

function engine(extra: Partial<EngineOptions> = {}) {
  return createEngine({
    dnsServers: [world.dnsServer],
    port: world.smtpPort,
    helo: "probe.mxray.test",
    timeoutMs: 1500,
    greylistBudgetMs: 5000,
    allowPrivateTargets: true, // the world is on loopback
    ...extra,
  });
}

async function verifyAll(emails: string[], extra: Partial<EngineOptions> = {}, trace = false) {
  const results: Result[] = [];
  const e = engine(extra);
  await e.verify(emails, { trace }, (r) => results.push(r));
  await e.close();
  return new Map(results.map((r) => [r.email, r]));
}

const withReason = (reason: string) => world.addresses.filter((a) => world.truth.get(a)!.reason === reason);

describe("engine against the simulated world", () => {
  it("gives every scripted address its expected verdict and reason, and never sends DATA", async () => {
    const before = world.stats();
    const results = await verifyAll(world.addresses);
    expect(results.size).toBe(world.addresses.length);
    const wrong: string[] = [];
    for (const address of world.addresses) {
      const want = world.truth.get(address)!;
      const got = results.get(address)!;
      if (got.verdict !== want.verdict || got.reason !== want.reason) {
        wrong.push(`${address}: want ${want.verdict}/${want.reason}, got ${got.verdict}/${got.reason} (${got.smtp?.code} ${got.smtp?.message})`);
      }
      if (want.catch_all !== null && got.catch_all !== want.catch_all) {
        wrong.push(`${address}: want catch_all ${want.catch_all}, got ${got.catch_all}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(world.stats().dataCommands - before.dataCommands).toBe(0);
  });

  it("reports evidence: the MX used and the SMTP reply with its enhanced code", async () => {
    const missing = withReason("mailbox_not_found")[0]!;
    const r = (await verifyAll([missing])).get(missing)!;
    expect(r.mx).toMatch(/\./);
    expect(r.smtp?.code).toBeGreaterThanOrEqual(500);
    expect(r.smtp?.enhanced).toBe("5.1.1");
    expect(r.normalized).toBe(missing.toLowerCase());
    expect(r.duration_ms).toBeGreaterThanOrEqual(0);
  });

  it("answers each input once, duplicates and invalid ones included", async () => {
    const ok = withReason("accepted")[0]!;
    const inputs = [ok, ok.toUpperCase().replace(/@.*/, "") + "@" + ok.split("@")[1], "not an address", ok];
    const results: Result[] = [];
    const e = engine();
    await e.verify(inputs, {}, (r) => results.push(r));
    expect(results.map((r) => r.email).sort()).toEqual([...inputs].sort());
    expect(results.find((r) => r.email === "not an address")?.reason).toBe("invalid_syntax");
  });

  it("uses few connections and many RCPTs per connection on one domain", async () => {
    const domain = withReason("accepted")[0]!.split("@")[1]!;
    const sameDomain = world.addresses.filter((a) => a.endsWith(`@${domain}`));
    const many = Array.from({ length: 60 }, (_, i) => `user${i}@${domain}`).concat(sameDomain);
    const before = world.stats();
    const results = await verifyAll(many, { perHostConnections: 2 });
    const after = world.stats();
    expect(results.size).toBe(many.length);
    const connections = after.connections - before.connections;
    // 60 unknown users make rejections that force fresh sessions (error limits), but far fewer
    // sessions than addresses.
    expect(connections).toBeGreaterThan(0);
    expect(connections).toBeLessThan(many.length / 4);
    for (const host of Object.values(after.perHost)) expect(host.maxConcurrent).toBeLessThanOrEqual(2);
  });

  it("answers from DNS alone when every MX target is gone, and probes the live one beside a dead one", async () => {
    const before = world.stats();
    const results = await verifyAll(["user@deadmx.test", "user@noaddrmx.test", "user@halfdead.test", "user@mxservfail.test"]);
    const after = world.stats();
    expect(results.get("user@deadmx.test")).toMatchObject({ verdict: "undeliverable", reason: "no_mx_address", mx: null, smtp: null });
    expect(results.get("user@noaddrmx.test")).toMatchObject({ verdict: "undeliverable", reason: "no_mx_address" });
    expect(results.get("user@mxservfail.test")).toMatchObject({ verdict: "unknown", reason: "dns_error" });
    expect(results.get("user@halfdead.test")).toMatchObject({ verdict: "deliverable", mx: "mx2.halfdead.test", smtp: { code: 250 } });
    // Only halfdead.test was asked over SMTP: its address and the catch-all probe.
    expect(after.rcpts - before.rcpts).toBe(2);
    expect(after.perHost["mx2.halfdead.test"]!.rcpts - before.perHost["mx2.halfdead.test"]!.rcpts).toBe(2);
  });

  it("includes a transcript with --trace", async () => {
    const ok = withReason("accepted")[0]!;
    const r = (await verifyAll([ok], {}, true)).get(ok)!;
    const trace = r.trace!.join("\n");
    expect(trace).toMatch(/dns: .* MX/);
    expect(trace).toMatch(/C: EHLO probe\.mxray\.test/);
    expect(trace).toMatch(/C: RCPT TO:</);
    expect(trace).not.toMatch(/C: DATA/);
  });

  it("reuses the catch-all answer for a domain within its TTL", async () => {
    const ok = withReason("accepted")[0]!;
    const e = engine();
    const before = world.stats();
    await e.verify([ok], {}, () => {});
    const first = world.stats().rcpts - before.rcpts;
    const mid = world.stats();
    await e.verify([ok], {}, () => {});
    const second = world.stats().rcpts - mid.rcpts;
    expect(first).toBe(2); // the address and one random mailbox
    expect(second).toBe(1); // the address only
  });

  it("gives up on greylisting after the budget with greylisted: true and a retry time", async () => {
    const forever = withReason("greylisted");
    expect(forever.length).toBeGreaterThan(0);
    const results = await verifyAll(forever, { greylistBudgetMs: 800 });
    for (const a of forever) {
      const r = results.get(a)!;
      expect(r.verdict).toBe("unknown");
      expect(r.greylisted).toBe(true);
      expect(Date.parse(r.retry_after!)).toBeGreaterThan(Date.now() - 60_000);
    }
  });

  it("tells the call's waiting board when an address is greylisted and when it is answered", async () => {
    const forever = withReason("greylisted");
    const retries: (number | null)[] = [];
    const board = new (class extends WaitingBoard {
      override greylisted(address: object, retryAt: number | null) {
        retries.push(retryAt);
        super.greylisted(address, retryAt);
      }
    })();
    // Long enough for one retry (GREYLIST_FIRST_RETRY_MS), too short for the doubled second.
    const e = engine({ greylistBudgetMs: 2_500 });
    await e.verify(forever, { waiting: board }, () => {});
    await e.close();
    // Retried within the budget (a time), then given up on (null); nothing waits once answered.
    expect(retries.filter((t) => t !== null).length).toBeGreaterThan(0);
    expect(retries.at(-1)).toBeNull();
    expect(board.summary(Date.now())).toEqual({});
  });

  it("stops within a call's budget and answers what it has", async () => {
    const slow = withReason("timeout");
    expect(slow.length).toBeGreaterThan(0);
    const e = engine({ timeoutMs: 20_000 });
    const started = Date.now();
    const results: Result[] = [];
    await e.verify(slow, { budgetMs: 1000 }, (r) => results.push(r));
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(results.length).toBe(slow.length);
    for (const r of results) expect(r.verdict).toBe("unknown");
  });

  describe("windowed admission (issue 9, item 6)", () => {
    /** An async source that counts how far the engine has pulled it. */
    function counted(items: string[]) {
      const state = { pulled: 0 };
      async function* gen() {
        for (const item of items) {
          state.pulled++;
          yield item;
        }
      }
      return { state, source: gen() };
    }

    it("keeps at most `window` inputs unanswered, and answers in input order when asked", async () => {
      // A silent MX at the head: everything behind it finishes first, and must wait for it.
      const slow = withReason("timeout")[0]!;
      const fast = Array.from({ length: 30 }, (_, i) => (i % 2 ? `user${i}@nxdomain.test` : `bad address ${i}`));
      const { state, source } = counted([slow, ...fast]);
      const window = 5;
      const e = engine({ window, timeoutMs: 300 });
      const seen: { index: number; email: string; aheadOfHead: number }[] = [];
      await e.verify(source, { ordered: true }, (r, index) => {
        seen.push({ index, email: r.email, aheadOfHead: state.pulled - index });
      });
      expect(seen.map((x) => x.index)).toEqual([...Array(31).keys()]);
      expect(seen.map((x) => x.email)).toEqual([slow, ...fast]);
      // for-await pulls one input before it waits for room, hence window + 1.
      expect(Math.max(...seen.map((x) => x.aheadOfHead))).toBeLessThanOrEqual(window + 1);
      expect(seen[0]!.aheadOfHead).toBe(window + 1); // the window filled behind the slow head
    });

    it("keeps at most `window` addresses in flight when unordered", async () => {
      const { state, source } = counted(world.addresses.filter((a) => world.truth.get(a)!.reason !== "greylisted"));
      const window = 3;
      let answered = 0;
      let most = 0;
      await engine({ window }).verify(source, {}, () => {
        most = Math.max(most, state.pulled - answered);
        answered++;
      });
      expect(answered).toBe(state.pulled);
      expect(most).toBeLessThanOrEqual(window + 1);
    });

    it("answers what it admitted, then rejects with the source's error", async () => {
      async function* broken() {
        yield "not an address";
        yield withReason("accepted")[0]!;
        throw new Error("disk gone");
      }
      const results: number[] = [];
      await expect(engine().verify(broken(), {}, (_r, i) => results.push(i))).rejects.toThrow("disk gone");
      expect(results.sort()).toEqual([0, 1]);
    });
  });
});

describe("finding a person's address (Engine.find)", () => {
  const cand = (email: string, pattern: string, confidence = 40): FindCandidate => ({ email, pattern, confidence });

  async function findOne(candidates: FindCandidate[], trace = false, extra: Partial<EngineOptions> = {}) {
    const answers: FindAnswer[] = [];
    const e = engine(extra);
    const seen = world.transcript().length;
    await e.find([candidates], { trace }, (a) => answers.push(a));
    expect(answers).toHaveLength(1);
    // Only this search's lines: the world keeps one transcript for every test.
    return { answer: answers[0]!, lines: world.transcript().slice(seen) };
  }
  const count = (lines: string[], host: string, command: string) => lines.filter((l) => l.startsWith(`${host} C: ${command}`)).length;

  it("asks the candidates 1, then 2, then 4 at a time in one transaction, and stops at the first accepted", async () => {
    const candidates = [
      cand("nobody@ok.test", "first.last"),
      cand("gone@ok.test", "flast"),
      cand("no.such.user@ok.test", "first"),
      cand("bob@ok.test", "firstlast"),
      cand("zz1@ok.test", "f.last"),
      cand("alice@ok.test", "firstl"),
      cand("zz3@ok.test", "first_last"),
      cand("carol@ok.test", "last"),
    ];
    const { answer, lines } = await findOne(candidates);
    expect(answer).toMatchObject({ email: "bob@ok.test", verdict: "deliverable", reason: "accepted", pattern: "firstlast", catch_all: false });
    expect(answer.confidence).toBeGreaterThan(50);
    // The fourth wave (carol) was never needed; the third was asked whole, alice accepted too.
    expect(answer.candidates.map((c) => [c.email, c.reason])).toEqual([
      ["nobody@ok.test", "mailbox_not_found"],
      ["gone@ok.test", "mailbox_disabled"],
      ["no.such.user@ok.test", "mailbox_not_found"],
      ["bob@ok.test", "accepted"],
      ["zz1@ok.test", "mailbox_not_found"],
      ["alice@ok.test", "accepted"],
      ["zz3@ok.test", "mailbox_not_found"],
    ]);
    expect(answer.candidates[3]!.smtp?.code).toBe(250);
    expect(count(lines, "mx.ok.test", "MAIL FROM")).toBe(1);
    // Seven candidates and the domain's one random-mailbox test.
    expect(count(lines, "mx.ok.test", "RCPT TO")).toBe(8);
    expect(lines.some((l) => l.includes("carol@ok.test"))).toBe(false);
    expect(count(lines, "mx.ok.test", "DATA")).toBe(0);
  });

  it("keeps a session under Postfix's hard error limit when a chain continues it: earlier transactions' refusals count", async () => {
    // Six people of one refused candidate fill the window and the first transaction (7 refusals
    // with the catch-all test's); the seventh, admitted as the first is answered, starts the
    // session's next transaction and chains 15 refusals before its mailbox, at a host that drops
    // a client at its 20th error.
    const single = Array.from({ length: 6 }, (_, n) => [cand(`single${n}@postfix.test`, "first.last")]);
    const long = Array.from({ length: 16 }, (_, i) => cand(i === 15 ? "real@postfix.test" : `long.c${i}@postfix.test`, `pattern${i}`));
    const answers: FindAnswer[] = [];
    const seen = world.transcript().length;
    await engine({ window: 6, perHostConnections: 1 }).find([...single, long], {}, (a, i) => (answers[i] = a));
    const lines = world.transcript().slice(seen).filter((l) => l.startsWith("mx.postfix.test "));
    expect(answers.map((a) => a.email)).toEqual([null, null, null, null, null, null, "real@postfix.test"]);
    expect(answers[6]!.candidates).toHaveLength(16);
    expect(lines.filter((l) => / S: 421 /.test(l))).toEqual([]);
  });

  it("answers the likeliest candidate on a catch-all domain as risky, with the pattern's confidence, after one RCPT", async () => {
    const { answer, lines } = await findOne([cand("anyone@catchall.test", "first.last", 31), cand("sales@catchall.test", "flast")]);
    expect(answer).toMatchObject({ email: "anyone@catchall.test", verdict: "risky", reason: "catch_all", confidence: 31, pattern: "first.last", catch_all: true });
    expect(answer.candidates).toHaveLength(1);
    expect(lines.some((l) => l.includes("sales@catchall.test"))).toBe(false);
  });

  it("returns no address when every candidate is refused, and says so", async () => {
    const { answer } = await findOne([cand("nobody@ok.test", "first.last"), cand("no.such.user@ok.test", "flast"), cand("gone@ok.test", "first")]);
    expect(answer).toMatchObject({ email: null, verdict: "undeliverable", reason: "mailbox_disabled", confidence: 0, pattern: null, catch_all: false });
    expect(answer.candidates).toHaveLength(3);
  });

  it("stops at an answer that is not about the mailbox: a policy block would refuse every candidate alike", async () => {
    const { answer, lines } = await findOne([cand("user@policy.test", "first.last"), cand("other@policy.test", "flast")]);
    expect(answer).toMatchObject({ email: null, verdict: "unknown", reason: "policy_block" });
    expect(answer.candidates).toHaveLength(1);
    expect(lines.some((l) => l.includes("other@policy.test"))).toBe(false);
  });

  it("asks every remaining candidate at once when the server greylists, so their retries fall due together", async () => {
    // A sender of its own: the world greylists by (client, sender, recipient), and other tests
    // have passed these recipients' greylisting for the null sender.
    const candidates = [cand("ghost@greylist.test", "first.last"), cand("user@greylist.test", "flast"), cand("second@greylist.test", "first")];
    const { answer, lines } = await findOne(candidates, false, { from: "finder@probe.mxray.test" });
    expect(answer).toMatchObject({ email: "user@greylist.test", verdict: "deliverable", pattern: "flast" });
    const rcpts = lines.filter((l) => l.startsWith("mx.greylist.test C: RCPT TO")).map((l) => l.replace(/^.*<(.*)>.*$/, "$1"));
    // user and second were asked before ghost's retry, not after its refusal.
    expect(rcpts.indexOf("user@greylist.test")).toBeLessThan(rcpts.lastIndexOf("ghost@greylist.test"));
    expect(rcpts.indexOf("second@greylist.test")).toBeLessThan(rcpts.lastIndexOf("ghost@greylist.test"));
  });

  it("waits for a known pattern's greylisted candidate alone: its retry usually ends the search", async () => {
    const candidates = [cand("user@greylist.test", "first.last", 80), cand("second@greylist.test", "flast"), cand("ghost@greylist.test", "first")];
    const { answer, lines } = await findOne(candidates, false, { from: "finder-known@probe.mxray.test" });
    expect(answer).toMatchObject({ email: "user@greylist.test", verdict: "deliverable", pattern: "first.last" });
    const rcpts = lines.filter((l) => l.startsWith("mx.greylist.test C: RCPT TO")).map((l) => l.replace(/^.*<(.*)>.*$/, "$1"));
    expect(rcpts.filter((r) => r === "user@greylist.test")).toHaveLength(2);
    expect(rcpts.some((r) => r === "second@greylist.test" || r === "ghost@greylist.test")).toBe(false);
  });

  it("answers a domain without mail from DNS after one candidate, and keeps a transcript with trace", async () => {
    const { answer } = await findOne([cand("user@nxdomain.test", "first.last"), cand("u2@nxdomain.test", "flast")], true);
    expect(answer).toMatchObject({ email: null, verdict: "undeliverable", reason: "no_such_domain" });
    expect(answer.candidates).toHaveLength(1);
    expect(answer.trace?.some((l) => l.startsWith("dns: nxdomain.test"))).toBe(true);
  });

  it("answers each person of a call, in order when asked, sharing the domain's catch-all test", async () => {
    const people = [[cand("nobody@ok.test", "first.last"), cand("alice@ok.test", "flast")], [cand("carol@ok.test", "first.last")], [cand("anyone@catchall.test", "first")]];
    const e = engine();
    const seen = world.transcript().length;
    const got: [number, string | null][] = [];
    await e.find(people, { ordered: true }, (a, i) => got.push([i, a.email]));
    expect(got).toEqual([[0, "alice@ok.test"], [1, "carol@ok.test"], [2, "anyone@catchall.test"]]);
    const okRcpts = world.transcript().slice(seen).filter((l) => l.startsWith("mx.ok.test C: RCPT TO"));
    expect(okRcpts).toHaveLength(4); // three candidates and one random mailbox for both people
  });
});

describe("two probes sharing MX state through Redis", () => {
  let redisServer: RunningRedis;
  let bridge: UpstashBridge;
  beforeAll(async () => {
    redisServer = await startRedis();
    bridge = await startUpstashBridge({ redisPort: redisServer.port, redisPassword: redisServer.password, token: "engine-test" });
  });
  afterAll(async () => {
    await bridge?.stop();
    await redisServer?.stop();
  });
  const probe = (probeId: string, extra: Partial<EngineOptions> = {}) => {
    const shared = createSharedMxState({ probeId, redis: { url: bridge.url, token: bridge.token } });
    return { shared, engine: engine({ shared, ...extra }) };
  };

  it("tests a catch-all domain once for both, and the second shows the first's evidence", async () => {
    const [a, b] = [probe("p1"), probe("p2")];
    const host = () => world.stats().perHost["mx.catchall.test"]!.rcpts;
    const start = host();
    await a.engine.verify(["anyone@catchall.test"], {}, () => {});
    expect(host() - start).toBe(2); // the address and one random mailbox
    const results: Result[] = [];
    await b.engine.verify(["sales@catchall.test"], { trace: true }, (r) => results.push(r));
    expect(host() - start).toBe(3); // the address only
    expect(results[0]).toMatchObject({ verdict: "risky", reason: "catch_all", catch_all: true });
    expect(results[0]!.trace!.join("\n")).toMatch(/catch-all: yes: a random mailbox got 250 2\.1\.5 Ok from mx\.catchall\.test \(probe p1,/);
    expect(b.shared.stats().fleetHits.catchAll).toBe(1);
  });

  it("keeps the second probe away from an MX host the first found dead", async () => {
    const [a, b] = [probe("p3", { timeoutMs: 200 }), probe("p4", { timeoutMs: 200 })];
    const attempts = () => world.stats().perHost["mx.slowbanner.test"]!.connections;
    const start = attempts();
    for (let i = 0; i < 3; i++) await a.engine.verify([`user${i}@slowbanner.test`], {}, () => {});
    expect(attempts() - start).toBe(3);
    const results: Result[] = [];
    await b.engine.verify(["user@slowbanner.test"], {}, (r) => results.push(r));
    expect(attempts() - start).toBe(3); // p4 never tried: the fleet's breaker was open
    expect(results[0]).toMatchObject({ verdict: "unknown", reason: "timeout" });
    expect(b.shared.stats()).toMatchObject({ mode: "redis", openBreakers: 1, fleetHits: { breaker: 1 } });
  });
});

describe("a provider that defers", () => {
  let fleetWorld: World;
  beforeAll(async () => {
    // One session at a time from us; the second one open gets a 421 greeting.
    fleetWorld = await startWorld({ fleet: { addresses: 1000, seed: 5, provider: { maxOpen: 1, maxPerWindow: 1_000, windowMs: 1_000 } } });
  });
  afterAll(async () => {
    await fleetWorld?.stop();
  });

  it("is waited out, not answered unknown: a 421 greeting pauses new sessions, then the addresses are verified", async () => {
    const f = fleetWorld.fleet!;
    const onProvider = f.addresses.filter((a) => f.providerDomains.includes(a.slice(a.lastIndexOf("@") + 1)));
    // A budget of its own, as the big providers have (probe/providers.ts): two open, halved per
    // deferral level, so after the first deferral one session at a time does the work.
    const shared = createSharedMxState({
      probeId: "p1",
      tuning: { deferralPauseMs: 100, deferralMaxPauseMs: 400 },
      providers: { "bigmail.test": { connectionsPerMinute: 6_000, rcptsPerMinute: 600_000, maxOpen: 2 } },
    });
    const e = createEngine({ dnsServers: [fleetWorld.dnsServer], port: fleetWorld.smtpPort, helo: "p1.mxray.test", timeoutMs: 1500, allowPrivateTargets: true, shared });
    const results: Result[] = [];
    // Two batches at once, as a probe runs them: their sessions meet at the provider's limit.
    const half = Math.ceil(onProvider.length / 2);
    await Promise.all([onProvider.slice(0, half), onProvider.slice(half)].map((batch) => e.verify(batch, { budgetMs: 20_000 }, (r) => results.push(r))));
    const deferred = f.providerHosts.reduce((n, h) => n + fleetWorld.stats().perHost[h]!.deferred, 0);
    expect(deferred).toBeGreaterThan(0);
    expect(results).toHaveLength(onProvider.length);
    const wrong = results.filter((r) => r.verdict !== fleetWorld.truth.get(r.email)!.verdict).map((r) => `${r.email}: ${r.verdict}/${r.reason}`);
    expect(wrong).toEqual([]);
  });
});

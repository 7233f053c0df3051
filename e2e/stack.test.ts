// The whole local stack (sqld + the Worker under wrangler dev + probe daemons + the simulated
// mail world), driven through the public API as a user would: a 1,000-address job from upload to
// completed, checked against the world's truth; a batch delivered twice; people found one by one and as a
// list; a probe killed mid-batch.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FindAnswer, JobView, Result } from "../core/contracts.ts";
import { findCandidates, parsePerson } from "../core/finder/patterns.ts";
import { signQstash, QSTASH_SIGNATURE_HEADER } from "../core/qstash.ts";
import { createDb } from "../db/client.ts";
import { batches, batchItems, jobEmails, probes } from "../db/schema.ts";
import { eq, inArray } from "drizzle-orm";
import { Redis } from "@upstash/redis";
import { startStack, type Stack } from "./stack.ts";
import { startWorld, type World } from "./world/index.ts";
import { buildScenario } from "./world/scenario.ts";
import { scratchDir } from "./scratch.ts";

const api = (stack: Stack, path: string, init: RequestInit = {}) =>
  fetch(`${stack.url}${path}`, { ...init, headers: { authorization: `Bearer ${stack.devApiKey}`, ...init.headers } });

/** Polls the job (a condition with a deadline, not a sleep) until it leaves the running states. */
async function untilFinished(stack: Stack, id: string, timeoutMs: number): Promise<JobView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = (await (await api(stack, `/api/v1/jobs/${id}`)).json()) as JobView;
    if (["completed", "failed", "canceled"].includes(job.status)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${job.status} (${job.processed}/${job.unique}) after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function results(stack: Stack, id: string): Promise<Result[]> {
  const text = await (await api(stack, `/api/v1/jobs/${id}/results?format=jsonl`)).text();
  return text.trim().split("\n").map((l) => JSON.parse(l) as Result);
}

describe("the local stack, end to end", () => {
  let world: World;
  let stack: Stack;

  beforeAll(async () => {
    // The scripted addresses plus generated ones: 1,000 in all.
    const scripted = buildScenario({ greylistDelayMs: 1000 }).addresses.length;
    world = await startWorld({
      greylistDelayMs: 1000,
      bulk: { domains: 30, addresses: 1000 - scripted, seed: 7 },
      // Company domains that refuse unknown mailboxes, for finding people's addresses.
      finder: { domains: 8, seed: 5, employees: [4, 6], catchAllShare: 0, greylistShare: 0 },
    });
    stack = await startStack({
      dataDir: scratchDir("stack"),
      world,
      probes: 2,
      sweepMs: 1000,
      vars: { MXRAY_BATCH_SIZE: "200" },
    });
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    await world?.stop();
  });

  it("is up only once every probe has reported in: the edge holds each as live, so a check at once is answered", async () => {
    const { db, client } = createDb({ url: stack.sqld.url });
    try {
      const rows = await db.select({ id: probes.id, status: probes.status }).from(probes).where(inArray(probes.id, stack.probes.map((p) => p.id)));
      expect(rows.map((r) => r.status)).toEqual(["active", "active"]);
    } finally {
      client.close();
    }
    const email = world.addresses.find((a) => world.truth.get(a)!.reason === "accepted")!;
    const first = await api(stack, "/api/v1/verify", { method: "POST", body: JSON.stringify({ email }), headers: { "content-type": "application/json" } });
    expect([first.status, ((await first.json()) as Result).verdict]).toEqual([200, "deliverable"]);
  }, 60_000);

  it("takes a 1,000-address CSV from upload to completed, every result matching the world's truth", async () => {
    const addresses = [...world.addresses, ...world.bulkAddresses];
    expect(addresses).toHaveLength(1000);
    // The upload repeats some addresses in another case: rows count them, results do not.
    const rows = [...addresses.map((a, i) => `${i},${a.includes(",") ? `"${a}"` : a},crm`), ...addresses.slice(0, 25).map((a, i) => `dup${i},${a.toUpperCase()},crm`)];
    const res = await api(stack, "/api/v1/jobs?name=integration", { method: "POST", body: `id,email,source\n${rows.join("\n")}\n`, headers: { "content-type": "text/csv" } });
    expect(res.status).toBe(201);
    const created = (await res.json()) as JobView;
    expect(created).toMatchObject({ name: "integration", total: 1025 });

    const job = await untilFinished(stack, created.id, 120_000);
    expect(job).toMatchObject({ status: "completed", unique: 1000, processed: 1000 });
    // The full export gives every data row: the 1,000 addresses in order, then the 25 repeats, each with its first row's answer (issue 26).
    const all = await results(stack, created.id);
    expect(all).toHaveLength(1025);
    const got = all.slice(0, 1000);
    expect(new Set(got.map((r) => r.email)).size).toBe(1000);
    expect(all.slice(1000).map((r) => [r.email, r.verdict, r.reason])).toEqual(got.slice(0, 25).map((r) => [r.email, r.verdict, r.reason]));
    const wrong = got.filter((r) => {
      const want = world.truth.get(r.email)!;
      return !want || r.verdict !== want.verdict || r.reason !== want.reason;
    });
    expect(wrong.map((r) => `${r.email}: ${r.verdict}/${r.reason} vs ${JSON.stringify(world.truth.get(r.email))}`)).toEqual([]);
    const counted = { deliverable: 0, undeliverable: 0, risky: 0, unknown: 0 };
    for (const r of got) counted[r.verdict]++;
    expect(job.counts).toEqual(counted);
    expect(world.stats().dataCommands).toBe(0);

    const csv = (await (await api(stack, `/api/v1/jobs/${created.id}/results?format=csv`)).text()).trim().split("\r\n");
    expect(csv[0]).toBe("id,email,source,verdict,reason,score,catch_all,disposable,role,free,suggestion,mx,smtp_code,smtp_message,safe_to_send");
    expect(csv).toHaveLength(1 + 1025);
    expect(csv.at(-1)).toMatch(/^dup24,/);
  }, 180_000);

  it("serves the web app's page from Remix behind the API routes, and the app's assets", async () => {
    const page = await fetch(`${stack.url}/`);
    expect(page.headers.get("content-type")).toContain("text/html");
    const html = await page.text();
    expect(html).toContain("Know which addresses take mail");
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1] ?? /href="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(asset).toBeDefined();
    expect((await fetch(`${stack.url}${asset}`)).status).toBe(200);
    const unknownApi = await fetch(`${stack.url}/internal/nope`);
    expect(unknownApi.status).toBe(404);
    // The app's forms refuse posts from other sites before Remix runs.
    const forged = await fetch(`${stack.url}/sign-in`, { method: "POST", headers: { origin: "https://evil.test", "content-type": "application/x-www-form-urlencoded" }, body: "email=a%40b.test" });
    expect(forged.status).toBe(403);
    expect(forged.headers.get("set-cookie")).toBeNull();
  });

  it("answers a single check through a probe, then from the cache", async () => {
    const email = world.addresses.find((a) => world.truth.get(a)!.reason === "mailbox_not_found")!;
    const first = await api(stack, "/api/v1/verify", { method: "POST", body: JSON.stringify({ email }), headers: { "content-type": "application/json" } });
    expect(first.status).toBe(200);
    expect(first.headers.get("x-mxray-cache")).toBe("miss");
    expect(await first.json()).toMatchObject({ email, verdict: "undeliverable", reason: "mailbox_not_found" });
    const rcpts = world.stats().rcpts;
    const again = await api(stack, "/api/v1/verify", { method: "POST", body: JSON.stringify({ email }), headers: { "content-type": "application/json" } });
    expect(again.headers.get("x-mxray-cache")).toBe("hit");
    expect(await again.json()).toMatchObject({ verdict: "undeliverable", reason: "mailbox_not_found" });
    expect(world.stats().rcpts).toBe(rcpts);
    // The answer and the key's rate-limit window live in the stack's own redis-server.
    expect(stack.redis.local).toBe(true);
    const redis = new Redis({ url: stack.redis.url, token: stack.redis.token, enableTelemetry: false });
    expect(await redis.ttl(`verify:${email}`)).toBeGreaterThan(0);
    expect((await redis.keys("mxray:rl:*")).length).toBeGreaterThan(0);
    // The probes hold only the fleet's database (issue 21): their MX state lives there, and with
    // its token the edge's answer is neither there nor reachable at the edge's URL.
    expect(stack.fleetRedis.local).toBe(true);
    const fleet = new Redis({ url: stack.fleetRedis.url, token: stack.fleetRedis.token, enableTelemetry: false });
    // Configured, and used (its keys below): whether Redis answered within its 1 s timeout at
    // this instant (mxray_shared_state_up) depends on the machine's load, not on the code.
    expect(await (await fetch(`${stack.probes[0]!.url}/metrics`)).text()).toMatch(/^mxray_shared_state_configured 1$/m);
    expect((await fleet.keys("mxray:mx:*")).length).toBeGreaterThan(0);
    expect(await redis.keys("mxray:mx:*")).toEqual([]);
    expect(await fleet.get(`verify:${email}`)).toBeNull();
    expect(await fleet.keys("verify:*")).toEqual([]);
    const withFleetToken = await fetch(stack.redis.url, { method: "POST", headers: { authorization: `Bearer ${stack.fleetRedis.token}` }, body: JSON.stringify(["get", `verify:${email}`]) });
    expect(withFleetToken.status).toBe(401);
  }, 60_000);

  it("a batch delivered twice to a probe changes no count", async () => {
    const list = (await (await api(stack, "/api/v1/jobs?limit=1")).json()) as { data: JobView[] };
    const job = list.data[0]!;
    const { db, client } = createDb({ url: stack.sqld.url });
    try {
      const [batch] = await db.select({ id: batches.id, items: batchItems.items }).from(batches).innerJoin(batchItems, eq(batchItems.batchId, batches.id)).where(eq(batches.jobId, job.id)).limit(1);
      const items = JSON.parse(batch!.items) as [string, string][];
      const url = `${stack.probes[0]!.url}/v1/batches`;
      const body = JSON.stringify({ batch_id: batch!.id, job_id: job.id, emails: items.map((i) => i[1]) });
      const probe = stack.probes[0]!;
      const posted = async () => Number(/^mxray_results_posted_total (\d+)/m.exec(await (await fetch(`${probe.url}/metrics`)).text())?.[1] ?? 0);
      const before = await posted();
      const res = await fetch(url, { method: "POST", body, headers: { "content-type": "application/json", [QSTASH_SIGNATURE_HEADER]: await signQstash({ signingKey: stack.secrets.signingKey, url, body }) } });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { results: number }).results).toBe(items.length);
      // Wait until the edge has acknowledged every repeated result, then read the job.
      const deadline = Date.now() + 30_000;
      while ((await posted()) < before + items.length) {
        if (Date.now() > deadline) throw new Error("the probe's outbox did not deliver the repeated results");
        await new Promise((r) => setTimeout(r, 100));
      }
      const after = (await (await api(stack, `/api/v1/jobs/${job.id}`)).json()) as JobView;
      expect(after).toMatchObject({ processed: job.processed, counts: job.counts, status: "completed" });
      expect(await db.$count(jobEmails, eq(jobEmails.jobId, job.id))).toBe(1000);
    } finally {
      client.close();
    }
  }, 60_000);

  it("finds a person's address through a probe, and a list of people as a job of kind find", async () => {
    // ASCII names, so the admin's spelling is the only one; who can be found is who has their
    // real address among the candidates made with nothing known of the domain.
    const people = world.finder!.people.filter((p) => /^[a-z]+$/i.test(p.first + p.last));
    const findable = (p: (typeof people)[number]) => {
      const parsed = parsePerson({ first_name: p.first, last_name: p.last, domain: p.domain });
      return parsed.ok && findCandidates(parsed.person, parsed.domain).some((c) => c.email === p.email);
    };
    const one = people.find(findable)!;
    const res = await api(stack, "/api/v1/find", { method: "POST", body: JSON.stringify({ first_name: one.first, last_name: one.last, domain: `https://www.${one.domain}/about` }), headers: { "content-type": "application/json" } });
    expect(res.status).toBe(200);
    const answer = (await res.json()) as FindAnswer;
    expect(answer).toMatchObject({ email: one.email, verdict: "deliverable", reason: "accepted", catch_all: false });
    expect(answer.candidates.find((c) => c.email === one.email)).toMatchObject({ verdict: "deliverable", smtp: { code: 250 } });

    const rows = people.map((p, i) => `${p.first},${p.last},https://${p.domain},lead-${i}`);
    const csv = `first_name,last_name,website,note\n${rows.join("\n")}\n,,,no name\n`;
    const created = await api(stack, "/api/v1/jobs?kind=find&name=leads", { method: "POST", body: csv, headers: { "content-type": "text/csv" } });
    expect(created.status).toBe(201);
    const job = await untilFinished(stack, ((await created.json()) as JobView).id, 120_000);
    expect(job).toMatchObject({ status: "completed", kind: "find", unique: people.length, processed: people.length });
    expect(job.rejects.invalid_person).toBe(1);
    const exported = (await (await api(stack, `/api/v1/jobs/${job.id}/results?format=csv`)).text()).trim().split("\r\n");
    expect(exported[0]).toMatch(/^first_name,last_name,website,note,email,verdict,reason,confidence,pattern/);
    // Every row comes back: the one naming no one last, with its reason (issue 26).
    expect(exported).toHaveLength(1 + people.length + 1);
    expect(exported.at(-1)).toMatch(/^,,,no name,,,invalid_person,/);
    const found = new Map(exported.slice(1, -1).map((line) => line.split(",")).map((cells) => [cells[3], cells[4]]));
    expect(found.size).toBe(people.length);
    const wrong = people.filter((p, i) => found.get(`lead-${i}`) && found.get(`lead-${i}`) !== p.email);
    expect(wrong).toEqual([]);
    const missed = people.filter((p, i) => findable(p) && found.get(`lead-${i}`) !== p.email);
    expect(missed).toEqual([]);
    expect(world.stats().dataCommands).toBe(0);
  }, 180_000);
});

describe("a probe killed mid-batch", () => {
  let world: World;
  let stack: Stack;

  beforeAll(async () => {
    // Slow round trips keep batches in flight long enough to kill the probe inside one.
    world = await startWorld({ rttMs: 250, greylistDelayMs: 1000, bulk: { domains: 12, addresses: 300, seed: 11 } });
    stack = await startStack({
      dataDir: scratchDir("fault"),
      world,
      probes: 1,
      sweepMs: 500,
      vars: { MXRAY_BATCH_SIZE: "100", MXRAY_BATCH_BUDGET_MS: "8000", MXRAY_LEASE_MS: "10000" },
    });
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    await world?.stop();
  });

  it("its leases expire, another probe finishes, nothing is lost or counted twice", async () => {
    const res = await api(stack, "/api/v1/jobs", { method: "POST", body: `${world.bulkAddresses.join("\n")}\n`, headers: { "content-type": "text/plain" } });
    const created = (await res.json()) as JobView;
    expect(created.unique).toBe(300);
    const deadline = Date.now() + 60_000;
    let seen: JobView;
    for (;;) {
      seen = (await (await api(stack, `/api/v1/jobs/${created.id}`)).json()) as JobView;
      if (seen.processed > 0) break;
      if (Date.now() > deadline) throw new Error("no result arrived");
      await new Promise((r) => setTimeout(r, 50));
    }
    await stack.probes[0]!.kill();
    const atKill = (await (await api(stack, `/api/v1/jobs/${created.id}`)).json()) as JobView;
    expect(atKill.processed).toBeLessThan(atKill.unique); // the kill really was mid-job
    await stack.addProbe();

    const job = await untilFinished(stack, created.id, 120_000);
    expect(job).toMatchObject({ status: "completed", unique: 300, processed: 300 });
    const got = await results(stack, created.id);
    expect(got).toHaveLength(300);
    expect(new Set(got.map((r) => r.normalized)).size).toBe(300);
    const wrong = got.filter((r) => world.truth.get(r.email)?.verdict !== r.verdict);
    expect(wrong.map((r) => `${r.email}: ${r.verdict}/${r.reason}`)).toEqual([]);
    const counted = { deliverable: 0, undeliverable: 0, risky: 0, unknown: 0 };
    for (const r of got) counted[r.verdict]++;
    expect(job.counts).toEqual(counted);
    const { db, client } = createDb({ url: stack.sqld.url });
    try {
      const rows = await db.select().from(batches).where(eq(batches.jobId, created.id));
      // Some batch went out more than once: to the dead probe, then to the new one.
      expect(Math.max(...rows.map((b) => b.attempts))).toBeGreaterThan(1);
      expect(rows.every((b) => b.status === "done")).toBe(true);
    } finally {
      client.close();
    }
  }, 180_000);
});

// The API commands' argument parsing and configuration, the progress output, and the client's
// error and fallback paths against a scripted server on loopback.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import type { JobProgress } from "../core/live.ts";
import { apiConfigFrom, ConfigError, contentTypeOf, EXIT, parseApiCommand, progressReporter, runApiCommand, UsageError } from "./cli.ts";
import { createMxrayClient, MxrayApiError } from "./index.ts";

describe("parseApiCommand", () => {
  it("reads jobs create, with --out implying --wait and csv by default", () => {
    expect(parseApiCommand("jobs", ["create", "list.csv"])).toEqual({ kind: "jobs.create", file: "list.csv", jobKind: "verify", wait: false, format: "csv", verdicts: [] });
    expect(parseApiCommand("jobs", ["create", "people.csv", "--kind", "find"])).toMatchObject({ kind: "jobs.create", file: "people.csv", jobKind: "find" });
    expect(parseApiCommand("jobs", ["create", "l.txt", "--name", "crm", "--out", "clean.csv", "--verdict", "deliverable, Risky", "--poll", "500"])).toEqual({
      kind: "jobs.create", file: "l.txt", jobKind: "verify", name: "crm", wait: true, out: "clean.csv", format: "csv", verdicts: ["deliverable", "risky"], pollMs: 500,
    });
  });

  it("reads the other commands", () => {
    expect(parseApiCommand("jobs", ["list", "--limit", "5"])).toEqual({ kind: "jobs.list", limit: 5, json: false });
    expect(parseApiCommand("jobs", ["get", "job_1"])).toEqual({ kind: "jobs.get", id: "job_1" });
    expect(parseApiCommand("jobs", ["cancel", "job_1"])).toEqual({ kind: "jobs.cancel", id: "job_1" });
    expect(parseApiCommand("jobs", ["results", "job_1", "--format", "csv", "--verdict", "unknown", "--out", "u.csv"])).toEqual({ kind: "jobs.results", id: "job_1", format: "csv", verdicts: ["unknown"], out: "u.csv" });
    expect(parseApiCommand("jobs", ["results", "job_1"])).toMatchObject({ format: "jsonl", verdicts: [] });
    expect(parseApiCommand("jobs", ["results", "job_1", "--format", "xlsx", "--out", "r.xlsx"])).toMatchObject({ format: "xlsx", out: "r.xlsx" });
    expect(parseApiCommand("check", ["ada@example.com", "--json"])).toEqual({ kind: "check", address: "ada@example.com", json: true });
    expect(parseApiCommand("webhooks", ["list"])).toEqual({ kind: "webhooks.list", json: false });
    expect(parseApiCommand("webhooks", ["create", "--url", "https://crm.example.com/hook", "--events", "job.completed, job.failed", "--description", "CRM"])).toEqual({
      kind: "webhooks.create", url: "https://crm.example.com/hook", events: ["job.completed", "job.failed"], description: "CRM",
    });
    expect(parseApiCommand("webhooks", ["delete", "wh_1"])).toEqual({ kind: "webhooks.delete", id: "wh_1" });
    for (const help of [["--help"], [], ["create", "--help"], ["help"]]) expect(parseApiCommand("jobs", help)).toEqual({ kind: "help" });
    expect(parseApiCommand("check", ["-h"])).toEqual({ kind: "help" });
    expect(parseApiCommand("find", ["--first", "Ada", "--last", "Lovelace", "--domain", "example.com"])).toEqual({
      kind: "find", person: { first_name: "Ada", last_name: "Lovelace", domain: "example.com" }, json: false,
    });
    expect(parseApiCommand("find", ["--name", "Ada Lovelace", "--domain", "https://example.com/about", "--json"])).toEqual({
      kind: "find", person: { full_name: "Ada Lovelace", domain: "https://example.com/about" }, json: true,
    });
    expect(parseApiCommand("find", ["--help"])).toEqual({ kind: "help" });
  });

  it.each([
    [["jobs", "create"], /exactly one FILE/],
    [["jobs", "create", "a.csv", "b.csv"], /exactly one FILE, got 2/],
    [["jobs", "create", "a.csv", "--verdict", "deliverable"], /give --out too/],
    [["jobs", "create", "a.csv", "--out", "o.csv", "--verdict", "good"], /--verdict takes .*deliverable/],
    [["jobs", "create", "a.csv", "--out", "o.csv", "--format", "xml"], /--format takes csv, json, jsonl, xlsx/],
    [["jobs", "results", "job_1", "--format", "xlsx"], /--format xlsx writes a file; give --out F/],
    [["jobs", "create", "a.csv", "--poll", "0"], /--poll takes a positive whole number/],
    [["jobs", "list", "--limit", "101"], /at most 100/],
    [["jobs", "list", "extra"], /takes no arguments/],
    [["jobs", "get"], /exactly one job ID/],
    [["jobs", "frobnicate"], /unknown command "jobs frobnicate"/],
    [["check"], /exactly one ADDRESS/],
    [["jobs", "create", "a.csv", "--kind", "people"], /--kind takes verify or find, got "people"/],
    [["find", "--first", "Ada", "--last", "Lovelace"], /needs --domain/],
    [["find", "--name", "Ada Lovelace", "--domain", "  "], /needs --domain/],
    [["find", "--first", "Ada", "--domain", "example.com"], /needs --first F --last L, or --name/],
    [["find", "--name", "Ada Lovelace", "--last", "Lovelace", "--domain", "example.com"], /not both/],
    [["find", "ada", "--domain", "example.com"], /flags only, not "ada"/],
    [["webhooks", "create", "--events", "job.completed"], /needs --url/],
    [["webhooks", "create", "--url", "ftp://x.example", "--events", "job.completed"], /http\(s\) URL/],
    [["webhooks", "create", "--url", "https://x.example", "--events", " , "], /needs --events/],
    [["webhooks", "delete"], /exactly one webhook ID/],
  ])("refuses %j", (argv, message) => {
    const [command, ...rest] = argv as [string, ...string[]];
    expect(() => parseApiCommand(command, rest)).toThrow(UsageError);
    expect(() => parseApiCommand(command, rest)).toThrow(message);
  });
});

describe("apiConfigFrom", () => {
  it("names every missing variable, and refuses a URL that is not http(s)", () => {
    expect(() => apiConfigFrom({})).toThrow(/^set MXRAY_API_URL and MXRAY_API_KEY:/);
    expect(() => apiConfigFrom({ MXRAY_API_URL: "http://127.0.0.1:8787", MXRAY_API_KEY: " " })).toThrow(/^set MXRAY_API_KEY:/);
    expect(() => apiConfigFrom({ MXRAY_API_URL: "127.0.0.1:8787", MXRAY_API_KEY: "k" })).toThrow(ConfigError);
    expect(apiConfigFrom({ MXRAY_API_URL: "https://mx.example.com/api/v1/", MXRAY_API_KEY: "mx_live_k" })).toEqual({ baseUrl: "https://mx.example.com", apiKey: "mx_live_k" });
  });

  it("the upload's content type follows the file's extension", () => {
    expect(["a.txt", "b.TSV", "c.csv", "d"].map(contentTypeOf)).toEqual(["text/plain", "text/tab-separated-values", "text/csv", "text/csv"]);
  });
});

describe("progressReporter", () => {
  const job = (processed: number, status: JobProgress["status"] = "running"): JobProgress => ({
    id: "job_1", status, total: 200, unique: 200, processed, counts: { deliverable: processed, undeliverable: 0, risky: 0, unknown: 0 },
  });

  it("writes a line per 10% when stderr is not a terminal", () => {
    let out = "";
    const bar = progressReporter({ write: (s: string) => (out += s) }, false);
    for (const n of [0, 5, 19, 20, 21, 150, 199]) bar.update(job(n));
    bar.update(job(200, "completed"));
    bar.end();
    expect(out.split("\n")).toEqual(["job_1: 0% (0/200) running", "job_1: 10% (20/200) running", "job_1: 75% (150/200) running", "job_1: 99% (199/200) running", "job_1: 100% (200/200) completed", ""]);
  });

  it("redraws one line on a terminal", () => {
    let out = "";
    const bar = progressReporter({ write: (s: string) => (out += s) }, true);
    bar.update(job(100));
    bar.update(job(100));
    bar.update(job(200, "completed"));
    bar.end();
    expect(out).toBe(`\r[${"#".repeat(15)}${".".repeat(15)}] 100/200 50% running \r[${"#".repeat(30)}] 200/200 100% completed \n`);
  });
});

/** A scripted API on loopback: each request is answered by the first route whose `METHOD path` matches. */
let server: Server | null = null;
afterEach(async () => {
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = null;
});
type Route = (req: IncomingMessage, body: string) => { status: number; json?: unknown };
async function scriptedApi(routes: Record<string, Route>): Promise<{ url: string; seen: string[] }> {
  const seen: string[] = [];
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const key = `${req.method} ${req.url}`;
      seen.push(`${key} ${req.headers.authorization}`);
      const route = routes[key];
      const answer = route ? route(req, body) : { status: 404, json: { error: { code: "not_found", message: `No route for ${key}`, requestId: "req_x" } } };
      res.writeHead(answer.status, { "content-type": "application/json" }).end(answer.json === undefined ? "" : JSON.stringify(answer.json));
    });
  });
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, seen };
}
const apiJob = (status: string, processed: number) => ({
  id: "job_1", name: "l", status, total: 2, unique: 2, processed, counts: { deliverable: processed, undeliverable: 0, risky: 0, unknown: 0 },
  progress: processed / 2, rejects: {}, created_at: "2025-01-01T00:00:00.000Z", finished_at: null,
});

describe("the client", () => {
  it("throws the error envelope as MxrayApiError", async () => {
    const { url } = await scriptedApi({});
    const client = createMxrayClient({ baseUrl: url, apiKey: "mx_test_k" });
    const err = await client.getJob("job_nope").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MxrayApiError);
    expect(err).toMatchObject({ code: "not_found", status: 404, requestId: "req_x", message: "No route for GET /api/v1/jobs/job_nope" });
  });

  it("polls the job when the live socket cannot be had, and sends the key every time", async () => {
    let polls = 0;
    const { url, seen } = await scriptedApi({
      "POST /api/v1/jobs/job_1/live-token": () => ({ status: 503, json: { error: { code: "unavailable", message: "down", requestId: "req_1" } } }),
      "GET /api/v1/jobs/job_1": () => ({ status: 200, json: polls++ < 2 ? apiJob("running", polls) : apiJob("completed", 2) }),
    });
    const progress: number[] = [];
    const fellBack: string[] = [];
    const job = await createMxrayClient({ baseUrl: url, apiKey: "mx_test_k" }).waitForJob("job_1", { pollMs: 1, onProgress: (p) => progress.push(p.processed), onFallback: (why) => fellBack.push(why) });
    expect(job).toMatchObject({ status: "completed", processed: 2 });
    expect(progress).toEqual([1, 2, 2]);
    expect(fellBack).toEqual(["down"]);
    expect(seen.every((s) => s.endsWith("Bearer mx_test_k"))).toBe(true);
  });

  it("does not poll when the key is refused", async () => {
    const { url, seen } = await scriptedApi({
      "POST /api/v1/jobs/job_1/live-token": () => ({ status: 401, json: { error: { code: "unauthorized", message: "Unknown API key", requestId: "req_2" } } }),
    });
    await expect(createMxrayClient({ baseUrl: url, apiKey: "bad" }).waitForJob("job_1", { pollMs: 1 })).rejects.toMatchObject({ code: "unauthorized", status: 401 });
    expect(seen).toHaveLength(1);
  });
});

/** Captured stdout and stderr of a command. */
const io = () => {
  const out = { stdout: "", stderr: "" };
  const stdout = new PassThrough().on("data", (c) => (out.stdout += c));
  const stderr = new PassThrough().on("data", (c) => (out.stderr += c));
  return { out, io: { stdout, stderr } };
};

describe("mxray webhooks", () => {

  it("says so when the server has no webhooks API", async () => {
    const { url } = await scriptedApi({});
    const { out, io: streams } = io();
    expect(await runApiCommand("webhooks", ["list"], { MXRAY_API_URL: url, MXRAY_API_KEY: "k" }, streams)).toBe(EXIT.api);
    expect(out.stderr).toBe("mxray: not_found: this server has no webhooks API (GET /api/v1/webhooks answered 404); it may be older than webhooks (request req_x)\n");
  });

  it("creates, lists and deletes through the contract of issue 12", async () => {
    const created = { id: "wh_1", url: "https://crm.example.com/hook", events: ["job.completed"], secret: "whsec_abc", enabled: true };
    let posted: unknown = null;
    const { url } = await scriptedApi({
      "POST /api/v1/webhooks": (_req, body) => ((posted = JSON.parse(body)), { status: 201, json: created }),
      "GET /api/v1/webhooks": () => ({ status: 200, json: { data: [created] } }),
      "DELETE /api/v1/webhooks/wh_1": () => ({ status: 204 }),
    });
    const env = { MXRAY_API_URL: url, MXRAY_API_KEY: "k" };
    const a = io();
    expect(await runApiCommand("webhooks", ["create", "--url", created.url, "--events", "job.completed"], env, a.io)).toBe(EXIT.ok);
    expect(posted).toEqual({ url: created.url, events: ["job.completed"] });
    expect(JSON.parse(a.out.stdout)).toEqual(created);
    expect(a.out.stderr).toMatch(/not shown again/);
    const b = io();
    expect(await runApiCommand("webhooks", ["list"], env, b.io)).toBe(EXIT.ok);
    expect(b.out.stdout).toMatch(/^wh_1\s+https:\/\/crm\.example\.com\/hook\s+job\.completed\s+true$/m);
    const c = io();
    expect(await runApiCommand("webhooks", ["delete", "wh_1"], env, c.io)).toBe(EXIT.ok);
    expect(c.out.stdout).toBe("deleted wh_1\n");
  });
});

describe("mxray find", () => {
  const candidate = (email: string, pattern: string, verdict: string, reason: string) => ({
    email, pattern, verdict, reason, mx: "mx.example.com", smtp: { code: verdict === "deliverable" ? 250 : 550, enhanced: null, message: "" },
  });
  const found = {
    email: "ada.lovelace@example.com", verdict: "deliverable", reason: "accepted", confidence: 97, pattern: "{first}.{last}", catch_all: false,
    candidates: [candidate("ada@example.com", "{first}", "undeliverable", "mailbox_not_found"), candidate("ada.lovelace@example.com", "{first}.{last}", "deliverable", "accepted")],
    duration_ms: 120,
  };
  const notFound = {
    email: null, verdict: "undeliverable", reason: "mailbox_not_found", confidence: 0, pattern: null, catch_all: false,
    candidates: [candidate("ada@example.com", "{first}", "undeliverable", "mailbox_not_found"), candidate("alovelace@example.com", "{f}{last}", "undeliverable", "mailbox_not_found")],
    duration_ms: 80,
  };

  it("prints the address found, after posting the name and domain", async () => {
    let posted: unknown = null;
    const { url } = await scriptedApi({ "POST /api/v1/find": (_req, body) => ((posted = JSON.parse(body)), { status: 200, json: found }) });
    const { out, io: streams } = io();
    expect(await runApiCommand("find", ["--first", "Ada", "--last", "Lovelace", "--domain", "example.com"], { MXRAY_API_URL: url, MXRAY_API_KEY: "k" }, streams)).toBe(EXIT.ok);
    expect(posted).toEqual({ first_name: "Ada", last_name: "Lovelace", domain: "example.com" });
    expect(out.stdout).toBe("ada.lovelace@example.com  deliverable  accepted  confidence 97%  pattern {first}.{last}\n");
  });

  it("says when no address was found, with how many candidates were asked, and still exits ok", async () => {
    const { url } = await scriptedApi({ "POST /api/v1/find": () => ({ status: 200, json: notFound }) });
    const { out, io: streams } = io();
    expect(await runApiCommand("find", ["--first", "Ada", "--last", "Lovelace", "--domain", "example.com"], { MXRAY_API_URL: url, MXRAY_API_KEY: "k" }, streams)).toBe(EXIT.ok);
    expect(out.stdout).toBe("no address found: undeliverable mailbox_not_found (2 candidates asked)\n");
  });

  it("sends --name as full_name, and --json prints the whole answer", async () => {
    let posted: unknown = null;
    const { url } = await scriptedApi({ "POST /api/v1/find": (_req, body) => ((posted = JSON.parse(body)), { status: 200, json: found }) });
    const { out, io: streams } = io();
    expect(await runApiCommand("find", ["--name", "Ada Lovelace", "--domain", "example.com", "--json"], { MXRAY_API_URL: url, MXRAY_API_KEY: "k" }, streams)).toBe(EXIT.ok);
    expect(posted).toEqual({ full_name: "Ada Lovelace", domain: "example.com" });
    expect(JSON.parse(out.stdout)).toEqual(found);
  });

  it("is a usage error without a domain, before any request", async () => {
    const { url, seen } = await scriptedApi({});
    const { out, io: streams } = io();
    expect(await runApiCommand("find", ["--name", "Ada Lovelace"], { MXRAY_API_URL: url, MXRAY_API_KEY: "k" }, streams)).toBe(EXIT.usage);
    expect(out.stderr).toMatch(/^mxray: find needs --domain D/);
    expect(seen).toEqual([]);
  });

  it("answers the API's error with the API exit status", async () => {
    const { url } = await scriptedApi({
      "POST /api/v1/find": () => ({ status: 402, json: { error: { code: "insufficient_credits", message: "No credits left", requestId: "req_3" } } }),
    });
    const { out, io: streams } = io();
    expect(await runApiCommand("find", ["--name", "Ada Lovelace", "--domain", "example.com"], { MXRAY_API_URL: url, MXRAY_API_KEY: "k" }, streams)).toBe(EXIT.api);
    expect(out.stderr).toBe("mxray: insufficient_credits: No credits left (request req_3)\n");
  });

  it("jobs create --kind find uploads the people list as a job of kind find; verify keeps the plain URL", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mxray-cli-"));
    const file = join(dir, "people.csv");
    writeFileSync(file, "first_name,last_name,domain\nAda,Lovelace,example.com\n");
    const uploaded: string[] = [];
    const { url, seen } = await scriptedApi({
      "POST /api/v1/jobs?kind=find": (req, body) => (uploaded.push(`${req.headers["content-type"]} ${body}`), { status: 201, json: apiJob("queued", 0) }),
      "POST /api/v1/jobs": () => ({ status: 201, json: apiJob("queued", 0) }),
    });
    const env = { MXRAY_API_URL: url, MXRAY_API_KEY: "k" };
    try {
      const a = io();
      expect(await runApiCommand("jobs", ["create", file, "--kind", "find"], env, a.io)).toBe(EXIT.ok);
      expect(a.out.stdout).toBe("job_1\n");
      expect(uploaded).toEqual(["text/csv first_name,last_name,domain\nAda,Lovelace,example.com\n"]);
      expect(await runApiCommand("jobs", ["create", file], env, io().io)).toBe(EXIT.ok);
      expect(seen.map((s) => s.split(" ").slice(0, 2).join(" "))).toEqual(["POST /api/v1/jobs?kind=find", "POST /api/v1/jobs"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

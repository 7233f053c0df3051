// `mxray jobs|check` against the whole local stack on the simulated world, run as a user runs
// them (a child process configured by MXRAY_API_URL and MXRAY_API_KEY); and the document the
// stack serves is the one the client was generated from.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import Papa from "papaparse";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXIT } from "../client/cli.ts";
import type { Job, Result } from "../client/index.ts";
import { ROOT, startStack, type Stack } from "./stack.ts";
import { scratchDir } from "./scratch.ts";

let stack: Stack;
const dir = scratchDir("api-cli");

beforeAll(async () => {
  stack = await startStack({ dataDir: join(dir, "stack"), world: true, probes: 1, sweepMs: 1000 });
}, 180_000);
afterAll(async () => {
  await stack?.stop();
});

function mxray(args: string[], env: NodeJS.ProcessEnv = { MXRAY_API_URL: stack.url, MXRAY_API_KEY: stack.devApiKey }) {
  const { MXRAY_API_URL: _u, MXRAY_API_KEY: _k, ...inherited } = process.env;
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, ["--import", "tsx", join(ROOT, "probe/cli.ts"), ...args], { cwd: ROOT, timeout: 50_000, env: { ...inherited, ...env } }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe("mxray API commands on the local stack", () => {
  it("jobs create --wait --out --verdict: uploads the sample, follows it live, writes only the deliverable rows", async () => {
    const sample = join(ROOT, "e2e/world/sample.txt");
    const out = join(dir, "clean.csv");
    const r = await mxray(["jobs", "create", sample, "--name", "cli sample", "--wait", "--out", out, "--verdict", "deliverable"]);
    expect([r.code, r.stderr]).toEqual([EXIT.ok, expect.stringMatching(/: 100% \(\d+\/\d+\) completed\n/)]);
    expect(r.stderr).not.toMatch(/polling/); // the WebSocket carried the progress
    const id = r.stdout.trim();
    expect(id).toMatch(/^job_/);

    const rows = Papa.parse<Record<string, string>>(readFileSync(out, "utf8"), { header: true, skipEmptyLines: true }).data;
    const addresses = [...new Set(readFileSync(sample, "utf8").split("\n").map((l) => l.trim()).filter(Boolean))];
    const deliverable = addresses.filter((a) => stack.world!.truth.get(a)?.verdict === "deliverable");
    expect(deliverable.length).toBeGreaterThan(0);
    expect(rows.map((row) => row.verdict)).toEqual(deliverable.map(() => "deliverable"));
    expect(rows.map((row) => row.email).sort()).toEqual([...deliverable].sort());

    // The same job through jobs list, get and results.
    const list = await mxray(["jobs", "list", "--limit", "5", "--json"]);
    expect(list.code).toBe(EXIT.ok);
    expect((JSON.parse(list.stdout) as { data: Job[] }).data.map((j) => j.id)).toContain(id);
    const table = await mxray(["jobs", "list"]);
    expect(table.stdout).toMatch(new RegExp(`^${id}\\s+cli sample\\s+completed`, "m"));
    const got = await mxray(["jobs", "get", id]);
    expect(JSON.parse(got.stdout)).toMatchObject({ id, name: "cli sample", status: "completed", unique: addresses.length, processed: addresses.length });
    const results = await mxray(["jobs", "results", id, "--format", "jsonl", "--verdict", "undeliverable,risky"]);
    const lines = results.stdout.trim().split("\n").map((l) => JSON.parse(l) as Result);
    expect(lines.length).toBe(addresses.filter((a) => ["undeliverable", "risky"].includes(stack.world!.truth.get(a)?.verdict ?? "")).length);
    expect(lines.every((l) => stack.world!.truth.get(l.email)?.verdict === l.verdict)).toBe(true);
    // Canceling a finished job is the API's 409, shown with its code.
    const cancel = await mxray(["jobs", "cancel", id]);
    expect([cancel.code, cancel.stderr]).toEqual([EXIT.api, expect.stringMatching(/^mxray: conflict: .*\(request req_/)]);
  }, 180_000); // eight CLI processes (each a tsx start) and a job with greylisted addresses, on a loaded CI machine

  it("check: one address through the API", async () => {
    const r = await mxray(["check", "alice@ok.test", "--json"]);
    expect(r.code).toBe(EXIT.ok);
    expect(JSON.parse(r.stdout)).toMatchObject({ email: "alice@ok.test", verdict: "deliverable", reason: "accepted" });
    const line = await mxray(["check", "nobody@ok.test"]);
    expect(line.stdout).toMatch(/^nobody@ok\.test {2}undeliverable {2}mailbox_not_found/);
  }, 60_000);

  it("says which variable is missing, and what a refused key is", async () => {
    const none = await mxray(["jobs", "list"], {});
    expect([none.code, none.stderr]).toEqual([EXIT.config, expect.stringMatching(/^mxray: set MXRAY_API_URL and MXRAY_API_KEY/)]);
    const noKey = await mxray(["check", "a@ok.test"], { MXRAY_API_URL: stack.url });
    expect([noKey.code, noKey.stderr]).toEqual([EXIT.config, expect.stringMatching(/^mxray: set MXRAY_API_KEY:/)]);
    const badKey = await mxray(["jobs", "list"], { MXRAY_API_URL: stack.url, MXRAY_API_KEY: "mx_test_notakey" });
    expect([badKey.code, badKey.stderr]).toEqual([EXIT.api, expect.stringMatching(/^mxray: unauthorized: /)]);
  }, 60_000);

  it("serves the committed document (client/openapi.json) but for its server", async () => {
    const served = (await (await fetch(`${stack.url}/api/v1/openapi.json`)).json()) as { servers: { url: string }[] };
    expect(served.servers).toEqual([{ url: stack.url }]);
    const committed = JSON.parse(readFileSync(join(ROOT, "client/openapi.json"), "utf8")) as object;
    expect({ ...served, servers: [] }, "run `npm run client:generate`").toEqual({ ...committed, servers: [] });
  });
});

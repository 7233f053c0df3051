// The CLI contract, run as a user runs it (a child process) against the simulated world.
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ResultSchema, type Result } from "../core/contracts.ts";
import { startDns } from "../e2e/world/dns.ts";
import { startWorld, type World } from "../e2e/world/index.ts";
import { scratchDir } from "../e2e/scratch.ts";
import { BUDGET_MARGIN_MS, main, verifyCall } from "./cli.ts";
import { DEFAULT_ENGINE_OPTIONS } from "./engine.ts";
import { MAX_STALLED_SESSIONS } from "./smtp/scheduler.ts";
import { scriptedServer } from "./smtp/scripted.ts";

let world: World;
beforeAll(async () => {
  world = await startWorld({ greylistDelayMs: 200 });
});
afterAll(async () => {
  await world?.stop();
});

/** The world is on loopback: the CLI may only reach it with MXRAY_ALLOW_PRIVATE_TARGETS=1. */
const WORLD_ENV = { ...process.env, MXRAY_ALLOW_PRIVATE_TARGETS: "1" };

function mxray(args: string[], env: NodeJS.ProcessEnv = WORLD_ENV): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["--import", "tsx", "probe/cli.ts", ...args], { timeout: 60_000, env }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

function listFile(name: string, content: string): string {
  const file = join(scratchDir("cli"), name);
  writeFileSync(file, content);
  return file;
}

const worldArgs = () => ["--dns", world.dnsServer, "--port", String(world.smtpPort), "--timeout", "2000", "--greylist-budget", "3000"];

describe("mxray verify", () => {
  it("prints one JSON line per input address with the contract's fields", async () => {
    const inputs = ["alice@ok.test", "nobody@ok.test", "anyone@catchall.test", "jane.doe@gmial.com", "alice@ok.test"];
    const { code, stdout } = await mxray(["verify", ...inputs, "--json", ...worldArgs()]);
    expect(code).toBe(0);
    const lines = stdout.trim().split("\n").map((l) => ResultSchema.parse(JSON.parse(l)));
    expect(lines.map((l) => l.email).sort()).toEqual([...inputs].sort());
    const by = new Map(lines.map((l) => [l.email, l]));
    expect(by.get("alice@ok.test")).toMatchObject({ verdict: "deliverable", reason: "accepted", catch_all: false, mx: "mx.ok.test", smtp: { code: 250 } });
    expect(by.get("nobody@ok.test")).toMatchObject({ verdict: "undeliverable", smtp: { code: 550, enhanced: "5.1.1" } });
    expect(by.get("anyone@catchall.test")).toMatchObject({ verdict: "risky", catch_all: true });
    expect(by.get("jane.doe@gmial.com")?.suggestion).toBe("jane.doe@gmail.com");
    expect(lines.every((l) => l.trace === undefined)).toBe(true);
  });

  it("adds the transcript with --trace", async () => {
    const { stdout } = await mxray(["verify", "secure@tls.test", "--json", "--trace", ...worldArgs()]);
    const r = ResultSchema.parse(JSON.parse(stdout));
    expect(r.verdict).toBe("deliverable");
    expect(r.trace!.join("\n")).toMatch(/STARTTLS[\s\S]*TLS established[\s\S]*RCPT TO:<secure@tls\.test>/);
  });

  it("reads a CSV, finding its email column, and prints a table", async () => {
    const file = listFile("list.csv", "name,Email Address,company\nAlice,alice@ok.test,Acme\nNobody,nobody@ok.test,Acme\n");
    const { code, stdout } = await mxray(["verify", "--file", file, ...worldArgs()]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^EMAIL\s+VERDICT/);
    expect(stdout).toMatch(/alice@ok\.test\s+deliverable\s+accepted/);
    expect(stdout).toMatch(/nobody@ok\.test\s+undeliverable\s+mailbox_not_found/);
    expect(stdout).toMatch(/2 checked: 1 deliverable, 1 undeliverable/);
  });

  it("prints exactly one JSON line per non-blank line of a plain list, quotes literal (issue 9)", async () => {
    const file = listFile("list.txt", 'alice@ok.test\r\n"john doe"@ok.test\r\n\r\n"stray@ok.test\nALICE@ok.test\rnobody@ok.test\n"doe, john"@ok.test\nalice@ok.test\n');
    const { code, stdout } = await mxray(["verify", "--file", file, "--json", ...worldArgs()]);
    expect(code).toBe(0);
    const lines = stdout.trim().split("\n").map((l) => JSON.parse(l) as Result & { line: number });
    expect(lines.map((l) => l.line)).toEqual([1, 2, 4, 5, 6, 7, 8]); // input order, one line per non-blank line
    const by = new Map(lines.map((l) => [l.line, ResultSchema.parse(l)]));
    expect(by.get(4)).toMatchObject({ email: '"stray@ok.test', verdict: "undeliverable", reason: "invalid_syntax" });
    expect(by.get(2)!.email).toBe('"john doe"@ok.test');
    expect(by.get(7)!.email).toBe('"doe, john"@ok.test');
    // A repeated address repeats its result.
    expect(by.get(8)).toMatchObject({ email: "alice@ok.test", verdict: "deliverable" });
    expect(by.get(1)).toMatchObject({ verdict: "deliverable" });
  });

  it("gives a row without an address its own line with the reason, and exits 1", async () => {
    const file = listFile("gaps.csv", "name,email\nAlice,alice@ok.test\nBo,\n,,\n");
    const json = await mxray(["verify", "--file", file, "--json", ...worldArgs()]);
    expect(json.code).toBe(1);
    const lines = json.stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.line)).toEqual([2, 3, 4]); // rejects in their place, in input order
    expect(lines.filter((l) => l.error)).toEqual([
      { line: 3, input: "Bo,", error: { code: "no_address", message: expect.any(String) } },
      { line: 4, input: ",,", error: { code: "no_address", message: expect.any(String) } },
    ]);
    const text = await mxray(["verify", "--file", file, ...worldArgs()]);
    expect(text.code).toBe(1);
    const body = text.stdout.split("\n\n")[0]!.split("\n").slice(1); // the table's rows, header left out
    expect(body).toHaveLength(3);
    expect(body[0]).toMatch(/^alice@ok\.test\s+deliverable/);
    expect(body[1]).toMatch(/^Bo,\s+no result\s+no_address/);
    expect(text.stdout).toMatch(/1 checked: 1 deliverable; 2 without a result: 2 no_address/);
  });

  it("streams a file's JSON lines in input order, through a small window", async () => {
    const dir = scratchDir("cli");
    const file = join(dir, "list.txt");
    // The silent MX first: everything behind it is answered sooner, and must wait for it.
    const inputs = ["user@slowbanner.test", ...world.addresses.filter((a) => !/greylist|greyforever|slowbanner/.test(a))];
    writeFileSync(file, `${inputs.join("\n")}\n`);
    const { code, stdout } = await mxray(["verify", "--file", file, "--json", "--window", "4", ...worldArgs(), "--timeout", "500"]);
    expect(code).toBe(0);
    const lines = stdout.trim().split("\n").map((l) => ResultSchema.parse(JSON.parse(l)));
    expect(lines.map((l) => l.email)).toEqual(inputs);
  });

  it("does not contact a mail server on a private address unless MXRAY_ALLOW_PRIVATE_TARGETS=1 (issue 10)", async () => {
    const { MXRAY_ALLOW_PRIVATE_TARGETS: _, ...plain } = process.env;
    const before = world.stats().connections;
    const refused = await mxray(["verify", "alice@ok.test", "--json", "--trace", ...worldArgs()], plain);
    expect(refused.code).toBe(0);
    const r = ResultSchema.parse(JSON.parse(refused.stdout));
    expect(r).toMatchObject({ verdict: "unknown", reason: "private_target", mx: "mx.ok.test", smtp: null });
    expect(r.trace!.join("\n")).not.toMatch(/^S: /m); // no transcript: nothing was said to it
    expect(world.stats().connections).toBe(before);
    const bad = await mxray(["verify", "alice@ok.test", ...worldArgs()], { ...plain, MXRAY_ALLOW_PRIVATE_TARGETS: "yes" });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/MXRAY_ALLOW_PRIVATE_TARGETS/);
  });

  it("gives every address a budget by default, and says so in --help (issue 21)", async () => {
    const defaultBudget = DEFAULT_ENGINE_OPTIONS.greylistBudgetMs + BUDGET_MARGIN_MS;
    expect(verifyCall({}, {}).addressBudgetMs).toBe(defaultBudget);
    expect(verifyCall({}, { greylistBudgetMs: 10_000 }).addressBudgetMs).toBe(10_000 + BUDGET_MARGIN_MS);
    expect(verifyCall({ budget: "5000" }, {}).addressBudgetMs).toBe(5000);
    expect(() => verifyCall({ budget: "0" }, {})).toThrow(/--budget takes a positive whole number/);
    const out: string[] = [];
    const write = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => (out.push(String(chunk)), true));
    try {
      expect(await main(["help"])).toBe(0);
    } finally {
      write.mockRestore();
    }
    expect(out.join("")).toMatch(/--budget MS +the most one address may take/);
    expect(out.join("")).toContain(`so ${defaultBudget})`);
  });

  it("answers unknown within its budget when the mail server greets every connection with 421 (issue 21)", async () => {
    // Before: three addresses waited more than four minutes, reconnecting after every pause.
    const server = await scriptedServer({ banner: () => ({ text: "421 4.3.2 too busy\r\n", then: "close" }), reply: () => "250 Ok\r\n" });
    const zone = new Map([
      ["busy.test", { MX: [{ preference: 10, exchange: "mx.busy.test" }] }],
      ["mx.busy.test", { A: ["127.0.0.1"] }],
    ]);
    const dns = await startDns({ zone, servfail: new Set() }, 0);
    try {
      const budget = 5_000;
      const inputs = ["a@busy.test", "b@busy.test", "c@busy.test"];
      const { code, stdout } = await mxray(["verify", ...inputs, "--json", "--dns", `127.0.0.1:${dns.port}`, "--port", String(server.port), "--budget", String(budget)]);
      expect(code).toBe(0);
      const lines = stdout.trim().split("\n").map((l) => ResultSchema.parse(JSON.parse(l)));
      expect(lines.map((l) => l.email)).toEqual(inputs);
      for (const r of lines) {
        expect(r).toMatchObject({ verdict: "unknown", reason: "rate_limited", smtp: { code: 421 } });
        expect(r.duration_ms).toBeLessThan(budget);
      }
      expect(server.connections).toBeGreaterThan(0);
      expect(server.connections).toBeLessThanOrEqual(MAX_STALLED_SESSIONS);
    } finally {
      await server.close();
      await dns.close();
    }
  });

  it("answers usage errors with exit status 2 and a message", async () => {
    const none = await mxray(["verify"]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/at least one address/);
    const bad = await mxray(["verify", "a@b.test", "--concurrency", "zero"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--concurrency takes a positive whole number/);
    const missing = await mxray(["verify", "--file", "/nonexistent/list.csv"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read --file/);
    // `find` is routed to the API commands, which check the line before any request (issue 14).
    const find = await mxray(["find", "--name", "Ada Lovelace"]);
    expect(find.code).toBe(2);
    expect(find.stderr).toMatch(/^mxray: find needs --domain D/);
  });
});

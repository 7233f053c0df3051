// The single-file bundle a VPS runs (`npm run build:probe` → dist/mxray-probe.mjs) works on plain
// node, with no TypeScript loader and nothing else from the repository.
import { execFile } from "node:child_process";
import { copyFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ResultSchema } from "../core/contracts.ts";
import { startWorld, type World } from "../e2e/world/index.ts";
import { scratchDir } from "../e2e/scratch.ts";

const run = (cmd: string, args: string[], cwd?: string, env: NodeJS.ProcessEnv = process.env) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(cmd, args, { timeout: 120_000, cwd, env }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });

let world: World;
let bundle: string;
beforeAll(async () => {
  world = await startWorld();
  const built = await run(process.execPath, ["--import", "tsx", "probe/build.ts"]);
  expect(built.code).toBe(0);
  // Copied out of the repository so nothing can be resolved from node_modules.
  bundle = join(scratchDir("bundle"), "mxray-probe.mjs");
  copyFileSync("dist/mxray-probe.mjs", bundle);
}, 120_000);
afterAll(async () => {
  await world?.stop();
});

describe("dist/mxray-probe.mjs", () => {
  it("verifies addresses on plain node from outside the repository", async () => {
    const r = await run(process.execPath, [bundle, "verify", "alice@ok.test", "nobody@ok.test", "--json", "--dns", world.dnsServer, "--port", String(world.smtpPort)], tmpdir(), { ...process.env, MXRAY_ALLOW_PRIVATE_TARGETS: "1" }); // the world is on loopback
    expect(r.code).toBe(0);
    const results = r.stdout.trim().split("\n").map((l) => ResultSchema.parse(JSON.parse(l)));
    expect(Object.fromEntries(results.map((x) => [x.email, x.verdict]))).toEqual({
      "alice@ok.test": "deliverable",
      "nobody@ok.test": "undeliverable",
    });
  });
  it("keeps none of the API client's dependencies, and says where the API commands live", async () => {
    const text = readFileSync(bundle, "utf8");
    // esbuild marks each bundled module with its path.
    expect(text.match(/node_modules\/(openapi-fetch|openapi-typescript-helpers|ws)\//g)).toBeNull();
    const r = await run(process.execPath, [bundle, "jobs", "list"], tmpdir(), { ...process.env, MXRAY_API_URL: "http://127.0.0.1:9", MXRAY_API_KEY: "mx_test_x" });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not in the probe bundle; run it from the repository/);
  });
  it("is ASCII only, so V8 holds its source at one byte per character (probe/asciisource.ts)", () => {
    const text = readFileSync(bundle, "utf8");
    expect(text.length).toBeGreaterThan(1_000_000);
    expect(text.match(/[^\x00-\x7f]/g)).toBeNull();
  });
  it("refuses to serve without its configuration, naming what is missing", async () => {
    const r = await run(process.execPath, [bundle, "serve"], tmpdir());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/PROBE_SECRET/);
  });
});

// The committed document and types follow the routes, and the document passes Redocly's
// recommended rules with no warning.
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { DOCUMENT_PATH, REGENERATE, schemaTypes, servedDocumentText, TYPES_PATH } from "./document.ts";
import { scratchDir } from "../e2e/scratch.ts";

// Only the JobHub Durable Object needs workerd's module; the document never runs it.
vi.mock("cloudflare:workers", () => ({ DurableObject: class {} }));

const ROOT = join(import.meta.dirname, "..");

describe("client/openapi.json and client/schema.d.ts", () => {
  it("are the document the Worker serves and the types openapi-typescript makes of it", async () => {
    const served = await servedDocumentText();
    const committed = readFileSync(DOCUMENT_PATH, "utf8");
    expect(committed === served, `client/openapi.json differs from the routes' document: run \`${REGENERATE}\``).toBe(true);
    const types = readFileSync(TYPES_PATH, "utf8");
    expect(types === (await schemaTypes(committed)), `client/schema.d.ts is not what openapi-typescript makes of client/openapi.json: run \`${REGENERATE}\``).toBe(true);
  });

  it("passes `redocly lint` (recommended rules) with no error and no warning", async () => {
    const file = join(scratchDir("openapi"), "openapi.json");
    writeFileSync(file, await servedDocumentText());
    const out = await new Promise<string>((resolve) => {
      // lint exits non-zero on errors; the JSON report says everything either way.
      execFile(join(ROOT, "node_modules/.bin/redocly"), ["lint", file, "--config", join(ROOT, "redocly.yaml"), "--format=json"], { cwd: ROOT, timeout: 60_000 }, (_err, stdout) => resolve(stdout));
    });
    const report = JSON.parse(out) as { totals: { errors: number; warnings: number }; problems: { ruleId: string; message: string; location: { pointer: string }[] }[] };
    expect(report.problems.map((p) => `${p.ruleId} at ${p.location[0]?.pointer}: ${p.message}`)).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
  });
});

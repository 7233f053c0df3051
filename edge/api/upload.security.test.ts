// Hostile uploaders and API callers at the edge (issue 10), inside workerd: bodies over the cap on
// every path that takes one, sent chunked (no Content-Length) and never ending; CSV that used to
// stall the reader; cells that normalise short but are long raw; parallel single checks against
// few credits; and the dev API key outside local mode.
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { jobs } from "../../db/schema.ts";
import { MAX_API_JSON_BYTES } from "./middleware.ts";
import { call, errorCode, seedAccount, testDb as db } from "../testing.ts";

const CAP = 64 * 1024;
const capped: Env = { ...env, MXRAY_MAX_UPLOAD_BYTES: String(CAP) };
const CHUNK = 4096;

/** A body that starts with `head` and never ends, counting the bytes pulled from it. */
function endless(head: string, filler: string) {
  const state = { pulled: 0 };
  const head0 = new TextEncoder().encode(head);
  // Whole fillers only, so the body stays well formed however long it runs.
  const chunk = new TextEncoder().encode(filler.repeat(Math.floor(CHUNK / filler.length)));
  let first = true;
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(c) {
        const next = first ? head0 : chunk;
        first = false;
        state.pulled += next.byteLength;
        c.enqueue(next);
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, state };
}

describe("bodies over the cap, chunked and endless", () => {
  const multipartHead = (before: string) =>
    `--bnd\r\n${before}Content-Disposition: form-data; name="file"; filename="x.csv"\r\nContent-Type: text/csv\r\n\r\nemail\n`;
  const cases: { name: string; path: string; type: string; head: string; filler: string; limit: number }[] = [
    { name: "raw text", path: "/api/v1/jobs", type: "text/plain", head: "", filler: "someone@example.test\n", limit: CAP },
    { name: "raw CSV", path: "/api/v1/jobs", type: "text/csv", head: "name,email\n", filler: "Ann,ann@example.test\n", limit: CAP },
    { name: "multipart file", path: "/api/v1/jobs", type: "multipart/form-data; boundary=bnd", head: multipartHead(""), filler: "ann@example.test\n", limit: CAP },
    // Fields before the file, each under the field bound, in any number.
    { name: "multipart fields", path: "/api/v1/jobs", type: "multipart/form-data; boundary=bnd", head: "", filler: '--bnd\r\nContent-Disposition: form-data; name="x"\r\n\r\nvalue\r\n', limit: CAP },
    { name: "JSON list", path: "/api/v1/jobs", type: "application/json", head: '{"emails":[', filler: '"ann@example.test",', limit: CAP },
    { name: "single check", path: "/api/v1/verify", type: "application/json", head: '{"email":"', filler: "a", limit: MAX_API_JSON_BYTES },
  ];

  it.each(cases)("$name: 413 payload_too_large, having read no more than the cap and a chunk", async ({ path, type, head, filler, limit }) => {
    const { key, accountId } = await seedAccount();
    const { stream, state } = endless(head, filler);
    const res = await call(path, { method: "POST", key, body: stream, headers: { "content-type": type }, env: capped });
    expect([res.status, await errorCode(res)]).toEqual([413, "payload_too_large"]);
    expect(state.pulled).toBeGreaterThan(limit);
    expect(state.pulled).toBeLessThanOrEqual(limit + CHUNK + head.length);
    expect(await db().$count(jobs, eq(jobs.accountId, accountId))).toBe(0);
  });
});

// POST /api/v1/verify inside workerd: what needs no probe, and the errors. (A probe answering it
// is tested through the whole stack in e2e/stack.test.ts.)
import { describe, expect, it } from "vitest";
import type { Result } from "../../core/contracts.ts";
import { call, errorCode, seedAccount } from "../testing.ts";

const verify = (key: string, body: string, type = "application/json") => call("/api/v1/verify", { method: "POST", key, body, headers: { "content-type": type } });

describe("POST /api/v1/verify", () => {
  it("answers a bad address as a verdict, not an error, without a probe or a credit", async () => {
    const { key } = await seedAccount(0);
    const res = await verify(key, JSON.stringify({ email: "not an address" }));
    expect(res.status).toBe(200);
    expect((await res.json()) as Result).toMatchObject({ verdict: "undeliverable", reason: "invalid_syntax", score: 0 });
  });

  it("refuses malformed JSON, a wrong shape, and a check with no credit", async () => {
    const { key } = await seedAccount(0);
    const bad = await verify(key, "{\"email\":");
    expect([bad.status, await errorCode(bad)]).toEqual([400, "invalid_json"]);
    const shape = await verify(key, JSON.stringify({ address: "a@x.test" }));
    expect([shape.status, await errorCode(shape)]).toEqual([400, "validation_failed"]);
    const broke = await verify(key, JSON.stringify({ email: "ada@example.com" }));
    expect([broke.status, await errorCode(broke)]).toEqual([402, "insufficient_credits"]);
  });
});

import { describe, expect, it } from "vitest";
import { sign, verifySignature } from "./signing.ts";

describe("request signing", () => {
  const body = JSON.stringify({ hello: "world" });
  it("accepts its own signature with the current or the next secret", async () => {
    const header = await sign("s1", body, 1000);
    expect(await verifySignature(["s1", "s2"], header, body, 1000)).toEqual({ ok: true });
    expect(await verifySignature(["old", "s1"], header, body, 1000)).toEqual({ ok: true });
  });
  it("refuses a changed body, a wrong secret, a stale time and junk", async () => {
    const header = await sign("s1", body, 1000);
    expect(await verifySignature(["s1"], header, body + " ", 1000)).toEqual({ ok: false, error: "mismatch" });
    expect(await verifySignature(["s2"], header, body, 1000)).toEqual({ ok: false, error: "mismatch" });
    expect(await verifySignature(["s1"], header, body, 1000 + 301)).toEqual({ ok: false, error: "expired" });
    expect(await verifySignature(["s1"], "t=1000,v1=zz", body, 1000)).toEqual({ ok: false, error: "malformed" });
    expect(await verifySignature(["s1"], null, body, 1000)).toEqual({ ok: false, error: "missing" });
  });
});

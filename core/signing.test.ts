import { describe, expect, it } from "vitest";
import { sign, verifySignature } from "./signing.ts";
import { unboundV1Signature } from "./testing.ts";

describe("request signing", () => {
  const body = JSON.stringify({ hello: "world" });
  const route = { method: "POST", path: "/internal/probes/results" };
  it("accepts its own signature with the current or the next secret", async () => {
    const header = await sign("s1", route, body, 1000);
    expect(header).toMatch(/^t=1000,v2=[0-9a-f]{64}$/);
    expect(await verifySignature(["s1", "s2"], header, route, body, 1000)).toEqual({ ok: true });
    expect(await verifySignature(["old", "s1"], header, route, body, 1000)).toEqual({ ok: true });
  });
  it("refuses a changed body, a wrong secret, a stale time and junk", async () => {
    const header = await sign("s1", route, body, 1000);
    expect(await verifySignature(["s1"], header, route, body + " ", 1000)).toEqual({ ok: false, error: "mismatch" });
    expect(await verifySignature(["s2"], header, route, body, 1000)).toEqual({ ok: false, error: "mismatch" });
    expect(await verifySignature(["s1"], header, route, body, 1000 + 301)).toEqual({ ok: false, error: "expired" });
    expect(await verifySignature(["s1"], "t=1000,v2=zz", route, body, 1000)).toEqual({ ok: false, error: "malformed" });
    expect(await verifySignature(["s1"], null, route, body, 1000)).toEqual({ ok: false, error: "missing" });
  });
  it("is bound to the method and the route: a signed request does not verify for another", async () => {
    const header = await sign("s1", route, body, 1000);
    expect(await verifySignature(["s1"], header, { method: "POST", path: "/internal/probes/heartbeat" }, body, 1000)).toEqual({ ok: false, error: "mismatch" });
    expect(await verifySignature(["s1"], header, { method: "PUT", path: route.path }, body, 1000)).toEqual({ ok: false, error: "mismatch" });
    // Bytes cannot move between a path (which may hold dots) and the body.
    const shifted = await sign("s1", { method: "POST", path: "/a" }, "b.{}", 1000);
    expect(await verifySignature(["s1"], shifted, { method: "POST", path: "/a.b" }, "{}", 1000)).toEqual({ ok: false, error: "mismatch" });
  });
  it("refuses the unbound v1 form, even when its MAC is right", async () => {
    const v1 = await unboundV1Signature("s1", body, 1000);
    expect(await verifySignature(["s1"], v1, route, body, 1000)).toEqual({ ok: false, error: "outdated" });
  });
});

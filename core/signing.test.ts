import { describe, expect, it } from "vitest";
import { bodyHash, bodyMatches, checkSignatureHeader, NonceMemory, nonceExpiresAtS, sign, verifySignature } from "./signing.ts";
import { unboundV1Signature } from "./testing.ts";

const body = JSON.stringify({ hello: "world" });
const route = { method: "POST", path: "/internal/probes/results" };

/** The v2 form (bound to method and route, without nonce or body hash) that v3 replaced. */
async function v2Signature(secret: string, text: string, nowS: number): Promise<string> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${nowS}\nPOST\n${route.path}\n${text}`)));
  return `t=${nowS},v2=${Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

describe("request signing", () => {
  it("accepts its own signature with the current or the next secret", async () => {
    const header = await sign("s1", route, body, 1000);
    expect(header).toMatch(/^t=1000,n=[A-Za-z0-9_-]{22},b=[A-Za-z0-9_-]{43},v3=[0-9a-f]{64}$/);
    expect(await verifySignature(["s1", "s2"], header, route, body, 1000)).toEqual({ ok: true });
    expect(await verifySignature(["old", "s1"], header, route, body, 1000)).toEqual({ ok: true });
  });

  it("refuses a changed body, a wrong secret, a stale time and junk", async () => {
    const header = await sign("s1", route, body, 1000);
    expect(await verifySignature(["s1"], header, route, body + " ", 1000)).toEqual({ ok: false, error: "mismatch" });
    expect(await verifySignature(["s2"], header, route, body, 1000)).toEqual({ ok: false, error: "mismatch" });
    expect(await verifySignature(["s1"], header, route, body, 1000 + 301)).toEqual({ ok: false, error: "expired" });
    expect(await verifySignature(["s1"], "t=1000,n=abcdefghijklmnop,b=x,v3=zz", route, body, 1000)).toEqual({ ok: false, error: "malformed" });
    expect(await verifySignature(["s1"], header.replace(/,n=[^,]+/, ""), route, body, 1000)).toEqual({ ok: false, error: "malformed" });
    expect(await verifySignature(["s1"], null, route, body, 1000)).toEqual({ ok: false, error: "missing" });
  });

  it("is bound to the method and the route: a signed request does not verify for another", async () => {
    const header = await sign("s1", route, body, 1000);
    expect(await verifySignature(["s1"], header, { method: "POST", path: "/internal/probes/heartbeat" }, body, 1000)).toEqual({ ok: false, error: "mismatch" });
    expect(await verifySignature(["s1"], header, { method: "PUT", path: route.path }, body, 1000)).toEqual({ ok: false, error: "mismatch" });
  });

  it("is bound to its audience when it names one: a check signed for one probe does not verify at another", async () => {
    const toA = { method: "POST", path: "/v1/verify", audience: "prb_a" };
    const header = await sign("s1", toA, body, 1000);
    expect(await verifySignature(["s1"], header, toA, body, 1000)).toEqual({ ok: true });
    expect(await verifySignature(["s1"], header, { ...toA, audience: "prb_b" }, body, 1000)).toEqual({ ok: false, error: "mismatch" });
    expect(await verifySignature(["s1"], header, { method: "POST", path: "/v1/verify" }, body, 1000)).toEqual({ ok: false, error: "mismatch" });
    expect(await verifySignature(["s1"], await sign("s1", { method: "POST", path: "/v1/verify" }, body, 1000), toA, body, 1000)).toEqual({ ok: false, error: "mismatch" });
  });

  it("binds the nonce and the body's hash: swapping either in a captured header fails the MAC", async () => {
    const header = await sign("s1", route, body, 1000, "nonce-one-0123456789");
    const otherNonce = header.replace("n=nonce-one-0123456789", "n=nonce-two-0123456789");
    expect(await verifySignature(["s1"], otherNonce, route, body, 1000)).toEqual({ ok: false, error: "mismatch" });
    const otherHash = header.replace(/b=[^,]+/, `b=${await bodyHash("{}")}`);
    expect(await verifySignature(["s1"], otherHash, route, "{}", 1000)).toEqual({ ok: false, error: "mismatch" });
  });

  it("refuses the older forms (unbound v1, v2 without nonce), even when their MAC is right", async () => {
    expect(await verifySignature(["s1"], await unboundV1Signature("s1", body, 1000), route, body, 1000)).toEqual({ ok: false, error: "outdated" });
    expect(await verifySignature(["s1"], await v2Signature("s1", body, 1000), route, body, 1000)).toEqual({ ok: false, error: "outdated" });
  });

  it("gives a new nonce to every signature, even of the same request in the same second", async () => {
    const a = await sign("s1", route, body, 1000);
    const b = await sign("s1", route, body, 1000);
    expect(a).not.toBe(b);
  });
});

describe("checkSignatureHeader (before the body)", () => {
  it("vouches for the sender from the headers alone; the body is then held to the hash", async () => {
    const header = await sign("s1", route, body, 1000);
    const checked = await checkSignatureHeader(["s1"], header, route, { nowS: 1000 });
    expect(checked.ok).toBe(true);
    if (!checked.ok) return;
    expect(checked.signed.t).toBe(1000);
    expect(await bodyMatches(checked.signed, new TextEncoder().encode(body))).toBe(true);
    expect(await bodyMatches(checked.signed, "{}")).toBe(false);
    expect(nonceExpiresAtS(checked.signed)).toBe(1300);
  });

  it("refuses a forged MAC before any body exists", async () => {
    const header = (await sign("s1", route, body, 1000)).replace(/v3=[0-9a-f]+/, `v3=${"0".repeat(64)}`);
    expect(await checkSignatureHeader(["s1"], header, route, { nowS: 1000 })).toEqual({ ok: false, error: "mismatch" });
  });

  it("honours the window on either side of the clock", async () => {
    const header = await sign("s1", route, body, 1000);
    expect((await checkSignatureHeader(["s1"], header, route, { nowS: 700 })).ok).toBe(true);
    expect(await checkSignatureHeader(["s1"], header, route, { nowS: 699 })).toEqual({ ok: false, error: "expired" });
    expect(await checkSignatureHeader(["s1"], header, route, { nowS: 1301 })).toEqual({ ok: false, error: "expired" });
  });
});

describe("NonceMemory", () => {
  it("takes a nonce once within its window and again only after it closed", () => {
    const memory = new NonceMemory(10);
    expect(memory.claim("n1", 1300, 1000)).toBe("fresh");
    expect(memory.seen("n1", 1000)).toBe(true);
    expect(memory.claim("n1", 1300, 1299)).toBe("replayed");
    expect(memory.claim("n2", 1300, 1000)).toBe("fresh");
    expect(memory.seen("n1", 1301)).toBe(false);
  });

  it("when full of nonces still in their window, refuses new ones instead of forgetting any", () => {
    const memory = new NonceMemory(2);
    expect(memory.claim("a", 1300, 1000)).toBe("fresh");
    expect(memory.claim("b", 1400, 1000)).toBe("fresh");
    expect(memory.claim("c", 1300, 1000)).toBe("full");
    expect(memory.claim("a", 1300, 1000)).toBe("replayed");
    // Once "a" has expired, its room is reused; "b" is still remembered.
    expect(memory.claim("c", 1350, 1301)).toBe("fresh");
    expect(memory.claim("b", 1400, 1301)).toBe("replayed");
    expect(memory.size).toBe(2);
  });
});

import { Receiver } from "@upstash/qstash";
import { describe, expect, it } from "vitest";
import { checkQstashHeader, signQstash } from "./qstash.ts";

const CURRENT = "sig_current_key_for_tests";
const NEXT = "sig_next_key_for_tests";
const URL = "https://probe.example.test/v1/batches";
const BODY = JSON.stringify({ batch_id: "bat_1", job_id: "job_1", emails: ["a@b.test"] });

const receiver = new Receiver({ currentSigningKey: CURRENT, nextSigningKey: NEXT, devMode: false });

async function accepts(signature: string, body = BODY, url = URL): Promise<boolean> {
  return receiver.verify({ signature, body, url }).then(
    () => true,
    () => false,
  );
}

describe("signQstash", () => {
  it("is accepted by the real Receiver with the current key", async () => {
    expect(await accepts(await signQstash({ signingKey: CURRENT, url: URL, body: BODY }))).toBe(true);
  });

  it("is accepted when signed with the next key (rotation)", async () => {
    expect(await accepts(await signQstash({ signingKey: NEXT, url: URL, body: BODY }))).toBe(true);
  });

  it("carries the claims QStash sends", async () => {
    const token = await signQstash({ signingKey: CURRENT, url: URL, body: BODY, nowS: 1_000, ttlS: 60 });
    const claims = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString("utf8"));
    expect(claims).toMatchObject({ iss: "Upstash", sub: URL, iat: 1_000, nbf: 1_000, exp: 1_060 });
    expect(typeof claims.jti).toBe("string");
  });

  it("is rejected for a tampered body", async () => {
    const sig = await signQstash({ signingKey: CURRENT, url: URL, body: BODY });
    expect(await accepts(sig, BODY.replace("a@b.test", "x@b.test"))).toBe(false);
  });

  it("is rejected for another destination URL", async () => {
    const sig = await signQstash({ signingKey: CURRENT, url: URL, body: BODY });
    expect(await accepts(sig, BODY, "https://other.example.test/v1/batches")).toBe(false);
  });

  it("is rejected once expired", async () => {
    const longAgo = Math.floor(Date.now() / 1000) - 3_600;
    const sig = await signQstash({ signingKey: CURRENT, url: URL, body: BODY, nowS: longAgo, ttlS: 60 });
    expect(await accepts(sig)).toBe(false);
  });

  it("is rejected when signed with an unknown key", async () => {
    expect(await accepts(await signQstash({ signingKey: "not-ours", url: URL, body: BODY }))).toBe(false);
  });
});

describe("checkQstashHeader (before the body)", () => {
  const keys = [CURRENT, NEXT];
  const T = 1_000_000;
  const check = (token: string | undefined, url = URL, nowS = T + 1) => checkQstashHeader(keys, token, url, nowS);

  it("passes what QStash signs, with either key, without the body", async () => {
    expect(await check(await signQstash({ signingKey: CURRENT, url: URL, body: BODY, nowS: T }))).toEqual({ ok: true });
    expect(await check(await signQstash({ signingKey: NEXT, url: URL, body: "anything", nowS: T }))).toEqual({ ok: true });
  });

  it("refuses a missing, malformed, foreign-key, other-URL or expired token", async () => {
    expect(await check(undefined)).toEqual({ ok: false, error: "missing" });
    expect(await check("not.a-jwt")).toEqual({ ok: false, error: "malformed" });
    expect(await check("a.b.c")).toEqual({ ok: false, error: "malformed" });
    expect(await check(await signQstash({ signingKey: "not-ours", url: URL, body: BODY, nowS: T }))).toEqual({ ok: false, error: "mismatch" });
    expect(await check(await signQstash({ signingKey: CURRENT, url: "https://other.example.test/v1/batches", body: BODY, nowS: T }))).toEqual({ ok: false, error: "wrong_url" });
    const sig = await signQstash({ signingKey: CURRENT, url: URL, body: BODY, nowS: T, ttlS: 60 });
    expect(await check(sig, URL, T + 60)).toEqual({ ok: false, error: "expired" });
    expect(await check(sig, URL, T - 1)).toEqual({ ok: false, error: "expired" }); // before nbf
  });

  it("refuses claims changed after signing", async () => {
    const [head, claims, mac] = (await signQstash({ signingKey: CURRENT, url: "https://other.example.test/v1/batches", body: BODY, nowS: T })).split(".");
    const moved = { ...JSON.parse(Buffer.from(claims!, "base64url").toString("utf8")), sub: URL };
    expect(await check(`${head}.${Buffer.from(JSON.stringify(moved)).toString("base64url")}.${mac}`)).toEqual({ ok: false, error: "mismatch" });
  });

  it("never refuses a token the Receiver accepts (the Receiver still has the last word, on the body)", async () => {
    const sig = await signQstash({ signingKey: NEXT, url: URL, body: BODY });
    expect(await accepts(sig)).toBe(true);
    expect(await checkQstashHeader(keys, sig, URL)).toEqual({ ok: true });
  });
});

import { Receiver } from "@upstash/qstash";
import { describe, expect, it } from "vitest";
import { signQstash } from "./qstash.ts";

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

import { describe, expect, it } from "vitest";
import { checkRecipientToken, recipientToken, tokenFromVerp, tokenRecipientId, verpAddress } from "./unsubscribe.ts";

const ref = { accountId: "acc_1", campaignId: "cmp_1", recipientId: 123_456_789 };

describe("recipient tokens", () => {
  it("name their recipient, open only for the same account, campaign and row, and survive a secret rotation", async () => {
    const token = await recipientToken("secret-a", ref);
    expect(token).toMatch(/^[0-9a-z]+-[0-9a-f]{20}$/);
    expect(tokenRecipientId(token)).toBe(ref.recipientId);
    expect(await checkRecipientToken(["secret-a"], token, ref)).toBe(true);
    expect(await checkRecipientToken(["secret-b", "secret-a"], token, ref)).toBe(true);
    expect(await checkRecipientToken(["secret-b"], token, ref)).toBe(false);
    expect(await checkRecipientToken(["secret-a"], token, { ...ref, campaignId: "cmp_2" })).toBe(false);
    expect(await checkRecipientToken(["secret-a"], token, { ...ref, accountId: "acc_2" })).toBe(false);
    expect(await checkRecipientToken(["secret-a"], token, { ...ref, recipientId: 7 })).toBe(false);
    expect(await checkRecipientToken(["secret-a"], `${token.slice(0, -1)}0`, ref)).toBe(token.endsWith("0"));
    expect(tokenRecipientId("not a token")).toBeNull();
  });

  it("fit a VERP local part (at most 64 octets) and read back from it whatever the case", async () => {
    const token = await recipientToken("s", { ...ref, recipientId: Number.MAX_SAFE_INTEGER });
    const verp = verpAddress(token, "bounce.example.com");
    expect(verp.split("@")[0]!.length).toBeLessThanOrEqual(64);
    expect(tokenFromVerp(verp.toUpperCase())).toBe(token);
    expect(tokenFromVerp("someone@example.com")).toBeNull();
  });
});

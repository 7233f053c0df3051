import { describe, expect, it } from "vitest";
import { readToken, signToken } from "./signedtoken.ts";

describe("signed tokens", () => {
  it("give back their claims, any text included, only for the same secret and purpose", async () => {
    const token = await signToken("secret-one", "session", { u: "usr_1", m: "zoë@example.com" });
    expect(await readToken("secret-one", "session", token)).toEqual({ u: "usr_1", m: "zoë@example.com" });
    expect(await readToken("secret-two", "session", token)).toBeNull();
    expect(await readToken("secret-one", "live-token", token)).toBeNull();
  });

  it("refuse changed claims and malformed tokens", async () => {
    const [, sig] = (await signToken("s", "p", { a: 1 })).split(".");
    const other = (await signToken("s", "p", { a: 2 })).split(".")[0];
    expect(await readToken("s", "p", `${other}.${sig}`)).toBeNull();
    for (const bad of ["", ".", "abc", `abc.${sig!.slice(1)}`, `!!!.${sig}`]) expect(await readToken("s", "p", bad)).toBeNull();
  });
});

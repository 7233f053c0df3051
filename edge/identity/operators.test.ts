// Who is a platform operator: named in MXRAY_ADMIN_EMAILS, or by Clerk's public metadata.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ConfigSchema } from "../config.ts";
import { clerkOperator, isOperator } from "./operators.ts";

describe("isOperator", () => {
  it("matches MXRAY_ADMIN_EMAILS case-insensitively, and nobody when it is unset", () => {
    const config = ConfigSchema.parse({ ...env, MXRAY_ADMIN_EMAILS: " Operator@MXRay.test, ops@mxray.test ,," });
    expect(config.MXRAY_ADMIN_EMAILS).toEqual(["operator@mxray.test", "ops@mxray.test"]);
    expect(isOperator(config, "OPERATOR@mxray.test")).toBe(true);
    expect(isOperator(config, "ops@mxray.test")).toBe(true);
    expect(isOperator(config, "someone@mxray.test")).toBe(false);
    expect(isOperator(config, "")).toBe(false);
    const none = ConfigSchema.parse({ ...env, MXRAY_ADMIN_EMAILS: undefined });
    expect(isOperator(none, "operator@mxray.test")).toBe(false);
  });
});

describe("Clerk", () => {
  it("names an operator by the session token's public metadata, and nobody without it", () => {
    const config = ConfigSchema.parse({ ...env, MXRAY_ADMIN_EMAILS: undefined });
    expect(isOperator(config, "ada@acme.test", clerkOperator({ metadata: { role: "operator" } }))).toBe(true);
    for (const claims of [{}, { metadata: { role: "admin" } }, { metadata: "operator" }, { role: "operator" }]) {
      expect(isOperator(config, "ada@acme.test", clerkOperator(claims))).toBe(false);
    }
  });
});

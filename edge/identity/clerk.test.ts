// A Clerk session's sign-in, inside workerd against the real sqld: Clerk sends no webhook for it,
// so the first request of a session id is audited as the sign-in, once, also across isolates.
// (Clerk's webhooks and the session's organization are in edge/api/clerk_webhook.test.ts.)
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { newId } from "../../core/ids.ts";
import { accounts, auditLog, members } from "../../db/schema.ts";
import { testServices } from "../testing.ts";
import { auditClerkSignIn } from "./clerk.ts";

const T0 = Date.UTC(2026, 10, 30, 9, 0, 0);
const request = { ip: "127.0.0.1", userAgent: "test", requestId: "req_clerk" };

describe("a Clerk session's sign-in", () => {
  it("is audited once, also when another isolate already did", async () => {
    const s = testServices({ request });
    const accountId = newId("acc");
    const ada = { id: "usr_ada@acme.test", email: "ada@acme.test" };
    await s.db.insert(accounts).values({ id: accountId, name: "Ada", kind: "personal", creditBalance: 0 });
    await s.db.insert(members).values({ accountId, userId: ada.id, email: ada.email, role: "owner" });
    const who = { accountId, actor: ada.id };
    await auditClerkSignIn(s, who, { email: ada.email, sessionId: "sess_one" }, T0);
    await auditClerkSignIn(s, who, { email: ada.email, sessionId: "sess_one" }, T0 + 1_000);
    // Recorded by another isolate (this one never saw the session): the database says it was.
    await s.db.insert(auditLog).values({ accountId, actor: ada.id, action: "sign_in.succeeded", target: "sess_other", createdAt: T0 });
    await auditClerkSignIn(s, who, { email: ada.email, sessionId: "sess_other" }, T0 + 2_000);
    await auditClerkSignIn(s, who, { email: ada.email, sessionId: "sess_two" }, T0 + 3_000);
    const audit = await s.db.select().from(auditLog).where(eq(auditLog.accountId, accountId));
    expect(audit.map((e) => [e.action, e.target, e.createdAt])).toEqual([
      ["sign_in.succeeded", "sess_one", T0],
      ["sign_in.succeeded", "sess_other", T0],
      ["sign_in.succeeded", "sess_two", T0 + 3_000],
    ]);
    expect(JSON.parse(audit[0]!.detail!)).toEqual({ method: "clerk", email: ada.email });
    expect(audit[0]!.requestId).toBe("req_clerk");
  });
});

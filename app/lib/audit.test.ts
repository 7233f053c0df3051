// The audit log's words for the bounces' actions (issue 24): what a person reads on /audit and in
// its CSV, from the detail the edge records (never a password), and the filter's groups.
import { describe, expect, it } from "vitest";
import { AUDIT_ACTIONS } from "./audit.server.ts";
import { actionWords, AUDIT_ACTION_WORDS, AUDIT_GROUPS, auditFilter, describe as line } from "./audit.ts";

describe("audit lines of bounces", () => {
  it("says which mailbox, what changed, how a test ended, what a refund gave back and how the settings moved", () => {
    const created = { name: "Bounces at Fastmail", host: "imap.fastmail.com", port: 993, security: "tls", username: "bounces@news.example.com", folder: "INBOX", processed_folder: "mxray-processed" };
    expect(line({ action: "bounce_mailbox.created", detail: created })).toBe("Bounces at Fastmail, bounces@news.example.com on imap.fastmail.com");
    expect(line({ action: "bounce_mailbox.deleted", detail: { name: "Old", host: "imap.x.test", username: "b" } })).toBe("Old, b on imap.x.test");
    expect(line({ action: "bounce_mailbox.updated", detail: { host: "imap2.x.test", password: "set", cursor_reset: true } })).toBe("host, password; read again from the start");
    expect(line({ action: "bounce_mailbox.updated", detail: { processed_folder: null } })).toBe("processed_folder");
    expect(line({ action: "bounce_mailbox.tested", detail: { ok: true, stage: "done" } })).toBe("signed in and opened the folder");
    expect(line({ action: "bounce_mailbox.tested", detail: { ok: false, stage: "auth" } })).toBe("failed at auth");
    expect(line({ action: "bounce.refunded", detail: { bounce_id: "bnc_1", email: "ada@x.test", status: "5.1.1", source: "imap" } })).toBe("1 credit back: ada@x.test bounced (5.1.1) after a deliverable verdict");
    expect(line({ action: "bounce_settings.updated", detail: { before: { soft_threshold: 3, soft_reset_days: 30 }, after: { soft_threshold: 2.5, soft_reset_days: 30 } } })).toBe("suppress at 2.5 (was 3)");
    expect(line({ action: "bounce_settings.updated", detail: { before: { soft_threshold: 3, soft_reset_days: 30 }, after: { soft_threshold: 3, soft_reset_days: 14 } } })).toBe("start over after 14 days (was 30)");
  });

  it("offers each bounce object as its own filter, which the page passes on", () => {
    for (const prefix of ["bounce_mailbox.", "bounce.", "bounce_settings."]) {
      expect(AUDIT_GROUPS.some((g) => g.prefix === prefix)).toBe(true);
      expect(auditFilter(new URLSearchParams({ action: prefix }))).toEqual({ action: prefix });
    }
  });
});

describe("audit lines of the sending rules", () => {
  it("says which rules moved, from what", () => {
    const before = { risky: "refuse", catch_all: "risky", disposable: "risky", role: "allow", free: "allow", min_score: 0 };
    expect(line({ action: "rules.updated", detail: { before, after: { ...before, free: "refuse", min_score: 50 } } })).toBe("free: refuse (was allow), min_score: 50 (was 0)");
    expect(line({ action: "rules.updated", detail: { before, after: before } })).toBe("unchanged");
    expect(auditFilter(new URLSearchParams({ action: "rules." }))).toEqual({ action: "rules." });
  });
});

describe("audit lines of API keys", () => {
  it("names a secret key's mode, and a publishable key's origins", () => {
    expect(line({ action: "api_key.created", detail: { name: "CRM sync", mode: "live" } })).toBe("CRM sync, live");
    expect(line({ action: "api_key.created", detail: { name: "Sign-up form", mode: "live", kind: "publishable", origins: ["https://shop.example", "https://*.shop.example"] } }))
      .toBe("Sign-up form, publishable for https://shop.example https://*.shop.example");
  });
});

describe("audit lines of retention and erasure", () => {
  it("says what the setting was and became, and what an erasure found, never the address", () => {
    expect(line({ action: "retention.updated", detail: { before: null, after: 30 } })).toBe("results kept 30 days (was until deleted)");
    expect(line({ action: "retention.updated", detail: { before: 7, after: null } })).toBe("results kept until deleted (was 7 days)");
    const removed = { results: 3, unanswered: 0, campaign_recipients: 1, bounces: 0, soft_bounce_scores: 0, webhook_events: 0, cached_checks: 1, idempotency_records: 0 };
    expect(line({ action: "address.erased", detail: { removed, suppressed: true } })).toBe("3 results, 1 campaign recipients, 1 cached checks; still suppressed, as its hash");
    expect(line({ action: "address.erased", detail: { removed: { results: 0 }, suppressed: false } })).toBe("nothing left to remove");
    for (const prefix of ["retention.", "address."]) expect(auditFilter(new URLSearchParams({ action: prefix }))).toEqual({ action: prefix });
  });
});

describe("audit actions in words (issue 26)", () => {
  it("has distinct words for every action the edge records, none of them a code", () => {
    const words = AUDIT_ACTIONS.map((a) => AUDIT_ACTION_WORDS[a]);
    expect(words.every((w) => typeof w === "string" && /^[A-Z][^._]*$/.test(w))).toBe(true);
    expect(new Set(words).size).toBe(AUDIT_ACTIONS.length);
    expect(Object.keys(AUDIT_ACTION_WORDS).sort()).toEqual([...AUDIT_ACTIONS].sort());
    expect(actionWords("api_key.created")).toBe("API key created");
    // An action this build does not know (a newer edge's) stays its code rather than vanishing.
    expect(actionWords("thing.happened")).toBe("thing.happened");
  });
});

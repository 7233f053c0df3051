import { describe, expect, it } from "vitest";
import { classifyBounce, contradictsDeliverable, normalizeStatus, statusCategory, statusInText } from "./bounces.ts";

describe("enhanced status codes (RFC 3463)", () => {
  it("normalises and finds them in free text", () => {
    expect(normalizeStatus(" 5.01.001 ")).toBe("5.1.1");
    expect(normalizeStatus("550")).toBeNull();
    expect(statusInText("smtp; 550 5.1.1 <a@b.example>: Recipient address rejected")).toBe("5.1.1");
    expect(statusInText("smtp;550-5.7.26 Unauthenticated email")).toBe("5.7.26");
    expect(statusInText("version 10.2.3 of the thing")).toBeNull();
    expect(statusInText(null)).toBeNull();
  });

  it("names what failed", () => {
    expect(statusCategory("5.1.1")).toBe("mailbox");
    expect(statusCategory("5.1.10")).toBe("mailbox");
    expect(statusCategory("5.1.8")).toBe("policy"); // the sender's address
    expect(statusCategory("5.2.2")).toBe("mailbox_full");
    expect(statusCategory("5.7.1")).toBe("policy");
    expect(statusCategory("4.4.7")).toBe("system");
    expect(statusCategory(null)).toBe("other");
  });
});

describe("classifyBounce", () => {
  it("tells hard from soft by action and class", () => {
    expect(classifyBounce("failed", "5.1.1")).toEqual({ kind: "hard", category: "mailbox" });
    expect(classifyBounce("delayed", "4.4.1")).toEqual({ kind: "soft", category: "system" });
    expect(classifyBounce("failed", "4.4.7")).toEqual({ kind: "soft", category: "system" });
    expect(classifyBounce("failed", "5.7.1")).toEqual({ kind: "hard", category: "policy" });
    expect(classifyBounce("failed", null)).toEqual({ kind: "hard", category: "other" });
    expect(classifyBounce(null, null)).toEqual({ kind: "unclassified", category: "other" });
  });

  it("treats a full mailbox as soft, and successes as no bounce", () => {
    expect(classifyBounce("failed", "5.2.2")).toEqual({ kind: "soft", category: "mailbox_full" });
    expect(classifyBounce("delivered", "2.0.0")).toBeNull();
    expect(classifyBounce("relayed", null)).toBeNull();
    expect(classifyBounce(null, "2.1.5")).toBeNull();
  });
});

describe("contradictsDeliverable", () => {
  it("only for hard 5.1.x mailbox bounces", () => {
    expect(contradictsDeliverable("hard", "5.1.1")).toBe(true);
    expect(contradictsDeliverable("hard", "5.1.10")).toBe(true);
    expect(contradictsDeliverable("hard", "5.7.1")).toBe(false);
    expect(contradictsDeliverable("hard", "5.1.8")).toBe(false);
    expect(contradictsDeliverable("soft", "5.1.1")).toBe(false);
    expect(contradictsDeliverable("complaint", null)).toBe(false);
    expect(contradictsDeliverable("hard", null)).toBe(false);
  });
});

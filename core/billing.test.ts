// Prices per credit, the saving between packs, and when the balance is "low" (issue 26).
import { describe, expect, it } from "vitest";
import { balanceNotice, formatPerCredit, LOW_BALANCE_FLOOR, PRODUCTS, savingPercent, USE_SAMPLE_LIMIT, WEEK_MS, weekOfUse, type BalanceStanding } from "./billing.ts";

describe("price per credit and saving", () => {
  it("shows each default pack's price per credit and its saving over the smallest pack", () => {
    const packs = PRODUCTS.filter((p) => p.kind === "pack").map((p) => ({ amount: p.defaultCents, currency: "usd", credits: p.credits }));
    const base = packs[0]!;
    expect(packs.map((p) => formatPerCredit(p.amount, p.currency, p.credits))).toEqual(["$0.0010", "$0.0008", "$0.0006", "$0.0005"]);
    expect(packs.map((p) => savingPercent(base, p))).toEqual([null, 20, 40, 50]);
  });

  it("rounds a saving down, and claims none when a pack is dearer, free or in another currency", () => {
    expect(savingPercent({ amount: 1000, currency: "usd", credits: 10_000 }, { amount: 2999, currency: "usd", credits: 30_000 })).toBe(null);
    expect(savingPercent({ amount: 1000, currency: "usd", credits: 10_000 }, { amount: 2969, currency: "usd", credits: 30_000 })).toBe(1);
    expect(savingPercent({ amount: 1000, currency: "usd", credits: 10_000 }, { amount: 6000, currency: "usd", credits: 50_000 })).toBe(null);
    expect(savingPercent({ amount: 0, currency: "usd", credits: 10_000 }, { amount: 100, currency: "usd", credits: 50_000 })).toBe(null);
    expect(savingPercent({ amount: 1000, currency: "usd", credits: 10_000 }, { amount: 100, currency: "eur", credits: 50_000 })).toBe(null);
    expect(formatPerCredit(1_900, "eur", 20_000)).toBe("€0.00095");
  });
});

const NOW = Date.UTC(2025, 5, 10, 12);
const standing = (over: Partial<BalanceStanding>): BalanceStanding => ({ balance: 0, bought: false, lastJob: null, week: { entries: 0, used: 0, since: null }, autoTopUpBelow: null, ...over });

describe("balanceNotice", () => {
  it("says nothing to a new account after a small first list (100 free credits, 37 used)", () => {
    expect(balanceNotice(standing({ balance: 63, lastJob: 37, week: { entries: 1, used: 37, since: NOW - 60_000 } }), NOW)).toBeNull();
    // Nor before its first list.
    expect(balanceNotice(standing({ balance: 100 }), NOW)).toBeNull();
  });

  it("tells an account on free credits calmly when they would not cover its usual list", () => {
    expect(balanceNotice(standing({ balance: 26, lastJob: 37, week: { entries: 2, used: 74, since: NOW - 60_000 } }), NOW)).toEqual({ kind: "free", balance: 26, need: 74 });
  });

  it("says the balance is empty at zero or below, whoever the account is", () => {
    expect(balanceNotice(standing({ balance: 0 }), NOW)).toEqual({ kind: "empty", balance: 0 });
    expect(balanceNotice(standing({ balance: -40, bought: true, autoTopUpBelow: 100 }), NOW)).toEqual({ kind: "empty", balance: -40 });
  });

  it("warns a paying account below the largest of the floor, its last list and its week of use", () => {
    const paid = (balance: number, lastJob: number | null, used: number) => balanceNotice(standing({ balance, bought: true, lastJob, week: { entries: 3, used, since: NOW - 86_400_000 } }), NOW);
    expect(paid(99, null, 0)).toEqual({ kind: "low", balance: 99, need: LOW_BALANCE_FLOOR, because: "floor" });
    expect(paid(100, null, 0)).toBeNull();
    expect(paid(4_000, 5_000, 1_000)).toEqual({ kind: "low", balance: 4_000, need: 5_000, because: "last_job" });
    expect(paid(4_000, 500, 12_000)).toEqual({ kind: "low", balance: 4_000, need: 12_000, because: "week" });
    expect(paid(20_000, 5_000, 12_000)).toBeNull();
  });

  it("takes auto top-up's threshold as the line while it is on", () => {
    const on = (balance: number) => balanceNotice(standing({ balance, bought: true, lastJob: 50_000, autoTopUpBelow: 1_000 }), NOW);
    expect(on(1_000)).toBeNull();
    expect(on(999)).toEqual({ kind: "low", balance: 999, need: 1_000, because: "auto_topup" });
  });
});

describe("weekOfUse", () => {
  it("is the week's net spending, never below zero", () => {
    expect(weekOfUse({ entries: 3, used: 120, since: NOW - 3_600_000 }, NOW)).toBe(120);
    expect(weekOfUse({ entries: 1, used: -5, since: NOW - 3_600_000 }, NOW)).toBe(0);
  });

  it("carries a cut sample's rate over the week", () => {
    // USE_SAMPLE_LIMIT checks in the last day: about seven times as many in a week.
    expect(weekOfUse({ entries: USE_SAMPLE_LIMIT, used: USE_SAMPLE_LIMIT, since: NOW - 86_400_000 }, NOW)).toBe(USE_SAMPLE_LIMIT * 7);
    expect(weekOfUse({ entries: USE_SAMPLE_LIMIT, used: USE_SAMPLE_LIMIT, since: NOW - WEEK_MS }, NOW)).toBe(USE_SAMPLE_LIMIT);
  });
});

import { describe, expect, it } from "vitest";
import { isDisposable, isFree, isRole } from "./lists.ts";

describe("lists", () => {
  it("knows disposable services, their subdomains, and nothing else", () => {
    expect(isDisposable("mailinator.com")).toBe(true);
    expect(isDisposable("guerrillamail.com")).toBe(true);
    expect(isDisposable("inbox.mailinator.com")).toBe(true);
    expect(isDisposable("MAILINATOR.COM")).toBe(true);
    expect(isDisposable("example-corp.com")).toBe(false);
    expect(isDisposable("com")).toBe(false);
  });
  it("knows free providers and never calls one disposable", () => {
    for (const d of ["gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com"]) {
      expect(isFree(d)).toBe(true);
      expect(isDisposable(d)).toBe(false);
    }
    expect(isFree("example-corp.com")).toBe(false);
    expect(isFree("mailinator.com")).toBe(false);
  });
  it("spots role accounts regardless of case and +tags", () => {
    for (const l of ["info", "Support", "postmaster", "abuse", "noreply", "no-reply", "sales+eu", "webmaster"]) {
      expect(isRole(l)).toBe(true);
    }
    for (const l of ["alice", "john.smith", "bob+info"]) expect(isRole(l)).toBe(false);
  });
});

// The new-campaign flow's URL state: what a step carries along, and the schedule and consent
// steps' checks (a browser's local time with its offset, rates, the consent statement).
import { describe, expect, it } from "vitest";
import { consentOf, nameOf, others, readDraft, scheduleOf, stepUrl } from "./campaignflow.ts";

const MAX_RATE = 1_000_000;

describe("the new-campaign flow", () => {
  it("reads the choices, carries every other step's along a step's form, and links back to a step with them all", () => {
    const draft = readDraft(new URLSearchParams("job=job_1&sender=snd_1&template=&when=now&tz=-60&basis=opt_in&other=x"));
    expect(draft).toEqual({ job: "job_1", sender: "snd_1", when: "now", tz: "-60", basis: "opt_in" });
    // A step's own fields come from its form: carried too, a changed choice would be read twice.
    expect(others(draft, "list")).toEqual({ sender: "snd_1", when: "now", tz: "-60", basis: "opt_in" });
    expect(others(draft, "schedule")).toEqual({ job: "job_1", sender: "snd_1", basis: "opt_in" });
    expect(others(draft, "review")).toEqual(draft);
    const url = new URL(stepUrl(draft, "sender"), "http://x.test");
    expect(url.pathname).toBe("/campaigns/new");
    expect(Object.fromEntries(url.searchParams)).toEqual({ ...draft, step: "sender" });
  });

  it("takes the browser's local time with its offset, or UTC without one", () => {
    // Paris in March is UTC+1: getTimezoneOffset() says -60.
    expect(scheduleOf({ when: "later", send_at: "2026-03-01T09:30", tz: "-60" }, MAX_RATE)).toEqual({ ok: true, value: { sendAt: "2026-03-01T08:30:00.000Z", ratePerHour: null, includeRisky: false } });
    expect(scheduleOf({ when: "later", send_at: "2026-03-01T09:30:15", tz: "300", rate: "500", risky: "1" }, MAX_RATE)).toEqual({
      ok: true,
      value: { sendAt: "2026-03-01T14:30:15.000Z", ratePerHour: 500, includeRisky: true },
    });
    expect(scheduleOf({ when: "later", send_at: "2026-03-01T09:30" }, MAX_RATE)).toMatchObject({ ok: true, value: { sendAt: "2026-03-01T09:30:00.000Z" } });
    expect(scheduleOf({ when: "now", send_at: "2026-03-01T09:30" }, MAX_RATE)).toEqual({ ok: true, value: { sendAt: null, ratePerHour: null, includeRisky: false } });
  });

  it("refuses a schedule it cannot read", () => {
    expect(scheduleOf({}, MAX_RATE)).toMatchObject({ ok: false, message: "Choose when to send." });
    expect(scheduleOf({ when: "later" }, MAX_RATE)).toMatchObject({ ok: false });
    expect(scheduleOf({ when: "later", send_at: "2026-02-31T09:30" }, MAX_RATE)).toMatchObject({ ok: false, message: "That date does not exist." });
    expect(scheduleOf({ when: "later", send_at: "2026-03-01T09:30", tz: "9999" }, MAX_RATE)).toMatchObject({ ok: false });
    for (const rate of ["0", "1.5", "abc", String(MAX_RATE + 1)]) expect(scheduleOf({ when: "now", rate }, MAX_RATE)).toMatchObject({ ok: false });
  });

  it("wants a basis and where the list came from", () => {
    expect(consentOf({ basis: "opt_in", source: "  Sign-up form, double opt-in " }, 500)).toEqual({ ok: true, value: { basis: "opt_in", source: "Sign-up form, double opt-in" } });
    expect(consentOf({ basis: "existing_customers", source: "Our CRM" }, 500)).toMatchObject({ ok: true });
    expect(consentOf({ basis: "bought_it", source: "A broker" }, 500)).toMatchObject({ ok: false });
    expect(consentOf({ basis: "opt_in" }, 500)).toMatchObject({ ok: false });
    expect(consentOf({ basis: "opt_in", source: "x".repeat(501) }, 500)).toMatchObject({ ok: false });
  });

  it("names the campaign as given, else after its list and template", () => {
    expect(nameOf({ name: " March news " }, { list: "list.csv", template: "News" })).toBe("March news");
    expect(nameOf({}, { list: "list.csv", template: "News" })).toBe("list.csv · News");
  });
});

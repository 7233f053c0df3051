// The new-campaign flow's steps (app/routes/campaigns.new.tsx) and what it has chosen so far, which
// rides from step to step in the URL (each step is a GET form carrying the other choices), so the
// flow works without JavaScript and a step can be linked to, reloaded or gone back to. Pure: the
// choices that need the edge (a list, a sender, a template) are checked by the route's loader.
import { CONSENT_BASES, type ConsentBasis } from "../../core/enums.ts";

export const STEPS = ["list", "sender", "template", "schedule", "consent", "review"] as const;
export type Step = (typeof STEPS)[number];

export const STEP_LABEL: Record<Step, string> = { list: "List", sender: "Sender", template: "Template", schedule: "Schedule", consent: "Consent", review: "Review" };

const FIELDS = ["job", "sender", "template", "when", "send_at", "tz", "rate", "risky", "basis", "source", "name"] as const;
export type Field = (typeof FIELDS)[number];
export type Draft = Partial<Record<Field, string>>;

/** The fields each step asks for. */
export const STEP_FIELDS: Record<Step, readonly Field[]> = {
  list: ["job"],
  sender: ["sender"],
  template: ["template"],
  schedule: ["when", "send_at", "tz", "rate", "risky"],
  consent: ["basis", "source"],
  review: ["name"],
};

export const MAX_NAME = 200;

/** The consent bases as the pages put them. */
export const BASIS_LABEL: Record<ConsentBasis, { title: string; hint: string }> = {
  opt_in: { title: "They opted in", hint: "The people on the list asked for this mail (a sign-up form, a checkbox they ticked)." },
  existing_customers: { title: "They are our customers", hint: "They bought from the sender, and this mail is about what they bought or something like it." },
};

export const isStep = (s: string | null): s is Step => (STEPS as readonly (string | null)[]).includes(s);

/** The choices in a query string or form (empty values are not choices). */
export function readDraft(params: URLSearchParams | FormData): Draft {
  const draft: Draft = {};
  for (const field of FIELDS) {
    const value = params.get(field);
    if (typeof value === "string" && value.trim() !== "") draft[field] = value;
  }
  return draft;
}

/**
 * The choices of every step but `step`: what its form carries along beside its own fields, so going
 * back to change one choice keeps the others (each is checked again on the way forward).
 */
export function others(draft: Draft, step: Step): Draft {
  const own = STEP_FIELDS[step];
  return Object.fromEntries(Object.entries(draft).filter(([field]) => !own.includes(field as Field)));
}

/** The URL of a step with the choices so far (all of them: a step's own are its form's defaults). */
export function stepUrl(draft: Draft, step: Step, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams({ ...draft, ...extra, step });
  return `/campaigns/new?${params}`;
}

export interface Schedule {
  /** ISO 8601 (UTC); null: as soon as it starts. */
  sendAt: string | null;
  ratePerHour: number | null;
  includeRisky: boolean;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; message: string };

/**
 * The schedule step's choices. `send_at` is the browser's local time (an `<input
 * type="datetime-local">`), `tz` the browser's offset from UTC in minutes (getTimezoneOffset: UTC
 * minus local); without it (no JavaScript) the time is taken as UTC, as the form says.
 */
export function scheduleOf(draft: Draft, maxRate: number): Checked<Schedule> {
  const includeRisky = draft.risky === "1";
  let ratePerHour: number | null = null;
  if (draft.rate !== undefined) {
    ratePerHour = Number(draft.rate);
    if (!Number.isInteger(ratePerHour) || ratePerHour < 1 || ratePerHour > maxRate) return { ok: false, message: `The rate is a whole number of messages an hour, from 1 to ${maxRate.toLocaleString("en")}.` };
  }
  if (draft.when !== "later") return draft.when === "now" ? { ok: true, value: { sendAt: null, ratePerHour, includeRisky } } : { ok: false, message: "Choose when to send." };
  const local = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(draft.send_at ?? "");
  const offset = draft.tz === undefined ? 0 : Number(draft.tz);
  if (!local || !Number.isInteger(offset) || Math.abs(offset) > 18 * 60) return { ok: false, message: "Choose the date and time to send at." };
  const [, y, mo, d, h, mi, sec] = local.map(Number) as number[];
  const asUtc = Date.UTC(y!, mo! - 1, d!, h!, mi!, Number.isNaN(sec) ? 0 : sec!);
  const at = new Date(asUtc + offset * 60_000);
  // Date.UTC rolls 2026-02-31 over into March: a date that does not exist is refused.
  if (new Date(asUtc).getUTCDate() !== d || new Date(asUtc).getUTCMonth() !== mo! - 1) return { ok: false, message: "That date does not exist." };
  return { ok: true, value: { sendAt: at.toISOString(), ratePerHour, includeRisky } };
}

export interface Consent {
  basis: ConsentBasis;
  source: string;
}

/** The consent step's statement: a basis, and where the list came from. */
export function consentOf(draft: Draft, maxSource: number): Checked<Consent> {
  const basis = CONSENT_BASES.find((b) => b === draft.basis);
  if (!basis) return { ok: false, message: "Say why these people may be mailed: they opted in, or they are your customers." };
  const source = (draft.source ?? "").trim();
  if (source.length === 0 || source.length > maxSource) return { ok: false, message: `Say where the list came from (up to ${maxSource} characters).` };
  return { ok: true, value: { basis, source } };
}

/** The campaign's name: as given on the review step, else made from the list's and the template's. */
export function nameOf(draft: Draft, fallback: { list: string; template: string }): string {
  return (draft.name?.trim() || `${fallback.list} · ${fallback.template}`).slice(0, MAX_NAME);
}

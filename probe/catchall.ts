// Catch-all coordination (issue 13): whether a domain accepts every mailbox is learned once and
// shared with the fleet (probe/shared.ts). Within a call, a domain with mail gets the fleet's
// answer, or is claimed for testing here (a random mailbox, asked beside the first real address
// and after it), or is left to the probe that claimed it first; an address accepted before the
// answer is known waits for it.
import type { CatchAllAnswer, SharedMxState } from "./shared.ts";
import { formatReply } from "./smtp/reply.ts";
import type { Recipient, RecipientOutcome } from "./smtp/scheduler.ts";

const PROBE_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

/** A mailbox name nobody has: letters and digits, starting with a letter. */
function randomLocalPart(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(18));
  let s = PROBE_ALPHABET[bytes[0]! % 26]!;
  for (const b of bytes.subarray(1)) s += PROBE_ALPHABET[b % PROBE_ALPHABET.length];
  return s;
}

/** What a rejected mailbox says about its domain's catch-all status, when nothing better is known. */
export function catchAllFromOutcome(o: RecipientOutcome): boolean | null {
  if (o.smtp.kind !== "reply") return null;
  switch (o.smtp.rcpt) {
    case "accepted":
      return true;
    case "mailbox_not_found":
    case "mailbox_disabled":
      return false; // it refuses some mailboxes, so it does not accept all
    // A policy refusal or an unplaced 5xx says nothing about whether every mailbox is taken.
    default:
      return null;
  }
}

/** The random mailbox asked to learn the answer. */
export type CatchAllTest = Recipient;

export interface CatchAllHooks<W> {
  /** The answer is known: the accepted addresses that waited for it. */
  settled(waiting: W[], value: boolean | null): void;
  /** The probe that claimed the test did not answer in time: the test is queued here after all. */
  testHere(test: CatchAllTest): void;
}

/** One domain's catch-all answer within a call, and the accepted addresses waiting for it. */
export class CatchAll<W> {
  /** undefined until known; null when the test could not tell. */
  value: boolean | null | undefined = undefined;
  /** What showed the answer (this probe's test, or the fleet's). */
  evidence: CatchAllAnswer | null = null;
  /** Who tests the domain: this probe, or another one whose answer is awaited. */
  private tester: "self" | "fleet" = "self";
  private learning = false;
  private readonly waiting: W[] = [];

  constructor(
    readonly domain: string,
    private readonly shared: SharedMxState,
    private readonly ttlMs: number,
    private readonly hooks: CatchAllHooks<W>,
  ) {}

  /** Asks the fleet, once the domain is known to have mail: its answer, or who is to test. */
  async lookup(): Promise<void> {
    const found = await this.shared.lookupCatchAll(this.domain);
    if (typeof found === "string") this.tester = found === "test" ? "self" : "fleet";
    else {
      this.value = found.catchAll;
      this.evidence = found;
    }
  }

  /**
   * Starts learning the answer, unless it is known or already being learned (null), for an
   * address due at `due`. "test": this probe tests; queue the test beside that address, after
   * it. "fleet": another probe claimed the test; its answer is awaited for half the time left at
   * most, so a claimant that died still leaves time to test here (hooks.testHere).
   */
  learn(due: number, signal: AbortSignal | undefined): { kind: "test"; test: CatchAllTest } | { kind: "fleet" } | null {
    if (this.value !== undefined || this.learning) return null;
    this.learning = true;
    if (this.tester === "self") return { kind: "test", test: this.test(due) };
    void this.shared.awaitCatchAll(this.domain, (due - Date.now()) / 2, signal).then((answer) => {
      if (answer) this.settle(answer.catchAll, answer);
      else this.hooks.testHere(this.test(due)); // nobody answered in time: test it here
    });
    return { kind: "fleet" };
  }

  /** The test's outcome: the answer it shows, saved for the fleet. */
  tested(outcome: RecipientOutcome): void {
    const value = catchAllFromOutcome(outcome);
    const smtp = outcome.smtp;
    const answer =
      value === null || smtp.kind !== "reply"
        ? null
        : { catchAll: value, reply: formatReply(smtp.reply), mx: smtp.mx, probe: this.shared.probeId, testedAt: Date.now() };
    void this.shared.saveCatchAll(this.domain, answer, this.ttlMs);
    this.settle(value, answer);
  }

  /**
   * The answer for an address of the domain given its outcome, or undefined: it was accepted
   * before the answer was known, and must wait for it.
   */
  answerFor(outcome: RecipientOutcome): boolean | null | undefined {
    const accepted = outcome.smtp.kind === "reply" && outcome.smtp.rcpt === "accepted";
    return accepted ? this.value : (this.value ?? catchAllFromOutcome(outcome));
  }

  /** An address that must wait for the answer: hooks.settled hands it back. */
  wait(waiter: W): void {
    this.waiting.push(waiter);
  }

  /** The transcript's line on the evidence, when there is some. */
  describeEvidence(): string | null {
    const e = this.evidence;
    if (!e) return null;
    return `catch-all: ${e.catchAll ? "yes" : "no"}: a random mailbox got ${e.reply} from ${e.mx} (probe ${e.probe}, ${new Date(e.testedAt).toISOString()})`;
  }

  /** The domain's random-mailbox test, due when the address that asked for it is. */
  private test(due: number): CatchAllTest {
    return { local: randomLocalPart(), domain: this.domain, smtputf8: false, catchAllProbe: true, trace: null, deadline: due };
  }

  private settle(value: boolean | null, evidence: CatchAllAnswer | null): void {
    this.value = value;
    this.evidence = evidence;
    this.learning = false;
    this.hooks.settled(this.waiting.splice(0), value);
  }
}

// The finder's chain (issue 14): one person's search for their address. Their candidates,
// likeliest first, are checked like addresses, 1, 2, 4… at a time (core/finder's waveSize), the
// waves after the first continuing the transaction the first opened (the scheduler's follow-ups),
// until one is accepted or shows its mailbox exists. A refusal of one mailbox moves on; any other
// answer (no mail, a block, a timeout) ends the search. When to go on and what the answer is are
// core/finder's rules, shared with the edge.
import { parseAddress, type ParsedAddress } from "../core/address.ts";
import type { FindAnswer, FindCandidate, Result } from "../core/contracts.ts";
import { composeFind, isKnownPattern, names, refusesMailbox, waveSize } from "../core/finder/answer.ts";
import { invalidSyntaxResult } from "../core/result.ts";
import type { Recipient } from "./smtp/scheduler.ts";

/** Rejections a session may reach while a person's candidates continue its transaction (those
 *  of earlier transactions count too): the candidates of one person belong together, and
 *  Postfix only drops a client at 20 (smtpd_hard_error_limit). The scheduler's
 *  followUpRejectionLimit. */
export const CHAIN_REJECTION_LIMIT = 16;

/** How a candidate's RCPT goes with its person's others, for the scheduler. */
export type CandidateHooks = Pick<Recipient, "followUp" | "onGreylisted" | "needed">;

export interface FindChainIO {
  /** Checks a candidate as an address; its result comes back through FindChain.answered. */
  check(parsed: Extract<ParsedAddress, { ok: true }>, email: string, slot: number): void;
  /** Settles the queued candidates no longer needed (FindChain.hooks' `needed`). */
  prune(): void;
  /** The person's answer, once. */
  answer(a: FindAnswer): void;
}

export class FindChain {
  /** Results of the candidates asked about, by candidate position. */
  private readonly results: (Result | undefined)[] = [];
  /** The next candidate to ask about. */
  private next = 0;
  private round = 0;
  /** Candidates asked about and not yet answered. */
  private open = 0;
  /** The server greylisted a candidate of a pattern not known for the domain: the rest have
   *  been asked at once. */
  private greylisted = false;
  /** The likeliest candidate so far that named a mailbox: the ones after it are not needed. */
  private found: number | null = null;
  private done = false;

  constructor(
    private readonly candidates: FindCandidate[],
    private readonly startedAt: number,
    /** The person's answer is due then: every candidate shares it. */
    readonly deadline: number,
    private readonly io: FindChainIO,
  ) {}

  start(): void {
    if (this.candidates.length === 0) return this.io.answer(composeFind([], [], 0));
    this.askNext();
  }

  /** The scheduler's hooks for a candidate's RCPT, taken as it is queued: the waves after the
   *  first (or all the rest, once greylisted) continue the open transaction. */
  hooks(slot: number): CandidateHooks {
    return {
      followUp: this.round > 1 || this.greylisted,
      onGreylisted: () => this.greylistedCandidate(slot),
      needed: () => this.found === null || slot < this.found,
    };
  }

  /** A candidate's result: the search goes on, or the person is answered. */
  answered(slot: number, result: Result): void {
    this.results[slot] = result;
    this.open--;
    if (names(result) && (this.found === null || slot < this.found)) {
      this.found = slot;
      // Later candidates still waiting (a greylisting retry) are settled without asking.
      if (this.open > 0) this.io.prune();
    }
    if (this.open > 0 || this.done) return;
    const asked = this.results.filter((r): r is Result => r !== undefined);
    const searching = !asked.some(names) && asked.every(refusesMailbox) && this.next < this.candidates.length;
    if (searching) return this.askNext();
    this.done = true;
    this.io.answer(composeFind(this.candidates, this.results, Date.now() - this.startedAt));
  }

  /** Asks about the next wave of candidates (all the rest once greylisted). */
  private askNext(): void {
    const size = this.greylisted ? this.candidates.length : waveSize(this.round);
    this.round++;
    const wave = this.candidates.slice(this.next, this.next + size).map((c, i) => ({ email: c.email, slot: this.next + i }));
    this.next += wave.length;
    this.open += wave.length;
    for (const { email, slot } of wave) {
      const parsed = parseAddress(email);
      if (parsed.ok) this.io.check(parsed, email, slot);
      else this.answered(slot, invalidSyntaxResult(email));
    }
  }

  // A known pattern's candidate is likely right: its retry alone usually settles the search.
  // Otherwise every candidate's greylisting clock should start now, not one wave per delay.
  private greylistedCandidate(slot: number): void {
    if (this.greylisted || isKnownPattern(this.candidates[slot]!)) return;
    this.greylisted = true;
    if (this.next < this.candidates.length) this.askNext();
  }
}

// A probe's synchronous work (POST /v1/verify, /v1/find; for sending, /v1/relays/test,
// /v1/messages, /v1/dns/sender-check; for bounces, /v1/mailboxes/test and /poll) behind one interface, so the callers' choices (which probe
// next, what to charge) are tested with a stand-in. Every way a probe can fail is a value, never a
// throw: the caller moves on to the next probe.
import { z } from "zod";
import {
  FindAnswerSchema,
  MailboxTestAnswerSchema,
  MessageAnswerSchema,
  RelayTestAnswerSchema,
  ResultSchema,
  SenderCheckAnswerSchema,
  type FindAnswer,
  type FindRequest,
  type MailboxTestAnswer,
  type MailboxWire,
  type MessageAnswer,
  type MessageRequestSchema,
  type RelayTestAnswer,
  type RelayWire,
  type Result,
  type SenderCheckAnswer,
  type SenderCheckRequestSchema,
  type VerifyRequest,
} from "../../core/contracts.ts";
import { readLimited } from "../../core/limitedbody.ts";
import { sign, SIGNATURE_HEADER } from "../../core/signing.ts";

export interface ProbeTarget {
  id: string;
  /** The probe's public base URL; checks go to `${url}/v1/verify`. */
  url: string;
}

export type ProbeFailure =
  | { ok: false; error: "timeout"; detail: string }
  | { ok: false; error: "unreachable"; detail: string }
  | { ok: false; error: "http_status"; status: number; detail: string }
  | { ok: false; error: "bad_body"; detail: string };

export type ProbeAnswer<T = Result> = { ok: true; result: T } | ProbeFailure;

export type MessageRequest = Omit<z.infer<typeof MessageRequestSchema>, "budget_ms">;
export type SenderCheckRequest = Omit<z.infer<typeof SenderCheckRequestSchema>, "budget_ms">;

export interface ProbeClient {
  readonly kind: "http" | "stand-in";
  /** Asks one probe for one address, giving it `budgetMs` to decide. */
  verify(probe: ProbeTarget, request: Omit<VerifyRequest, "budget_ms">, budgetMs: number): Promise<ProbeAnswer>;
  /** Asks one probe to find one person's address among the candidates. */
  find(probe: ProbeTarget, request: Omit<FindRequest, "budget_ms">, budgetMs: number): Promise<ProbeAnswer<FindAnswer>>;
  /** Asks one probe to connect to a relay, upgrade and authenticate, sending nothing. */
  testRelay(probe: ProbeTarget, relay: RelayWire, budgetMs: number): Promise<ProbeAnswer<RelayTestAnswer>>;
  /** Asks one probe to hand one message to the first relay of the pool that takes it (a sender's confirmation). */
  sendMessage(probe: ProbeTarget, request: MessageRequest, budgetMs: number): Promise<ProbeAnswer<MessageAnswer>>;
  /** Asks one probe for a sender domain's SPF, DKIM, DMARC and bounce MX records, judged against the bulk-sender rules. */
  checkSender(probe: ProbeTarget, request: SenderCheckRequest, budgetMs: number): Promise<ProbeAnswer<SenderCheckAnswer>>;
  /** Asks one probe to connect to a bounce mailbox, log in and open its folder, reading nothing. */
  testMailbox(probe: ProbeTarget, mailbox: MailboxWire, budgetMs: number): Promise<ProbeAnswer<MailboxTestAnswer>>;
  /** Asks the probe that reads a bounce mailbox to read it now; answered once the read is queued. */
  pollMailbox(probe: ProbeTarget, mailbox: MailboxWire, budgetMs: number): Promise<ProbeAnswer<null>>;
}

/** A poll is answered before the read (which reports through /internal/probes/bounces): any JSON object says it is queued. */
const PollQueuedSchema = z.looseObject({}).transform(() => null);

/**
 * A probe's answer is one result (its trace at most 200 lines of 1,024 characters): anything
 * longer is not an answer, and is cut off before it can fill the Worker's memory.
 */
export const MAX_PROBE_ANSWER_BYTES = 1024 * 1024;

/** Time allowed beyond the probe's budget for the round trip. */
export const TRANSPORT_SLACK_MS = 5_000;

/** The real client: the body signed with the probe secret (core/signing.ts), as the probe checks it. */
export function createHttpProbeClient(opts: { secret: string; slackMs?: number; fetch?: typeof fetch }): ProbeClient {
  const doFetch = opts.fetch ?? fetch;
  const slackMs = opts.slackMs ?? TRANSPORT_SLACK_MS;

  /** The signature is bound to the probe's route and to that probe. */
  async function ask<T>(probe: ProbeTarget, path: string, payload: object, schema: z.ZodType<T>, budgetMs: number): Promise<ProbeAnswer<T>> {
    const route = { method: "POST", path, audience: probe.id };
    const body = JSON.stringify({ ...payload, budget_ms: budgetMs });
    const url = `${probe.url.replace(/\/+$/, "")}${path}`;
    try {
      // The signal covers reading the body too: a probe that stalls mid-answer times out.
      const res = await doFetch(url, {
        method: route.method,
        body,
        headers: { "content-type": "application/json", [SIGNATURE_HEADER]: await sign(opts.secret, route, body) },
        signal: AbortSignal.timeout(budgetMs + slackMs),
      });
      if (!res.ok) {
        await res.body?.cancel();
        return { ok: false, error: "http_status", status: res.status, detail: `${url} answered ${res.status}` };
      }
      const read = await readLimited(res.body, MAX_PROBE_ANSWER_BYTES);
      if (!read.ok) return { ok: false, error: "bad_body", detail: `${url} answered more than ${MAX_PROBE_ANSWER_BYTES} bytes` };
      const text = new TextDecoder().decode(read.bytes);
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        return { ok: false, error: "bad_body", detail: `${url} answered ${text.length} bytes that are not JSON` };
      }
      const got = schema.safeParse(json);
      if (!got.success) return { ok: false, error: "bad_body", detail: `${url} answered no result: ${got.error.issues[0]?.message ?? ""}` };
      return { ok: true, result: got.data };
    } catch (e) {
      const name = e instanceof Error ? e.name : "";
      if (name === "TimeoutError" || name === "AbortError") return { ok: false, error: "timeout", detail: `${url} gave no answer within ${budgetMs + slackMs} ms` };
      return { ok: false, error: "unreachable", detail: `${url}: ${e instanceof Error ? e.message : String(e)}` };
    }
  }

  return {
    kind: "http",
    verify: (probe, request, budgetMs) => ask(probe, "/v1/verify", { email: request.email, ...(request.trace ? { trace: true } : {}) }, ResultSchema, budgetMs),
    find: (probe, request, budgetMs) => ask(probe, "/v1/find", { candidates: request.candidates, ...(request.trace ? { trace: true } : {}) }, FindAnswerSchema, budgetMs),
    testRelay: (probe, relay, budgetMs) => ask(probe, "/v1/relays/test", { relay }, RelayTestAnswerSchema, budgetMs),
    sendMessage: (probe, request, budgetMs) => ask(probe, "/v1/messages", request, MessageAnswerSchema, budgetMs),
    checkSender: (probe, request, budgetMs) => ask(probe, "/v1/dns/sender-check", request, SenderCheckAnswerSchema, budgetMs),
    testMailbox: (probe, mailbox, budgetMs) => ask(probe, "/v1/mailboxes/test", { mailbox }, MailboxTestAnswerSchema, budgetMs),
    pollMailbox: (probe, mailbox, budgetMs) => ask(probe, "/v1/mailboxes/poll", { mailbox }, PollQueuedSchema, budgetMs),
  };
}

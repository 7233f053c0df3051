// The probe's sending side as its HTTP server uses it (issue 23): send batches, a relay's test,
// one message through a sender's relays (its confirmation), and a sender domain's checklist.
// Built once by the daemon (probe/serve.ts) from its configuration.
import { randomUUID } from "node:crypto";
import type { z } from "zod";
import type {
  MessageAnswer,
  MessageRequestSchema,
  RelayTestAnswer,
  RelayTestRequestSchema,
  SendBatch,
  SenderCheckAnswer,
  SenderCheckRequestSchema,
} from "../../core/contracts.ts";
import type { Resolver } from "../dns.ts";
import type { Log, Outbox } from "../outbox.ts";
import { systemClock, type Clock } from "../shared.ts";
import type { RelayBudget, RelayBudgetStats } from "./relaybudget.ts";
import { runSendBatch, type SendBatchDeps, type SendBatchSummary } from "./sendbatch.ts";
import { checkSender } from "./sendercheck.ts";
import { createRelayPool, hostResolver, testRelay, type RelayFailure, type RelayOutcome, type RelayTransportOptions } from "./transport.ts";

export type RelayTestRequest = z.infer<typeof RelayTestRequestSchema>;
export type MessageRequest = z.infer<typeof MessageRequestSchema>;
export type SenderCheckRequest = z.infer<typeof SenderCheckRequestSchema>;
export type { SendBatchSummary };

export interface Sending {
  runBatch(batch: SendBatch, signal: AbortSignal): Promise<SendBatchSummary>;
  testRelay(req: RelayTestRequest, budgetMs: number): Promise<RelayTestAnswer>;
  sendMessage(req: MessageRequest, budgetMs: number): Promise<MessageAnswer>;
  checkSender(req: SenderCheckRequest): Promise<SenderCheckAnswer>;
  budgetStats(): RelayBudgetStats;
}

export interface SendingOptions {
  probeId: string;
  edgeUrl: string;
  probeSecret: string;
  outbox: Pick<Outbox, "push">;
  /** The probe's resolver: relay names and sender domains. */
  resolver: Resolver;
  helo: string;
  allowPrivateTargets: boolean;
  /** CAs trusted beside the system's for relays (MXRAY_RELAY_CA_FILE). */
  extraCa?: string[];
  budget: RelayBudget;
  clock?: Clock;
  log?: Log;
  /** Tuning for tests: connections, timeouts, group size. */
  transport?: Partial<Pick<RelayTransportOptions, "connections" | "messageTimeoutMs" | "connectTimeoutMs">>;
  groupSize?: number;
  /** Metrics: each relay answer, and each recipient's recorded outcome. */
  relayOutcome?(kind: RelayOutcome["kind"]): void;
  recorded?: SendBatchDeps["recorded"];
}

export function createSending(opts: SendingOptions): Sending {
  const clock = opts.clock ?? systemClock;
  const transport: RelayTransportOptions = {
    probeSecret: opts.probeSecret,
    allowPrivateTargets: opts.allowPrivateTargets,
    resolveHost: hostResolver(opts.resolver),
    helo: opts.helo,
    ...(opts.extraCa ? { extraCa: opts.extraCa } : {}),
    ...opts.transport,
    ...(opts.relayOutcome ? { observe: opts.relayOutcome } : {}),
  };

  /** One message through the relays in order: the next only after a 4xx or a connection failure. */
  async function sendMessage(req: MessageRequest, budgetMs: number): Promise<MessageAnswer> {
    const deadline = clock.now() + budgetMs;
    const fromDomain = req.from_email.slice(req.from_email.lastIndexOf("@") + 1).toLowerCase();
    let last: { relayId: string; outcome: RelayFailure } | null = null;
    for (const relay of req.relays) {
      if (!(await opts.budget.take(relay, deadline))) {
        return { ok: false, relay_id: relay.id, queue_id: null, detail: `no room in relay ${relay.id}'s limits within ${budgetMs} ms`, reply: null };
      }
      const left = Math.max(1_000, deadline - clock.now());
      const pool = createRelayPool(relay, { ...transport, connections: 1, messageTimeoutMs: Math.min(left, transport.messageTimeoutMs ?? left), connectTimeoutMs: Math.min(left, transport.connectTimeoutMs ?? left) });
      const outcome = await pool.send({
        from: { name: req.from_name, address: req.from_email },
        to: req.to,
        subject: req.subject,
        html: req.html,
        text: req.text,
        messageId: `<${randomUUID()}@${fromDomain}>`,
        disableFileAccess: true,
        disableUrlAccess: true,
      });
      pool.close();
      if (outcome.kind === "accepted") return { ok: true, relay_id: relay.id, queue_id: outcome.queueId, detail: `accepted by ${relay.host}`, reply: outcome.reply };
      last = { relayId: relay.id, outcome };
      // A 4xx or a connection failure tries the next relay; anything else is this message's answer
      // (a message that may have gone is never sent again).
      if (outcome.kind !== "deferred" && outcome.kind !== "connection_failed") break;
    }
    const { relayId, outcome } = last!;
    const detail = outcome.kind === "lost" ? `the connection ended after the message was handed over: relay ${relayId} may have it; not sent again` : `${outcome.kind.replace("_", " ")}: ${outcome.detail}`;
    return { ok: false, relay_id: relayId, queue_id: null, detail, reply: outcome.reply };
  }

  return {
    runBatch: (batch, signal) =>
      runSendBatch(
        batch,
        {
          probeId: opts.probeId,
          edgeUrl: opts.edgeUrl,
          probeSecret: opts.probeSecret,
          outbox: opts.outbox,
          budget: opts.budget,
          transport,
          clock,
          ...(opts.groupSize ? { groupSize: opts.groupSize } : {}),
          ...(opts.log ? { log: opts.log } : {}),
          ...(opts.recorded ? { recorded: opts.recorded } : {}),
        },
        signal,
      ),
    testRelay: (req, budgetMs) => testRelay(req.relay, transport, budgetMs),
    sendMessage,
    checkSender: (req) => checkSender(opts.resolver, req),
    budgetStats: () => opts.budget.stats(),
  };
}

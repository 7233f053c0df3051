// The probe's bounce side as its daemon and HTTP server use it (issue 24): the mailboxes assigned
// in heartbeat answers, read on their schedule or when asked, and a mailbox's test. Built once by
// the daemon (probe/serve.ts) from its configuration; the parser is injected
// (probe/bounces/parse.ts parseMessage in the daemon).
import type { z } from "zod";
import { probeTransportKey } from "../../core/secrets.ts";
import type { MailboxTestAnswer, MailboxTestRequestSchema, MailboxWire } from "../../core/contracts.ts";
import type { Resolver } from "../dns.ts";
import type { Log } from "../outbox.ts";
import { hostResolver } from "../sending/transport.ts";
import { testMailbox, type ImapOptions } from "./imap.ts";
import { createMailboxManager, type MailboxManager, type Timers } from "./mailboxes.ts";
import { createEdgeReporter, readMailbox, type MailboxReporter, type MonitorDeps, type ParseMessage } from "./monitor.ts";

export type MailboxTestRequest = z.infer<typeof MailboxTestRequestSchema>;

export interface Bounces {
  /** The heartbeat answer's mailboxes (HeartbeatAnswer.mailboxes): the whole set read here from now on. */
  setAssignments(mailboxes: MailboxWire[]): void;
  /** POST /v1/mailboxes/poll: a read soon; false when the request's assignment is older than the one held. */
  poll(mailbox: MailboxWire): boolean;
  /** POST /v1/mailboxes/test: connect, upgrade, log in, EXAMINE the folder; nothing is read. */
  testMailbox(req: MailboxTestRequest, budgetMs: number): Promise<MailboxTestAnswer>;
  manager: MailboxManager;
  stop(): Promise<void>;
}

export interface BouncesOptions {
  edgeUrl: string;
  probeSecret: string;
  probeId: string;
  /** The probe's resolver: mailbox host names. */
  resolver: Resolver;
  allowPrivateTargets: boolean;
  /** CAs trusted beside the system's for mailboxes (MXRAY_IMAP_CA_FILE). */
  extraCa?: string[];
  parse: ParseMessage;
  /** MXRAY_BOUNCE_POLL_MS. */
  pollMs: number;
  maxConcurrent?: number;
  /** Defaults to the signed POST to the edge (createEdgeReporter). */
  report?: MailboxReporter;
  timers?: Timers;
  log?: Log;
  /** Tuning for tests: timeouts, chunks. */
  imap?: Partial<Pick<ImapOptions, "connectTimeoutMs" | "greetingTimeoutMs" | "commandTimeoutMs">>;
  monitor?: Partial<Pick<MonitorDeps, "chunkSize" | "maxChunks" | "readTimeoutMs">>;
}

export function createBounces(opts: BouncesOptions): Bounces {
  const imap: ImapOptions = {
    keys: probeTransportKey(opts.probeSecret),
    allowPrivateTargets: opts.allowPrivateTargets,
    resolveHost: hostResolver(opts.resolver),
    ...(opts.extraCa ? { extraCa: opts.extraCa } : {}),
    ...opts.imap,
  };
  const deps: MonitorDeps = {
    imap,
    parse: opts.parse,
    report: opts.report ?? createEdgeReporter({ edgeUrl: opts.edgeUrl, probeSecret: opts.probeSecret, probeId: opts.probeId }),
    ...(opts.log ? { log: opts.log } : {}),
    ...opts.monitor,
  };
  const manager = createMailboxManager({
    read: (mailbox) => readMailbox(mailbox, deps),
    pollMs: opts.pollMs,
    ...(opts.maxConcurrent ? { maxConcurrent: opts.maxConcurrent } : {}),
    ...(opts.timers ? { timers: opts.timers } : {}),
    ...(opts.log ? { log: opts.log } : {}),
  });
  return {
    setAssignments: (mailboxes) => manager.setAssignments(mailboxes),
    poll: (mailbox) => manager.pollNow(mailbox),
    testMailbox: (req, budgetMs) => testMailbox(req.mailbox, imap, budgetMs),
    manager,
    stop: () => manager.stop(),
  };
}

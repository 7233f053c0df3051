// A scripted stand-in for a probe's HMAC-signed routes on loopback, for the Worker's tests in
// workerd (started on the Node side by vitest.workers.config.ts). It checks the signature as a real
// probe does, and behaves as the first path segment says, so one server is a fleet of probes; the
// second is the probe's id, which a real probe knows as PROBE_ID and the signature must name:
//   /ok/<id>/v1/verify       answers a result: "unknown.…" → unknown, "gone.…" → undeliverable, else deliverable
//   /ok/<id>/v1/relays/test  authenticated, unless the relay's username is "bad-auth" (535 at auth)
//                            or its host starts with "refused." (nothing listens: fails at connect)
//   /ok/<id>/v1/messages     accepted by the first relay with a queue id, unless `to` starts with "refused." (550)
//   /ok/<id>/v1/dns/sender-check  a checklist: SPF, DKIM (fails without a selector), DMARC (p=none,
//                            a warning, for a domain starting with "weak."), bounce MX
//   /ok/<id>/v1/mailboxes/test  logged in and opened the folder, unless the username is "bad-auth"
//                            (refused at auth), the host starts with "refused." (fails at connect)
//                            or the folder is "Missing" (no such folder)
//   /ok/<id>/v1/mailboxes/poll  queued
//   /error/<id>/…            503, as a probe draining or failing does
//   /garbage/<id>/…          200 with a body that is no answer
//   /hang/<id>/…             never answers (the client's timeout must end it)
// GET /calls?email=… says how many signed checks of that address reached it, any path.
// GET /received?route=v1/messages&key=… the signed requests' bodies that route took, by key: the
// relay id (relays/test), `to` (messages), the domain (dns/sender-check) or the mailbox id (mailboxes/*).
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { z } from "zod";
import {
  MailboxPollRequestSchema,
  MailboxTestRequestSchema,
  MessageRequestSchema,
  RelayTestRequestSchema,
  SenderCheckRequestSchema,
  VerifyRequestSchema,
  type MailboxTestAnswer,
  type MessageAnswer,
  type RelayTestAnswer,
  type Result,
  type SenderCheckAnswer,
} from "../core/contracts.ts";
import { buildResult } from "../core/result.ts";
import { SIGNATURE_HEADER, verifySignature } from "../core/signing.ts";
import type { Facts } from "../core/verdict.ts";

export const STANDIN_PROBE_MODES = ["ok", "error", "garbage", "hang"] as const;
export type StandInProbeMode = (typeof STANDIN_PROBE_MODES)[number];

const MX = "mx.standin.test";

function resultFor(email: string): Result {
  const local = email.split("@")[0] ?? "";
  const base: Omit<Facts, "smtp"> = { syntax: { ok: true }, disposable: false, role: false, free: false, dns: { kind: "mx", hosts: [MX] }, catchAll: false };
  const smtp: Facts["smtp"] = local.startsWith("unknown.")
    ? { kind: "timeout", mx: MX, phase: "rcpt" }
    : local.startsWith("gone.")
      ? { kind: "reply", rcpt: "mailbox_not_found", mx: MX, reply: { code: 550, enhanced: "5.1.1", message: "No such user" } }
      : { kind: "reply", rcpt: "accepted", mx: MX, reply: { code: 250, enhanced: "2.1.5", message: "Ok" } };
  return buildResult({ email, normalized: email.toLowerCase(), facts: { ...base, smtp }, mx: MX, smtp: smtp.kind === "reply" ? smtp.reply : null });
}

function relayTestFor(request: z.infer<typeof RelayTestRequestSchema>): RelayTestAnswer {
  const { relay } = request;
  if (relay.host.startsWith("refused.")) return { ok: false, stage: "connect", detail: `connect ECONNREFUSED ${relay.host}:${relay.port}`, reply: null };
  if (relay.username === "bad-auth") {
    const reply = { code: 535, enhanced: "5.7.8", message: "Authentication credentials invalid" };
    return { ok: false, stage: "auth", detail: "535 5.7.8 Authentication credentials invalid", reply };
  }
  return { ok: true, stage: "done", detail: "235 2.7.0 Authentication successful", reply: { code: 235, enhanced: "2.7.0", message: "Authentication successful" } };
}

function mailboxTestFor(request: z.infer<typeof MailboxTestRequestSchema>): MailboxTestAnswer {
  const { mailbox } = request;
  if (mailbox.host.startsWith("refused.")) return { ok: false, stage: "connect", detail: `connect ECONNREFUSED ${mailbox.host}:${mailbox.port}`, messages: null };
  // RFC 5530 response codes, as Dovecot words them.
  if (mailbox.username === "bad-auth") return { ok: false, stage: "auth", detail: "NO [AUTHENTICATIONFAILED] Authentication failed.", messages: null };
  if (mailbox.folder === "Missing") return { ok: false, stage: "folder", detail: "NO [NONEXISTENT] Mailbox doesn't exist: Missing", messages: null };
  return { ok: true, stage: "done", detail: `${mailbox.folder} opened: 12 messages`, messages: 12 };
}

let queued = 0;
function messageFor(request: z.infer<typeof MessageRequestSchema>): MessageAnswer {
  const relayId = request.relays[0]!.id;
  if (request.to.startsWith("refused.")) {
    return { ok: false, relay_id: relayId, queue_id: null, detail: "550 5.7.1 Sender address rejected", reply: { code: 550, enhanced: "5.7.1", message: "Sender address rejected" } };
  }
  const queueId = `STANDIN${++queued}`;
  return { ok: true, relay_id: relayId, queue_id: queueId, detail: `250 2.0.0 Ok: queued as ${queueId}`, reply: { code: 250, enhanced: "2.0.0", message: `Ok: queued as ${queueId}` } };
}

function senderCheckFor(request: z.infer<typeof SenderCheckRequestSchema>): SenderCheckAnswer {
  const { domain, dkim_selector: selector, bounce_domain: bounce } = request;
  const weak = domain.startsWith("weak.");
  return {
    items: [
      { check: "spf", status: "pass", name: domain, seen: ["v=spf1 include:spf.standin.test ~all"], detail: "An SPF record is published" },
      selector
        ? { check: "dkim", status: "pass", name: `${selector}._domainkey.${domain}`, seen: ["v=DKIM1; k=rsa; p=MIIB…"], detail: "A DKIM key is published at the selector" }
        : { check: "dkim", status: "fail", name: `_domainkey.${domain}`, seen: [], detail: "No selector was named" },
      weak
        ? { check: "dmarc", status: "warn", name: `_dmarc.${domain}`, seen: ["v=DMARC1; p=none"], detail: "A DMARC record with p=none: Gmail and Yahoo accept it, but it protects nothing" }
        : { check: "dmarc", status: "pass", name: `_dmarc.${domain}`, seen: ["v=DMARC1; p=quarantine"], detail: "A DMARC record with p=quarantine" },
      { check: "bounce_mx", status: "pass", name: bounce, seen: [`10 mx.${bounce}`], detail: "The bounce domain receives mail" },
    ],
  };
}

/** Each signed route: its request, the key its bodies are kept under, and the "ok" answer. */
const ROUTES = {
  "v1/relays/test": { schema: RelayTestRequestSchema, key: (r: z.infer<typeof RelayTestRequestSchema>) => r.relay.id, answer: relayTestFor },
  "v1/messages": { schema: MessageRequestSchema, key: (r: z.infer<typeof MessageRequestSchema>) => r.to, answer: messageFor },
  "v1/dns/sender-check": { schema: SenderCheckRequestSchema, key: (r: z.infer<typeof SenderCheckRequestSchema>) => r.domain, answer: senderCheckFor },
  "v1/mailboxes/test": { schema: MailboxTestRequestSchema, key: (r: z.infer<typeof MailboxTestRequestSchema>) => r.mailbox.id, answer: mailboxTestFor },
  "v1/mailboxes/poll": { schema: MailboxPollRequestSchema, key: (r: z.infer<typeof MailboxPollRequestSchema>) => r.mailbox.id, answer: () => ({ queued: true }) },
} as const;
type SendingRoute = keyof typeof ROUTES;

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

export async function startStandInProbe(opts: { secret: string }): Promise<{ url: string; close(): Promise<void> }> {
  const calls = new Map<string, number>();
  const received = new Map<string, unknown[]>();
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://standin");
    if (req.method === "GET" && url.pathname === "/calls") return send(res, 200, { count: calls.get(url.searchParams.get("email") ?? "") ?? 0 });
    if (req.method === "GET" && url.pathname === "/received") return send(res, 200, received.get(`${url.searchParams.get("route")} ${url.searchParams.get("key")}`) ?? []);
    const [, mode, probeId, ...rest] = url.pathname.split("/");
    const route = rest.join("/");
    if (req.method !== "POST" || !probeId || !(route === "v1/verify" || route in ROUTES) || !STANDIN_PROBE_MODES.includes(mode as StandInProbeMode)) return send(res, 404, { error: "not_found" });
    const body = await readBody(req);
    // Signed for the probe's own route and for this probe: the prefix is this stand-in's, as a proxy's would be.
    const signed = await verifySignature([opts.secret], req.headers[SIGNATURE_HEADER] as string | undefined, { method: "POST", path: `/${route}`, audience: probeId }, body);
    if (!signed.ok) return send(res, 401, { error: "bad_signature" });
    if (route !== "v1/verify") return sending(res, mode as StandInProbeMode, route as SendingRoute, body);
    const parsed = VerifyRequestSchema.safeParse(JSON.parse(body));
    if (!parsed.success) return send(res, 400, { error: "invalid_request" });
    calls.set(parsed.data.email, (calls.get(parsed.data.email) ?? 0) + 1);
    switch (mode as StandInProbeMode) {
      case "ok":
        return send(res, 200, resultFor(parsed.data.email));
      case "error":
        return send(res, 503, { error: "draining" });
      case "garbage":
        return send(res, 200, { verdict: "maybe" });
      case "hang":
        return; // the connection stays open until the client gives up or the server closes
    }
  });

  function sending<R extends SendingRoute>(res: ServerResponse, mode: StandInProbeMode, route: R, body: string): void {
    const { schema, key, answer } = ROUTES[route] as unknown as { schema: z.ZodType<unknown>; key: (r: unknown) => string; answer: (r: unknown) => unknown };
    const parsed = schema.safeParse(JSON.parse(body));
    if (!parsed.success) return send(res, 400, { error: "invalid_request" });
    const kept = `${route} ${key(parsed.data)}`;
    received.set(kept, [...(received.get(kept) ?? []), parsed.data]);
    switch (mode) {
      case "ok":
        return send(res, 200, answer(parsed.data));
      case "error":
        return send(res, 503, { error: "draining" });
      case "garbage":
        return send(res, 200, { verdict: "maybe" });
      case "hang":
        return;
    }
  }

  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  server.unref(); // like sqld here: never keeps the test runner alive
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

// The probe's HTTP face: QStash delivers batches (POST /v1/batches) and send batches (POST
// /v1/sends), the edge asks for real-time checks (POST /v1/verify) and finds (POST /v1/find), relay
// tests, single messages and sender checks (POST /v1/relays/test, /v1/messages,
// /v1/dns/sender-check), operators scrape /healthz and /metrics. Results of batches travel
// back through the durable outbox, never in the response, so a lost response loses nothing.
// Who is asking is settled from the headers alone, before any byte of a body is read or any room
// is set aside for one (issue 21): QStash's JWT and the probe HMAC both carry the body's hash, so
// an unsigned, badly signed, stale or replayed request is refused without reading its body, and
// a signed one's body has a deadline. probe/connections.ts caps the connections that never sign.
import type { HttpBindings } from "@hono/node-server";
import { Receiver } from "@upstash/qstash";
import { Hono, type Context } from "hono";
import type { z } from "zod";
import {
  BatchSchema,
  FindRequestSchema,
  MailboxPollRequestSchema,
  MailboxTestRequestSchema,
  MessageRequestSchema,
  RelayTestRequestSchema,
  SendBatchSchema,
  SenderCheckRequestSchema,
  VerifyRequestSchema,
  type Batch,
  type MessageAnswer,
  type RelayTestAnswer,
  type SenderCheckAnswer,
  type FindAnswer,
  type MailboxTestAnswer,
  type FindRequest,
  type Result,
  type ResultChunk,
  type VerifyRequest,
} from "../core/contracts.ts";
import { newId } from "../core/ids.ts";
import { readRequestLimited } from "../core/limitedbody.ts";
import { checkQstashHeader, QSTASH_SIGNATURE_HEADER } from "../core/qstash.ts";
import { bodyMatches, checkSignatureHeader, NonceMemory, nonceExpiresAtS, SIGNATURE_HEADER } from "../core/signing.ts";
import type { ConnectionGuard } from "./connections.ts";
import type { ProbeConfig } from "./config.ts";
import { findCandidates } from "../core/finder/patterns.ts";
import type { Engine, VerifyCall } from "./engine.ts";
import { WaitingBoard } from "./waiting.ts";
import type { ProbeMetrics } from "./metrics.ts";
import { RESULTS_PATH, SEND_RESULTS_PATH, type Log, type Outbox } from "./outbox.ts";
import type { MessageRequest, RelayTestRequest, SenderCheckRequest, Sending } from "./sending/sending.ts";
import type { Bounces, MailboxTestRequest } from "./bounces/bounces.ts";

/** A batch: 5,000 addresses with room to spare. */
export const MAX_BODY_BYTES = 2 * 1024 * 1024;
/** A single check is one address and two options. */
export const MAX_VERIFY_BODY_BYTES = 64 * 1024;
/**
 * Bytes all signed requests may hold while their bodies are read. Each read reserves its route's
 * cap up front, once its headers are signed, so nobody can make the probe hold more than this.
 */
export const MAX_BUFFERED_BYTES = 16 * MAX_BODY_BYTES;
/** Time a signed request has to deliver its whole body (2 MiB in 10 s is 1.7 Mbit/s). */
export const BODY_READ_DEADLINE_MS = 10_000;
/**
 * Single-check nonces remembered at once (each for its signature's ±300 s window): far above what
 * the edge sends one probe in ten minutes; when full, a check is refused (429) rather than a
 * nonce forgotten early.
 */
export const MAX_REMEMBERED_NONCES = 100_000;
export const CHUNK_SIZE = 500;
export const CHUNK_INTERVAL_MS = 1_000;
export const DEFAULT_VERIFY_BUDGET_MS = 15_000;
/** Chunks handed to the outbox and not yet on disk before a batch stops admitting addresses. */
export const MAX_UNWRITTEN_CHUNKS = 4;
const RETRY_AFTER_DRAINING_S = 60;
const RETRY_AFTER_BUSY_S = 5;

/** Every error this server answers with; the status lives here and nowhere else. */
export const ERROR_STATUS = {
  bad_signature: 401,
  /** A signed single check whose nonce was already used within its window. */
  replayed: 401,
  /** A signed body that did not arrive within BODY_READ_DEADLINE_MS. */
  body_timeout: 408,
  payload_too_large: 413,
  invalid_batch: 400,
  invalid_request: 400,
  callback_not_allowed: 400,
  already_running: 409,
  busy: 429,
  draining: 503,
  not_found: 404,
  no_result: 500,
  internal: 500,
} as const;
export type ErrorCode = keyof typeof ERROR_STATUS;

export interface ProbeAppDeps {
  engine: Engine;
  config: Pick<
    ProbeConfig,
    | "PUBLIC_URL"
    | "EDGE_URL"
    | "PROBE_SECRET"
    | "QSTASH_CURRENT_SIGNING_KEY"
    | "QSTASH_NEXT_SIGNING_KEY"
    | "MXRAY_MAX_INFLIGHT_BATCHES"
  >;
  outbox: Outbox;
  metrics: ProbeMetrics;
  probeId: string;
  log?: Log;
  /** The server's connection guard (probe/serve.ts): a request that signs is taken off its count. */
  connections?: Pick<ConnectionGuard, "authenticated">;
  /** Starts a body's read deadline; defaults to BODY_READ_DEADLINE_MS from now. */
  bodyDeadline?: () => AbortSignal;
  /** Unix ms, for signature windows and nonces (tests move it). */
  now?: () => number;
  /** Campaign sending (issue 23); without it the sending routes are not served. */
  sending?: Sending;
  /** Bounce mailboxes (issue 24); without them the mailbox routes are not served. */
  bounces?: Bounces;
}

export interface ProbeApp {
  app: Hono<Env>;
  /** Refuses new work, then waits for work in flight; past graceMs, aborts it and waits for that. */
  drain(graceMs?: number): Promise<void>;
  inFlight(): number;
  draining(): boolean;
}

// Bindings are @hono/node-server's when served; app.request() in tests has none.
type Env = { Variables: { requestId: string }; Bindings: Partial<HttpBindings> | undefined };

function errorResponse(c: Context<Env>, code: ErrorCode, message: string, retryAfterS?: number): Response {
  const headers: Record<string, string> = retryAfterS === undefined ? {} : { "retry-after": String(retryAfterS) };
  const requestId = c.get("requestId") ?? newId("req");
  return c.json({ error: { code, message, requestId } }, ERROR_STATUS[code], headers);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function describeIssues(error: { issues: { path: PropertyKey[]; message: string }[] }): string {
  return error.issues.map((i) => `${i.path.map(String).join(".") || "body"}: ${i.message}`).join("; ");
}

export function createProbeApp(deps: ProbeAppDeps): ProbeApp {
  const { engine, config, outbox, metrics, probeId } = deps;
  const log: Log = deps.log ?? (() => {});
  const now = deps.now ?? Date.now;
  const nowS = () => Math.floor(now() / 1000);
  const bodyDeadline = deps.bodyDeadline ?? (() => AbortSignal.timeout(BODY_READ_DEADLINE_MS));
  const nonces = new NonceMemory(MAX_REMEMBERED_NONCES);
  const qstashKeys = [config.QSTASH_CURRENT_SIGNING_KEY, config.QSTASH_NEXT_SIGNING_KEY];
  const receiver = new Receiver({
    currentSigningKey: config.QSTASH_CURRENT_SIGNING_KEY,
    nextSigningKey: config.QSTASH_NEXT_SIGNING_KEY,
    devMode: false, // never fall back to keys from the environment or the dev server's
  });
  const batchesUrl = `${config.PUBLIC_URL}/v1/batches`;
  const sendsUrl = `${config.PUBLIC_URL}/v1/sends`;
  // The only place results go (probe/outbox.ts); a batch naming another is refused.
  const resultsUrl = new URL(`${config.EDGE_URL}${RESULTS_PATH}`).href;
  const sendResultsUrl = new URL(`${config.EDGE_URL}${SEND_RESULTS_PATH}`).href;

  const running = new Map<string, { done: Promise<void>; abort: AbortController }>();
  const verifications = new Set<Promise<void>>();
  let isDraining = false;
  let reserved = 0;

  type BodyRead = { ok: true; bytes: Uint8Array<ArrayBuffer>; text: string } | { ok: false; response: Response };

  /** The request's headers were signed: its connection no longer counts as a stranger's. */
  function signedIn(c: Context<Env>): void {
    const socket = c.env?.incoming?.socket;
    if (socket) deps.connections?.authenticated(socket);
  }

  /**
   * Reads a signed request's body while counting its bytes and against its deadline: past
   * maxBytes (413) or the deadline (408) the stream is cancelled (@hono/node-server then
   * discards, never buffers, what the sender still pushes, for a bounded while, so the client
   * can read the answer). Only called once the headers are signed.
   */
  async function readBody(c: Context<Env>, maxBytes: number): Promise<BodyRead> {
    if (reserved + maxBytes > MAX_BUFFERED_BYTES) {
      await c.req.raw.body?.cancel().catch(() => {});
      return { ok: false, response: errorResponse(c, "busy", "too many requests being read", RETRY_AFTER_BUSY_S) };
    }
    reserved += maxBytes;
    try {
      const read = await readRequestLimited(c.req.raw, maxBytes, bodyDeadline());
      if (read.ok) return { ok: true, bytes: read.bytes, text: new TextDecoder().decode(read.bytes) };
      if (read.error === "timeout") return { ok: false, response: errorResponse(c, "body_timeout", `body not received within ${BODY_READ_DEADLINE_MS} ms`) };
      return { ok: false, response: errorResponse(c, "payload_too_large", `body over ${maxBytes} bytes`) };
    } finally {
      reserved -= maxBytes;
    }
  }

  /** The refusal of a request before its body: the body is left unread. */
  async function refuseUnread(c: Context<Env>, code: ErrorCode, message: string, retryAfterS?: number): Promise<Response> {
    await c.req.raw.body?.cancel().catch(() => {});
    return errorResponse(c, code, message, retryAfterS);
  }

  /** QStash's JWT before the body (key, issuer, URL, expiry), then in full with the body's hash. */
  async function readQstashSigned(c: Context<Env>, maxBytes: number, url = batchesUrl): Promise<BodyRead> {
    const signature = c.req.header(QSTASH_SIGNATURE_HEADER);
    const header = await checkQstashHeader(qstashKeys, signature, url, nowS());
    if (!header.ok) return { ok: false, response: await refuseUnread(c, "bad_signature", `Upstash-Signature ${header.error}`) };
    signedIn(c);
    const body = await readBody(c, maxBytes);
    if (!body.ok) return body;
    // The Receiver checks the JWT's `sub` against this URL and its `body` claim against the hash.
    const valid = await receiver.verify({ signature: signature!, body: body.text, url }).then(
      () => true,
      () => false,
    );
    return valid ? body : { ok: false, response: errorResponse(c, "bad_signature", "missing or invalid Upstash-Signature") };
  }

  /**
   * The probe HMAC before the body (shape, window, MAC bound to this method and route, nonce not
   * seen), then the body against the hash the MAC covers. The nonce is claimed before the body is
   * read, so a captured request is refused unread the second time.
   */
  async function readHmacSigned(c: Context<Env>, maxBytes: number): Promise<BodyRead> {
    const route = { method: c.req.method, path: c.req.path, audience: probeId };
    const header = await checkSignatureHeader([config.PROBE_SECRET], c.req.header(SIGNATURE_HEADER), route, { nowS: nowS() });
    if (!header.ok) return { ok: false, response: await refuseUnread(c, "bad_signature", `signature ${header.error}`) };
    const claim = nonces.claim(header.signed.nonce, nonceExpiresAtS(header.signed), nowS());
    if (claim === "replayed") return { ok: false, response: await refuseUnread(c, "replayed", "this signature's nonce was already used") };
    if (claim === "full") return { ok: false, response: await refuseUnread(c, "busy", "too many recent checks", RETRY_AFTER_BUSY_S) };
    signedIn(c);
    const body = await readBody(c, maxBytes);
    if (!body.ok) return body;
    if (!(await bodyMatches(header.signed, body.bytes))) return { ok: false, response: errorResponse(c, "bad_signature", "signature mismatch") };
    return body;
  }

  /** Verifies a batch, streaming results to the outbox every CHUNK_SIZE results or CHUNK_INTERVAL_MS. */
  async function runBatch(batch: Batch, signal: AbortSignal): Promise<number> {
    let pending: Result[] = [];
    let finds: NonNullable<ResultChunk["finds"]> = [];
    let seq = 0;
    let total = 0;
    let pushes: Promise<void> = Promise.resolve();
    let unwritten = 0;
    // What the unanswered addresses wait on: a chunk goes when it changes, results or not (issue 26).
    const board = new WaitingBoard();
    let told = JSON.stringify({});

    function pushChunk(final: boolean) {
      const waiting = board.summary(Date.now()); // the engine's clock: it timed the addresses
      const said = JSON.stringify(waiting);
      if (pending.length === 0 && finds.length === 0 && !final && said === told) return;
      told = said;
      const chunk: ResultChunk = {
        probe_id: probeId,
        batch_id: batch.batch_id,
        job_id: batch.job_id,
        seq: seq++,
        final,
        results: pending,
        ...(finds.length ? { finds } : {}),
        waiting: final ? {} : waiting,
      };
      pending = [];
      finds = [];
      unwritten++;
      pushes = pushes.then(() => outbox.push(chunk)).finally(() => void unwritten--);
    }

    // The engine's window bounds addresses in flight; this bounds results waiting for the disk.
    async function* admitted<T>(inputs: T[]) {
      for (const input of inputs) {
        if (unwritten > MAX_UNWRITTEN_CHUNKS) await pushes;
        yield input;
      }
    }

    const ticker = setInterval(() => pushChunk(false), CHUNK_INTERVAL_MS);
    const call = { budgetMs: batch.budget_ms, signal, waiting: board };
    try {
      if (batch.emails.length) {
        await engine.verify(admitted(batch.emails), call, (r) => {
          total++;
          pending.push(r);
          if (pending.length >= CHUNK_SIZE) pushChunk(false);
        });
      }
      const people = batch.people ?? [];
      if (people.length) {
        // A person comes as candidates, or as a name whose candidates are made here, ordered by
        // what the edge knows of the domain: the same code as the single find's (core/finder).
        const candidatesOf = (p: (typeof people)[number]) =>
          p.candidates ?? findCandidates(p.person!, p.person!.domain, batch.known?.[p.person!.domain.toLowerCase()] ?? []);
        await engine.find(admitted(people.map(candidatesOf)), call, (a, i) => {
          total++;
          // A person's answer goes back under the key the edge gave it.
          const { trace: _t, ...answer } = a;
          finds.push({ ...answer, key: people[i]!.key });
          if (finds.length >= CHUNK_SIZE) pushChunk(false);
        });
      }
    } finally {
      clearInterval(ticker);
      pushChunk(true);
      await pushes;
    }
    return total;
  }

  const app = new Hono<Env>();

  app.use(async (c, next) => {
    const requestId = newId("req");
    c.set("requestId", requestId);
    c.header("x-request-id", requestId);
    await next();
  });

  app.post("/v1/batches", async (c) => {
    const body = await readQstashSigned(c, MAX_BODY_BYTES);
    if (!body.ok) return body.response;
    const parsed = BatchSchema.safeParse(parseJson(body.text));
    if (!parsed.success) return errorResponse(c, "invalid_batch", describeIssues(parsed.error));
    const batch = parsed.data;
    // Results go only to the configured edge; a batch that wants them elsewhere is a
    // misconfiguration (the edge's MXRAY_PUBLIC_URL is not this EDGE_URL) or a forgery: refused
    // before any SMTP work, so it shows at the sender instead of results quietly going astray.
    if (batch.callback_url !== undefined && new URL(batch.callback_url).href !== resultsUrl) {
      return errorResponse(c, "callback_not_allowed", `callback_url must be ${resultsUrl} (this probe's EDGE_URL)`);
    }
    if (isDraining) return errorResponse(c, "draining", "probe is shutting down", RETRY_AFTER_DRAINING_S);
    if (running.has(batch.batch_id)) {
      return errorResponse(c, "already_running", `batch ${batch.batch_id} is already running`);
    }
    // One slot beyond capacity is kept for a newcomer's batch (BatchSchema.reserve).
    if (running.size >= config.MXRAY_MAX_INFLIGHT_BATCHES + (batch.reserve ? 1 : 0)) {
      return errorResponse(c, "busy", "too many batches in flight", RETRY_AFTER_BUSY_S);
    }

    const abort = new AbortController();
    const work = runBatch(batch, abort.signal);
    running.set(batch.batch_id, { done: work.then(() => {}, () => {}), abort });
    metrics.batchesInFlight.set(running.size);
    log("batch started", { batch_id: batch.batch_id, job_id: batch.job_id, emails: batch.emails.length, people: batch.people?.length ?? 0 });
    try {
      const results = await work;
      log("batch finished", { batch_id: batch.batch_id, results });
      return c.json({ batch_id: batch.batch_id, results });
    } finally {
      running.delete(batch.batch_id);
      metrics.batchesInFlight.set(running.size);
    }
  });

  /** A signed single check, answered in the response within its budget; drains wait for it. */
  async function answerNow<Req extends { budget_ms?: number | undefined; trace?: boolean | undefined }, Out>(
    c: Context<Env>,
    schema: z.ZodType<Req>,
    run: (req: Req, call: VerifyCall, done: (out: Out) => void) => Promise<void>,
  ) {
    // Bound to this method and route (core/signing.ts): a body signed for another route fails.
    const body = await readHmacSigned(c, MAX_VERIFY_BODY_BYTES);
    if (!body.ok) return body.response;
    const parsed = schema.safeParse(parseJson(body.text));
    if (!parsed.success) return errorResponse(c, "invalid_request", describeIssues(parsed.error));
    if (isDraining) return errorResponse(c, "draining", "probe is shutting down", RETRY_AFTER_DRAINING_S);

    const budgetMs = parsed.data.budget_ms ?? DEFAULT_VERIFY_BUDGET_MS;
    let out: Out | null = null;
    const work = run(parsed.data, { budgetMs, trace: parsed.data.trace, signal: AbortSignal.timeout(budgetMs), urgent: true }, (o) => (out = o));
    const settled = work.then(() => {}, () => {});
    verifications.add(settled);
    try {
      await work;
    } finally {
      verifications.delete(settled);
    }
    if (out === null) return errorResponse(c, "no_result", "the engine finished without an answer");
    return c.json(out);
  }

  app.post("/v1/verify", (c) => answerNow<VerifyRequest, Result>(c, VerifyRequestSchema, (req, call, done) => engine.verify([req.email], call, done)));
  app.post("/v1/find", (c) => answerNow<FindRequest, FindAnswer>(c, FindRequestSchema, (req, call, done) => engine.find([req.candidates], call, done)));

  if (deps.sending) {
    const sending = deps.sending;

    app.post("/v1/sends", async (c) => {
      const body = await readQstashSigned(c, MAX_BODY_BYTES, sendsUrl);
      if (!body.ok) return body.response;
      const parsed = SendBatchSchema.safeParse(parseJson(body.text));
      if (!parsed.success) return errorResponse(c, "invalid_batch", describeIssues(parsed.error));
      const batch = parsed.data;
      // Outcomes go only to the configured edge, as results do (/v1/batches).
      if (batch.callback_url !== undefined && new URL(batch.callback_url).href !== sendResultsUrl) {
        return errorResponse(c, "callback_not_allowed", `callback_url must be ${sendResultsUrl} (this probe's EDGE_URL)`);
      }
      if (isDraining) return errorResponse(c, "draining", "probe is shutting down", RETRY_AFTER_DRAINING_S);
      if (running.has(batch.batch_id)) return errorResponse(c, "already_running", `batch ${batch.batch_id} is already running`);
      // Send batches take the same slots as verification batches.
      if (running.size >= config.MXRAY_MAX_INFLIGHT_BATCHES) return errorResponse(c, "busy", "too many batches in flight", RETRY_AFTER_BUSY_S);

      const abort = new AbortController();
      const work = sending.runBatch(batch, abort.signal);
      running.set(batch.batch_id, { done: work.then(() => {}, () => {}), abort });
      metrics.batchesInFlight.set(running.size);
      log("send batch started", { batch_id: batch.batch_id, campaign_id: batch.campaign_id, attempt: batch.attempt, recipients: batch.recipients.length });
      try {
        return c.json(await work);
      } finally {
        running.delete(batch.batch_id);
        metrics.batchesInFlight.set(running.size);
      }
    });

    // Single calls the edge waits for, HMAC-signed like /v1/verify; within their budget.
    app.post("/v1/relays/test", (c) =>
      answerNow<RelayTestRequest, RelayTestAnswer>(c, RelayTestRequestSchema, async (req, call, done) => done(await sending.testRelay(req, call.budgetMs!))),
    );
    app.post("/v1/messages", (c) =>
      answerNow<MessageRequest, MessageAnswer>(c, MessageRequestSchema, async (req, call, done) => done(await sending.sendMessage(req, call.budgetMs!))),
    );
    app.post("/v1/dns/sender-check", (c) =>
      answerNow<SenderCheckRequest, SenderCheckAnswer>(c, SenderCheckRequestSchema, async (req, _call, done) => done(await sending.checkSender(req))),
    );
  }

  if (deps.bounces) {
    const bounces = deps.bounces;
    // A mailbox's test: connect, TLS, log in, EXAMINE the folder (read-only), within its budget.
    app.post("/v1/mailboxes/test", (c) =>
      answerNow<MailboxTestRequest, MailboxTestAnswer>(c, MailboxTestRequestSchema, async (req, call, done) => done(await bounces.testMailbox(req, call.budgetMs!))),
    );
    // A read now: answered as soon as it is queued; what it finds goes to the edge as reports.
    app.post("/v1/mailboxes/poll", async (c) => {
      const body = await readHmacSigned(c, MAX_VERIFY_BODY_BYTES);
      if (!body.ok) return body.response;
      const parsed = MailboxPollRequestSchema.safeParse(parseJson(body.text));
      if (!parsed.success) return errorResponse(c, "invalid_request", describeIssues(parsed.error));
      if (isDraining) return errorResponse(c, "draining", "probe is shutting down", RETRY_AFTER_DRAINING_S);
      return c.json({ ok: true, queued: bounces.poll(parsed.data.mailbox) });
    });
  }

  app.get("/healthz", (c) =>
    c.json(
      { ok: !isDraining, probe_id: probeId, in_flight: running.size, draining: isDraining },
      isDraining ? 503 : 200,
    ),
  );

  app.get("/metrics", async (c) => {
    metrics.outboxDepth.set(outbox.depth());
    return c.text(await metrics.registry.metrics(), 200, { "content-type": metrics.registry.contentType });
  });

  app.notFound((c) => errorResponse(c, "not_found", `no route for ${c.req.method} ${c.req.path}`));
  app.onError((err, c) => {
    log("request failed", { path: c.req.path, error: String(err) });
    return errorResponse(c, "internal", "internal error");
  });

  async function waitForWork(): Promise<void> {
    await Promise.all([...[...running.values()].map((r) => r.done), ...verifications]);
  }

  return {
    app,
    inFlight: () => running.size,
    draining: () => isDraining,
    async drain(graceMs?: number) {
      isDraining = true;
      if (graceMs === undefined) return waitForWork();
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<"grace_over">((resolve) => {
        timer = setTimeout(() => resolve("grace_over"), graceMs);
      });
      const outcome = await Promise.race([waitForWork(), graceOver]);
      clearTimeout(timer);
      if (outcome === "grace_over") {
        log("drain grace over, aborting batches in flight", { in_flight: running.size });
        for (const r of running.values()) r.abort.abort(new Error("probe shutting down"));
        await waitForWork();
      }
    },
  };
}

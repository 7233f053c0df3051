// Test helpers for the probe's HTTP server (no production code imports it): a fake engine, an
// in-memory outbox, and signed posts.
import { expect } from "vitest";
import type { FindCandidate, Result, ResultChunk, SendChunk } from "../core/contracts.ts";
import { composeFind, names } from "../core/finder/answer.ts";
import { signQstash } from "../core/qstash.ts";
import { parseAddress } from "../core/address.ts";
import { buildResult, invalidSyntaxResult } from "../core/result.ts";
import type { Facts } from "../core/verdict.ts";
import type { Engine, VerifyCall } from "./engine.ts";
import { createMetrics } from "./metrics.ts";
import { isSendChunk, type Outbox } from "./outbox.ts";
import type { Sending } from "./sending/sending.ts";
import { createProbeApp } from "./server.ts";

export const config = {
  PUBLIC_URL: "https://probe.example.test",
  EDGE_URL: "https://edge.example.test",
  PROBE_SECRET: "probe-secret-for-tests-0123456789",
  QSTASH_CURRENT_SIGNING_KEY: "qstash-current",
  QSTASH_NEXT_SIGNING_KEY: "qstash-next",
  MXRAY_MAX_INFLIGHT_BATCHES: 2,
};
export const BATCHES_URL = `${config.PUBLIC_URL}/v1/batches`;

/**
 * Like the engine, one result per address, a bad one included: bad syntax is its own verdict,
 * local part "nobody" is rejected, anything else accepted; the record comes from core's builder.
 */
export function fakeResult(email: string): Result {
  const parsed = parseAddress(email);
  if (!parsed.ok) return invalidSyntaxResult(email);
  const rejected = email.startsWith("nobody@");
  const facts: Facts = {
    syntax: { ok: true },
    disposable: false,
    role: false,
    free: false,
    dns: { kind: "mx", hosts: ["mx.test"] },
    smtp: {
      kind: "reply",
      rcpt: rejected ? "mailbox_not_found" : "accepted",
      reply: { code: rejected ? 550 : 250, enhanced: rejected ? "5.1.1" : "2.1.5", message: "" },
      mx: "mx.test",
    },
    catchAll: false,
  };
  return buildResult({ email, normalized: parsed.normalized, facts, mx: "mx.test", smtp: facts.smtp?.kind === "reply" ? facts.smtp.reply : null, durationMs: 1 });
}

/** A fake engine; `gate`, when set, holds every call until it resolves. */
export function fakeEngine(gate?: Promise<void>) {
  const calls: { emails: string[]; call: VerifyCall }[] = [];
  const findCalls: { people: FindCandidate[][]; call: VerifyCall }[] = [];
  const engine: Engine = {
    async verify(source, call, onResult) {
      const emails: string[] = [];
      for await (const e of source) emails.push(e);
      calls.push({ emails, call });
      if (gate) await gate;
      emails.forEach((e, i) => onResult(fakeResult(e), i));
    },
    async find(source, call, onAnswer) {
      const people: FindCandidate[][] = [];
      for await (const p of source) people.push(p);
      findCalls.push({ people, call });
      if (gate) await gate;
      people.forEach((candidates, i) => {
        const tried: Result[] = [];
        for (const c of candidates) if (!tried.some(names)) tried.push(fakeResult(c.email));
        onAnswer(composeFind(candidates, tried, 1), i);
      });
    },
    openConnections: () => 0,
    close: async () => {},
  };
  return { engine, calls, findCalls };
}

/** An outbox in memory: result chunks and send chunks apart. */
export function memoryOutbox() {
  const chunks: { chunk: ResultChunk }[] = [];
  const sendChunks: SendChunk[] = [];
  const outbox: Outbox = {
    start: async () => {},
    push: async (chunk) => void (isSendChunk(chunk) ? sendChunks.push(chunk) : chunks.push({ chunk })),
    flush: async () => {},
    depth: () => 0,
    close: () => {},
  };
  return { outbox, chunks, sendChunks };
}

export function setup(opts: { gate?: Promise<void>; outbox?: Outbox; sending?: (outbox: Outbox) => Sending } = {}) {
  const { engine, calls, findCalls } = fakeEngine(opts.gate);
  const memory = memoryOutbox();
  const outbox = opts.outbox ?? memory.outbox;
  const metrics = createMetrics();
  const probe = createProbeApp({
    engine,
    config,
    outbox,
    metrics,
    probeId: "prb_test",
    ...(opts.sending ? { sending: opts.sending(outbox) } : {}),
  });
  return { ...probe, calls, findCalls, chunks: memory.chunks, sendChunks: memory.sendChunks, metrics };
}

export async function postBatch(
  app: ReturnType<typeof setup>["app"],
  body: string,
  signature?: string,
): Promise<Response> {
  const sig = signature ?? (await signQstash({ signingKey: config.QSTASH_CURRENT_SIGNING_KEY, url: BATCHES_URL, body }));
  return app.request("/v1/batches", { method: "POST", body, headers: { "upstash-signature": sig } });
}

export function batchBody(batch_id: string, emails: string[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ batch_id, job_id: "job_1", emails, ...extra });
}

export async function errorCode(res: Response): Promise<string> {
  const body = (await res.json()) as { error: { code: string; requestId: string } };
  expect(body.error.requestId).toMatch(/^req_/);
  return body.error.code;
}

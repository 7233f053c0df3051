// Dispatch of batches to probes behind one interface: QStash in production (retries, delays,
// deduplication by batch id, flow control per probe), and, when no QSTASH_TOKEN is set, a direct
// stand-in that signs exactly as QStash does, so the probe's check is the same code. A request
// carries a verification batch (→ /v1/batches) or a campaign's send batch (→ /v1/sends).
import { Client } from "@upstash/qstash";
import type { Batch, SendBatch } from "../../core/contracts.ts";
import { QSTASH_SIGNATURE_HEADER, signQstash } from "../../core/qstash.ts";
import { meter } from "../meter.ts";

interface DispatchTarget {
  /** The probe's public base URL; batches go to `${probeUrl}/v1/batches`, send batches to `${probeUrl}/v1/sends`. */
  probeUrl: string;
  probeId: string;
  /** Not before this many seconds (greylisting re-queues). */
  delaySeconds?: number;
}

export type BatchDispatchRequest = DispatchTarget & { batch: Batch };
export type SendDispatchRequest = DispatchTarget & { send: SendBatch };
export type DispatchRequest = BatchDispatchRequest | SendDispatchRequest;

export type DispatchResult = { ok: true; messageId: string } | { ok: false; error: string };

export interface Dispatcher {
  readonly kind: "qstash" | "direct";
  dispatch(req: DispatchRequest): Promise<DispatchResult>;
}

/** Batches a probe may run at once, as QStash flow control (its own limit answers 429 above). */
export const PROBE_PARALLELISM = 4;
export const DISPATCH_RETRIES = 5;

const targetUrl = (req: DispatchRequest) => `${req.probeUrl.replace(/\/+$/, "")}/v1/${"send" in req ? "sends" : "batches"}`;

/**
 * What makes two publishes one message: the batch id, or a send batch's id and attempt, so a
 * retried publish of one attempt is one message while a re-dispatch after a lapsed lease is a new one.
 */
export const deduplicationId = (req: DispatchRequest): string => ("send" in req ? `${req.send.batch_id}:${req.send.attempt}` : req.batch.batch_id);
const bodyOf = (req: DispatchRequest): Batch | SendBatch => ("send" in req ? req.send : req.batch);

export function createQstashDispatcher(opts: { token: string; baseUrl?: string }): Dispatcher {
  const client = new Client({ token: opts.token, ...(opts.baseUrl ? { baseUrl: opts.baseUrl } : {}) });
  return {
    kind: "qstash",
    async dispatch(req) {
      meter.qstashMessages++;
      try {
        const res = await client.publishJSON({
          url: targetUrl(req),
          body: bodyOf(req),
          deduplicationId: deduplicationId(req),
          retries: DISPATCH_RETRIES,
          flowControl: { key: req.probeId, parallelism: PROBE_PARALLELISM },
          ...(req.delaySeconds ? { delay: req.delaySeconds } : {}),
        });
        return { ok: true, messageId: res.messageId };
      } catch (e) {
        return { ok: false, error: e instanceof Error ? e.message : String(e) };
      }
    },
  };
}

/**
 * The local stand-in: POSTs the batch to the probe with an `Upstash-Signature` minted the way
 * QStash mints it. Like QStash it does not wait for the probe to finish: the delivery runs in
 * the background (`waitUntil` in the Worker) and is retried on 5xx and 429, as QStash would.
 */
export function createDirectDispatcher(opts: {
  signingKey: string;
  fetch?: typeof fetch;
  waitUntil?: (p: Promise<unknown>) => void;
  retryDelayMs?: number;
}): Dispatcher {
  const doFetch = opts.fetch ?? fetch;
  const retryDelayMs = opts.retryDelayMs ?? 1000;
  const deliver = async (req: DispatchRequest) => {
    if (req.delaySeconds) await new Promise((r) => setTimeout(r, req.delaySeconds! * 1000));
    const url = targetUrl(req);
    const body = JSON.stringify(bodyOf(req));
    for (let attempt = 0; attempt <= DISPATCH_RETRIES; attempt++) {
      try {
        const res = await doFetch(url, {
          method: "POST",
          body,
          headers: { "content-type": "application/json", [QSTASH_SIGNATURE_HEADER]: await signQstash({ signingKey: opts.signingKey, url, body }) },
        });
        await res.body?.cancel();
        if (res.ok || (res.status < 500 && res.status !== 429)) return;
      } catch {
        // the probe is unreachable: retry like QStash
      }
      await new Promise((r) => setTimeout(r, retryDelayMs * 2 ** attempt));
    }
  };
  return {
    kind: "direct",
    async dispatch(req) {
      meter.qstashMessages++; // what QStash would have carried
      const delivery = deliver(req);
      if (opts.waitUntil) opts.waitUntil(delivery);
      else void delivery;
      return { ok: true, messageId: `direct_${deduplicationId(req)}` };
    },
  };
}

// Durable outbox for what batches answer: result chunks (verification) and send chunks (campaign
// outcomes, issue 23), each posted to its own path of the edge. Each chunk is written to disk
// before it is posted, and its file is removed only when the edge acknowledges it (or refuses it
// for good). A probe that dies mid-batch re-sends its leftovers on the next start; (batch_id, seq)
// makes a repeat harmless.
// Up to `parallel` chunks are in flight at once, never two of one batch: a batch's chunks arrive
// in order (its final chunk closes it at the edge), while chunks of different batches overlap
// the edge's round trips. Chunks go only to the configured edge (EDGE_URL), never to a URL a
// batch names. A chunk that keeps failing is moved to a dead-letter folder so its batch's later
// chunks can go: the edge re-queues what a batch never answered, so nothing is lost but work.
import { randomUUID } from "node:crypto";
import { mkdir, readFile, readdir, rename, rm, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import type { ResultChunk, SendChunk } from "../core/contracts.ts";
import { SIGNATURE_HEADER, sign } from "../core/signing.ts";

export type Log = (message: string, fields?: Record<string, unknown>) => void;

export const RESULTS_PATH = "/internal/probes/results";
export const SEND_RESULTS_PATH = "/internal/probes/sends/results";

/** What the outbox carries: a send chunk says so (`kind: "send"`); a result chunk predates kinds. */
export type OutboxChunk = ResultChunk | SendChunk;

export const isSendChunk = (chunk: OutboxChunk): chunk is SendChunk => "kind" in chunk && chunk.kind === "send";
const pathOf = (chunk: OutboxChunk) => (isSendChunk(chunk) ? SEND_RESULTS_PATH : RESULTS_PATH);

export interface OutboxHooks {
  /** A chunk the edge acknowledged. */
  posted?(chunk: OutboxChunk): void;
  /** A failed attempt: "retry" will be sent again, "dropped" never will. */
  failed?(kind: "retry" | "dropped"): void;
  depthChanged?(depth: number): void;
  /** Chunks in the dead-letter folder, after start() counted them and after each one moved there. */
  deadLettersChanged?(count: number): void;
}

export interface OutboxOptions {
  dir: string;
  edgeUrl: string;
  secret: string;
  fetch?: typeof fetch;
  log?: Log;
  hooks?: OutboxHooks;
  /** First retry delay; doubles per attempt up to maxDelayMs, with full jitter. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  requestTimeoutMs?: number;
  /** Chunks in flight at once (each of a different batch). */
  parallel?: number;
  /**
   * A chunk moves to the dead-letter folder once it has failed maxAttempts times in this run AND
   * was queued maxAgeMs ago: the attempts give a chunk left by an earlier run its chances; the age
   * keeps a short edge outage from moving anything.
   */
  maxAttempts?: number;
  maxAgeMs?: number;
  /** Wall clock (Unix ms), for chunk ages; tests inject their own. */
  now?: () => number;
}

export const DEFAULT_OUTBOX_PARALLEL = 4;
export const DEFAULT_MAX_ATTEMPTS = 10;
/** Past the edge's batch lease (7 min): by then the edge has re-dispatched the batch anyway. */
export const DEFAULT_MAX_AGE_MS = 10 * 60_000;
/** Inside the outbox folder, so it shares its volume and permissions (systemd, Docker). */
export const DEAD_LETTER_DIR = "dead";

export interface Outbox {
  /** Re-queues chunks left on disk by an earlier run; call once before pushing. */
  start(): Promise<void>;
  /** Resolves once the chunk is on disk and queued (not when it is delivered). */
  push(chunk: OutboxChunk): Promise<void>;
  /** Resolves when everything queued so far has been delivered, dropped or dead-lettered. */
  flush(): Promise<void>;
  depth(): number;
  /** Stops sending after the current attempt; undelivered chunks stay on disk for the next start. */
  close(): void;
}

/** A queued chunk is only its file: while the edge is away the queue grows on disk, not in memory. */
interface Entry {
  file: string;
  batchId: string;
}

/** Files written before callbacks were refused also hold a `url`; it is ignored. */
interface StoredEntry {
  chunk: OutboxChunk;
}

type Attempt = "delivered" | "retry" | "dropped";

/** RFC 9110 §15: these say "try again later"; any other 4xx says the request itself is wrong. */
function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}

/** Retry-After in seconds (RFC 9110 §10.2.3); the HTTP-date form is rare enough to ignore. */
function retryAfterMs(header: string | null): number | null {
  const s = Number(header);
  return header !== null && Number.isFinite(s) && s >= 0 ? s * 1000 : null;
}

function chunkFileName(nowMs: number, counter: number): string {
  // Lexical order is send order across restarts: time first, then a per-process counter.
  return `${String(nowMs).padStart(15, "0")}-${String(counter).padStart(8, "0")}.json`;
}

/** When the chunk was queued, from its file name (see chunkFileName). */
function queuedAt(file: string): number {
  return Number(basename(file).slice(0, 15));
}

export function createOutbox(options: OutboxOptions): Outbox {
  const doFetch = options.fetch ?? fetch;
  const log: Log = options.log ?? (() => {});
  const baseDelayMs = options.baseDelayMs ?? 500;
  const maxDelayMs = options.maxDelayMs ?? 30_000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 15_000;
  const parallel = Math.max(1, options.parallel ?? DEFAULT_OUTBOX_PARALLEL);
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const maxAgeMs = options.maxAgeMs ?? DEFAULT_MAX_AGE_MS;
  const now = options.now ?? Date.now;
  const edgeUrl = options.edgeUrl.replace(/\/+$/, "");
  const deadDir = join(options.dir, DEAD_LETTER_DIR);
  let deadLetters = 0;

  const queue: Entry[] = [];
  const inFlight = new Set<Entry>();
  const busyBatches = new Set<string>();
  let counter = 0;
  let closed = false;
  let idleWaiters: (() => void)[] = [];
  let writes: Promise<unknown> = Promise.resolve();
  const sleepers = new Set<() => void>();

  function depthChanged() {
    options.hooks?.depthChanged?.(queue.length);
  }

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        sleepers.delete(done);
        resolve();
      }
      sleepers.add(done);
    });
  }

  async function attempt(chunk: OutboxChunk): Promise<{ outcome: Attempt; waitMs: number | null }> {
    const body = JSON.stringify(chunk);
    const path = pathOf(chunk);
    try {
      const res = await doFetch(`${edgeUrl}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", [SIGNATURE_HEADER]: await sign(options.secret, { method: "POST", path }, body) },
        body,
        signal: AbortSignal.timeout(requestTimeoutMs),
      });
      await res.body?.cancel().catch(() => {});
      if (res.ok) return { outcome: "delivered", waitMs: null };
      const fields = { status: res.status, path, batch_id: chunk.batch_id, seq: chunk.seq };
      if (isRetryableStatus(res.status)) {
        log("chunk post failed, will retry", fields);
        return { outcome: "retry", waitMs: retryAfterMs(res.headers.get("retry-after")) };
      }
      log("chunk post refused, dropping it", fields);
      return { outcome: "dropped", waitMs: null };
    } catch (err) {
      log("chunk post failed, will retry", { error: String(err), path, batch_id: chunk.batch_id });
      return { outcome: "retry", waitMs: null };
    }
  }

  async function deliver(entry: Entry): Promise<void> {
    let chunk: OutboxChunk;
    try {
      ({ chunk } = JSON.parse(await readFile(entry.file, "utf8")) as StoredEntry);
    } catch (err) {
      log("unreadable outbox file, dropping", { file: entry.file, error: String(err) });
      options.hooks?.failed?.("dropped");
      return;
    }
    for (let tries = 0; !closed; tries++) {
      const { outcome, waitMs } = await attempt(chunk);
      if (outcome === "delivered") options.hooks?.posted?.(chunk);
      if (outcome === "dropped") options.hooks?.failed?.("dropped");
      if (outcome !== "retry") {
        await rm(entry.file, { force: true });
        return;
      }
      options.hooks?.failed?.("retry");
      if (tries + 1 >= maxAttempts && now() - queuedAt(entry.file) >= maxAgeMs) {
        await moveToDeadLetters(entry, chunk);
        return;
      }
      const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** tries);
      await sleep(Math.min(maxDelayMs, waitMs ?? Math.random() * ceiling));
    }
  }

  async function moveToDeadLetters(entry: Entry, chunk: OutboxChunk): Promise<void> {
    await mkdir(deadDir, { recursive: true });
    await rename(entry.file, join(deadDir, basename(entry.file)));
    deadLetters++;
    options.hooks?.deadLettersChanged?.(deadLetters);
    log("chunk keeps failing, moved to the dead-letter folder", { batch_id: chunk.batch_id, seq: chunk.seq, dir: deadDir });
  }

  function wakeIdle() {
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const w of waiters) w();
  }

  /** Starts the oldest chunks whose batch has nothing in flight, up to `parallel`. */
  function pump(): void {
    for (const entry of queue) {
      if (closed || inFlight.size >= parallel) return;
      if (inFlight.has(entry) || busyBatches.has(entry.batchId)) continue;
      inFlight.add(entry);
      busyBatches.add(entry.batchId);
      void deliver(entry).then(() => {
        inFlight.delete(entry);
        busyBatches.delete(entry.batchId);
        if (!closed) {
          queue.splice(queue.indexOf(entry), 1);
          depthChanged();
        }
        if (queue.length === 0 || closed) wakeIdle();
        else pump();
      });
    }
  }

  function enqueue(entry: Entry) {
    queue.push(entry);
    depthChanged();
    pump();
  }

  return {
    async start() {
      await mkdir(options.dir, { recursive: true });
      const all = await readdir(options.dir);
      // A .tmp file is a write that never completed: its chunk was never acknowledged as queued.
      await Promise.all(all.filter((n) => n.endsWith(".tmp")).map((n) => rm(join(options.dir, n), { force: true })));
      const names = all.filter((n) => n.endsWith(".json")).sort();
      deadLetters = all.includes(DEAD_LETTER_DIR) ? (await readdir(deadDir)).filter((n) => n.endsWith(".json")).length : 0;
      options.hooks?.deadLettersChanged?.(deadLetters);
      for (const name of names) {
        const file = join(options.dir, name);
        try {
          const stored = JSON.parse(await readFile(file, "utf8")) as StoredEntry;
          enqueue({ file, batchId: stored.chunk.batch_id });
        } catch (err) {
          log("unreadable outbox file, removing", { file, error: String(err) });
          await rm(file, { force: true });
        }
      }
      if (names.length > 0) log("re-sending chunks left by an earlier run", { count: names.length });
    },

    push(chunk) {
      const entry: Entry = { file: join(options.dir, chunkFileName(now(), counter++)), batchId: chunk.batch_id };
      // Writes are chained so chunks enter the queue in the order they were pushed.
      const written = writes.then(async () => {
        const tmp = `${entry.file}.${randomUUID()}.tmp`;
        await mkdir(options.dir, { recursive: true });
        await writeFile(tmp, JSON.stringify({ chunk } satisfies StoredEntry));
        await rename(tmp, entry.file); // atomic: a crash never leaves half a chunk under a .json name
        enqueue(entry);
      });
      writes = written.catch(() => {});
      return written;
    },

    async flush() {
      await writes;
      if (queue.length === 0 || closed) return;
      await new Promise<void>((resolve) => idleWaiters.push(resolve));
    },

    depth: () => queue.length,

    close() {
      closed = true;
      for (const wake of [...sleepers]) wake();
      wakeIdle();
    },
  };
}

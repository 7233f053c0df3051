// Byte caps on bodies that arrive as web streams (the Worker's Request and @hono/node-server's
// both carry a ReadableStream). A chunked body has no Content-Length to check first, and a declared
// one may lie, so bytes are counted as they arrive and reading stops at the first chunk over the
// cap: an oversized body costs at most the cap plus one chunk, before anything (signatures
// included) looks at it. A reader may also give a deadline (an AbortSignal): a body that trickles
// in is then cut off when it fires, so a slow sender cannot hold what was set aside for it.

/** Stops a read: past its deadline the source is cancelled and the stream errors with `error()`. */
export interface ReadDeadline {
  signal: AbortSignal;
  error: () => Error;
}

/**
 * The stream's bytes, passed through until more than `limit` have arrived; then the source is
 * cancelled (the rest is never read) and the stream errors with what `tooLarge` makes. With a
 * deadline, the same happens when its signal fires before the body has ended.
 */
export function capBytes(stream: ReadableStream<Uint8Array>, limit: number, tooLarge: () => Error, deadline?: ReadDeadline): ReadableStream<Uint8Array> {
  const reader = stream.getReader();
  let seen = 0;
  const TIMED_OUT = Symbol("timed out");
  const timedOut = deadline
    ? new Promise<typeof TIMED_OUT>((resolve) => {
        if (deadline.signal.aborted) return resolve(TIMED_OUT);
        deadline.signal.addEventListener("abort", () => resolve(TIMED_OUT), { once: true });
      })
    : null;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const next = deadline?.signal.aborted ? TIMED_OUT : timedOut ? await Promise.race([reader.read(), timedOut]) : await reader.read();
        if (next === TIMED_OUT) {
          await reader.cancel("body not read in time").catch(() => {});
          return controller.error(deadline!.error());
        }
        const { done, value } = next;
        if (done) return controller.close();
        seen += value.byteLength;
        if (seen > limit) {
          await reader.cancel("body over the size limit").catch(() => {});
          return controller.error(tooLarge());
        }
        controller.enqueue(value);
      },
      cancel: (reason) => reader.cancel(reason),
    },
    // Pull only when asked: nothing is read ahead of the consumer.
    { highWaterMark: 0 },
  );
}

export type LimitedBody = { ok: true; bytes: Uint8Array<ArrayBuffer> } | { ok: false; error: "too_large" | "timeout" };

class TooLarge extends Error {}
class TimedOut extends Error {}

/**
 * Reads the stream to its end, or stops as soon as more than maxBytes have arrived, or (given a
 * signal) when the signal fires first.
 */
export async function readLimited(stream: ReadableStream<Uint8Array> | null, maxBytes: number, deadline?: AbortSignal): Promise<LimitedBody> {
  if (!stream) return { ok: true, bytes: new Uint8Array(0) };
  try {
    const capped = capBytes(stream, maxBytes, () => new TooLarge(), deadline ? { signal: deadline, error: () => new TimedOut() } : undefined);
    return { ok: true, bytes: new Uint8Array(await new Response(capped).arrayBuffer()) };
  } catch (err) {
    if (err instanceof TooLarge) return { ok: false, error: "too_large" };
    if (err instanceof TimedOut) return { ok: false, error: "timeout" };
    throw err;
  }
}

/** A declared Content-Length over the cap is refused unread; the stream is capped either way. */
export async function readRequestLimited(req: Request, maxBytes: number, deadline?: AbortSignal): Promise<LimitedBody> {
  const declared = Number(req.headers.get("content-length") ?? "");
  if (declared > maxBytes) {
    await req.body?.cancel().catch(() => {});
    return { ok: false, error: "too_large" };
  }
  return readLimited(req.body, maxBytes, deadline);
}

/** A whole body as UTF-8 text, reading at most `limit` bytes; over it, throws what `tooLarge` makes. */
export async function readCappedText(stream: ReadableStream<Uint8Array> | null, limit: number, tooLarge: () => Error): Promise<string> {
  const body = await readLimited(stream, limit);
  if (!body.ok) throw tooLarge();
  return new TextDecoder().decode(body.bytes);
}

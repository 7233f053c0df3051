// Byte caps on bodies that arrive as web streams (the Worker's Request and @hono/node-server's
// both carry a ReadableStream). A chunked body has no Content-Length to check first, and a declared
// one may lie, so bytes are counted as they arrive and reading stops at the first chunk over the
// cap: an oversized body costs at most the cap plus one chunk, before anything (signatures
// included) looks at it.

/**
 * The stream's bytes, passed through until more than `limit` have arrived; then the source is
 * cancelled (the rest is never read) and the stream errors with what `tooLarge` makes.
 */
export function capBytes(stream: ReadableStream<Uint8Array>, limit: number, tooLarge: () => Error): ReadableStream<Uint8Array> {
  const reader = stream.getReader();
  let seen = 0;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const { done, value } = await reader.read();
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

export type LimitedBody = { ok: true; bytes: Uint8Array<ArrayBuffer> } | { ok: false; error: "too_large" };

class TooLarge extends Error {}

/** Reads the stream to its end, or stops as soon as more than maxBytes have arrived. */
export async function readLimited(stream: ReadableStream<Uint8Array> | null, maxBytes: number): Promise<LimitedBody> {
  if (!stream) return { ok: true, bytes: new Uint8Array(0) };
  try {
    return { ok: true, bytes: new Uint8Array(await new Response(capBytes(stream, maxBytes, () => new TooLarge())).arrayBuffer()) };
  } catch (err) {
    if (err instanceof TooLarge) return { ok: false, error: "too_large" };
    throw err;
  }
}

/** A declared Content-Length over the cap is refused unread; the stream is capped either way. */
export async function readRequestLimited(req: Request, maxBytes: number): Promise<LimitedBody> {
  const declared = Number(req.headers.get("content-length") ?? "");
  if (declared > maxBytes) {
    await req.body?.cancel().catch(() => {});
    return { ok: false, error: "too_large" };
  }
  return readLimited(req.body, maxBytes);
}

/** A whole body as UTF-8 text, reading at most `limit` bytes; over it, throws what `tooLarge` makes. */
export async function readCappedText(stream: ReadableStream<Uint8Array> | null, limit: number, tooLarge: () => Error): Promise<string> {
  const body = await readLimited(stream, limit);
  if (!body.ok) throw tooLarge();
  return new TextDecoder().decode(body.bytes);
}

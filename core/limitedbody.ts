// Reads a request body up to a byte cap while it streams in, on web streams only (the Worker's
// Request and @hono/node-server's both carry a ReadableStream), so an oversized body (chunked, or
// with a Content-Length that lies) is refused after at most maxBytes + one chunk in memory,
// before anything, signatures included, looks at it.

export type LimitedBody = { ok: true; bytes: Uint8Array } | { ok: false; error: "too_large" };

/** Reads the stream to its end, or cancels it as soon as more than maxBytes have arrived. */
export async function readLimited(stream: ReadableStream<Uint8Array> | null, maxBytes: number): Promise<LimitedBody> {
  if (!stream) return { ok: true, bytes: new Uint8Array(0) };
  const reader = stream.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel("body over the size limit").catch(() => {});
      return { ok: false, error: "too_large" };
    }
    parts.push(value);
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.byteLength;
  }
  return { ok: true, bytes };
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

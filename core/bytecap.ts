// Byte caps on bodies that arrive as streams: a chunked request has no Content-Length to check
// first, so bytes are counted as they arrive and reading stops at the first one over the cap.

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
          await reader.cancel().catch(() => {});
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

/** A whole body as UTF-8 text, reading at most `limit` bytes (see capBytes). */
export async function readCappedText(stream: ReadableStream<Uint8Array> | null, limit: number, tooLarge: () => Error): Promise<string> {
  if (!stream) return "";
  const reader = capBytes(stream, limit, tooLarge).getReader();
  const decoder = new TextDecoder();
  let text = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text + decoder.decode();
    text += decoder.decode(value, { stream: true });
  }
}

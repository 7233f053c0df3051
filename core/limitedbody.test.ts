import { describe, expect, it } from "vitest";
import { capBytes, readCappedText, readLimited } from "./limitedbody.ts";

class TooLarge extends Error {}

/** An endless body of `size`-byte chunks that counts what was pulled from it. */
function endless(size: number) {
  const state = { pulled: 0, cancelled: false };
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        state.pulled += size;
        controller.enqueue(new Uint8Array(size).fill(97));
      },
      cancel() {
        state.cancelled = true;
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, state };
}

const bytesOf = (text: string) => new Response(text).body!;

describe("capBytes", () => {
  it("passes a body at the cap through whole", async () => {
    expect(await new Response(capBytes(bytesOf("x".repeat(100)), 100, () => new TooLarge())).text()).toBe("x".repeat(100));
  });

  it("errors at the first chunk past the cap, cancelling the source without reading the rest", async () => {
    const { stream, state } = endless(1000);
    await expect(new Response(capBytes(stream, 10_000, () => new TooLarge())).text()).rejects.toBeInstanceOf(TooLarge);
    expect(state.pulled).toBeLessThanOrEqual(11_000);
    expect(state.cancelled).toBe(true);
  });
});

describe("readCappedText", () => {
  it("reads text up to the cap, multi-byte characters split across chunks included", async () => {
    const bytes = new TextEncoder().encode("é€😀");
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (const b of bytes) c.enqueue(new Uint8Array([b]));
        c.close();
      },
    });
    expect(await readCappedText(stream, bytes.length, () => new TooLarge())).toBe("é€😀");
    expect(await readCappedText(null, 10, () => new TooLarge())).toBe("");
  });

  it("refuses a body over the cap", async () => {
    await expect(readCappedText(endless(64).stream, 1000, () => new TooLarge())).rejects.toBeInstanceOf(TooLarge);
  });
});

describe("readLimited with a deadline", () => {
  it("cuts off a body that trickles past its deadline and cancels the source", async () => {
    const state = { pulls: 0, cancelled: false };
    let stalled!: () => void;
    const waiting = new Promise<void>((resolve) => (stalled = resolve));
    const stream = new ReadableStream<Uint8Array>(
      {
        async pull(controller) {
          // One byte, then nothing more, as a slow sender's body.
          if (state.pulls++ === 0) return controller.enqueue(new Uint8Array(1));
          stalled();
          await new Promise(() => {});
        },
        cancel() {
          state.cancelled = true;
        },
      },
      { highWaterMark: 0 },
    );
    const deadline = new AbortController();
    const read = readLimited(stream, 1000, deadline.signal);
    await waiting;
    deadline.abort();
    expect(await read).toEqual({ ok: false, error: "timeout" });
    expect(state.cancelled).toBe(true);
  });

  it("reads a body that ends in time whole, and one whose deadline already passed not at all", async () => {
    expect(await readLimited(bytesOf("abc"), 10, new AbortController().signal)).toEqual({ ok: true, bytes: new TextEncoder().encode("abc") });
    const { stream, state } = endless(10);
    expect(await readLimited(stream, 1000, AbortSignal.abort())).toEqual({ ok: false, error: "timeout" });
    expect(state.pulled).toBeLessThanOrEqual(10);
  });
});

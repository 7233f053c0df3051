import { describe, expect, it } from "vitest";
import { MAX_FORM_BYTES, withCappedBody } from "./formbody.ts";

/** A body that never ends, counting what was pulled from it. */
function endless() {
  const state = { pulled: 0 };
  const body = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        state.pulled += 16_384;
        controller.enqueue(new Uint8Array(16_384).fill(97));
      },
    },
    { highWaterMark: 0 },
  );
  return { body, state };
}

describe("withCappedBody", () => {
  it("hands a page action its form whole when it is small", async () => {
    const form = new URLSearchParams({ intent: "create", name: "ci" });
    const req = await withCappedBody(new Request("http://app.test/keys", { method: "POST", body: form }));
    expect(Object.fromEntries(await req!.formData())).toEqual({ intent: "create", name: "ci" });
  });

  it("refuses an endless chunked form after reading about the cap, not all of it", async () => {
    const { body, state } = endless();
    const req = new Request("http://app.test/team", { method: "POST", body, headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(await withCappedBody(req)).toBeNull();
    expect(state.pulled).toBeLessThanOrEqual(MAX_FORM_BYTES + 16_384);
  });

  it("leaves the streamed upload route and bodiless requests alone", async () => {
    const { body, state } = endless();
    const upload = new Request("http://app.test/upload/file", { method: "POST", body });
    expect(await withCappedBody(upload)).toBe(upload);
    expect(state.pulled).toBe(0);
    const get = new Request("http://app.test/keys");
    expect(await withCappedBody(get)).toBe(get);
  });
});

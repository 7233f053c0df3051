// Test helpers shared by tests on every runtime (no production code imports it).

/** mulberry32: a seeded generator, so a failing generated case can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** "ok", or the `code` of the error of class `kind` the work threw (anything else is rethrown). */
export async function thrownCode(work: Promise<unknown>, kind: abstract new (...args: never[]) => Error & { code: string }): Promise<string> {
  try {
    await work;
    return "ok";
  } catch (e) {
    if (e instanceof kind) return e.code;
    throw e;
  }
}

/** A body of `total` bytes in `chunkBytes` pieces, made only as it is pulled; says how much was pulled and whether it was cancelled. */
export function lazyBody(total: number, chunkBytes: number) {
  const state = { pulled: 0, cancelled: false };
  const piece = new Uint8Array(chunkBytes).fill(0x61);
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (state.pulled >= total) return controller.close();
        state.pulled += chunkBytes;
        controller.enqueue(piece);
      },
      cancel() {
        state.cancelled = true;
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, state };
}

/** The probe signature's old unbound form (`v1`, over "<t>.<body>"), which verifiers now refuse. */
export async function unboundV1Signature(secret: string, body: string, nowS: number): Promise<string> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${nowS}.${body}`)));
  return `t=${nowS},v1=${Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** An overlong address cell (a `too_long` reject). */
export const CRM_LONG_ADDRESS = `${"x".repeat(600)}@ok.test`;
/**
 * A CRM export's lines (issue 26): a quoted name, repeats differing by case and by display name, a
 * blank address and an overlong one, so a full export's rows can be checked one by one.
 */
export const CRM_LINES = [
  "Name,Email,Company",
  '"Lee, Alice",alice@ok.test,Acme',
  "Bob,bob@ok.test,Beta",
  "Blank,,Gamma",
  "Alice Again,ALICE@ok.test,Acme",
  '"Bob, quoted","""Bob"" <bob@ok.test>",Beta',
  `Long,${CRM_LONG_ADDRESS},Delta`,
  "Carol,carol@ok.test,Gamma",
];

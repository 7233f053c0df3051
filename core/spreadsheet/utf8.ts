// Strict UTF-8 decoding of a stream in chunks, each decoded in one non-streaming call: the bytes of
// a character cut by a chunk's end wait for the next chunk. (Node's TextDecoder decodes a
// { stream: true } call through ICU, several times slower than its one-shot path; a sheet's XML is
// hundreds of megabytes.) Bytes that are not UTF-8 throw, as a fatal TextDecoder's would.

export class Utf8Chunks {
  private readonly decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
  private carry: Uint8Array | null = null;
  private started = false;

  decode(chunk: Uint8Array): string {
    let bytes = chunk;
    if (this.carry) {
      bytes = new Uint8Array(this.carry.length + chunk.length);
      bytes.set(this.carry);
      bytes.set(chunk, this.carry.length);
      this.carry = null;
    }
    const cut = completeUpTo(bytes);
    if (cut < bytes.length) this.carry = bytes.slice(cut);
    return this.text(bytes.subarray(0, cut));
  }

  /** What is left: a character cut short is an error. */
  end(): string {
    const rest = this.carry;
    this.carry = null;
    return rest ? this.text(rest) : "";
  }

  private text(bytes: Uint8Array): string {
    if (bytes.length === 0) return "";
    const text = this.decoder.decode(bytes);
    // A byte order mark only at the very start (one-shot decoding strips it from every call).
    if (!this.started) {
      this.started = true;
      return text;
    }
    return bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? `\ufeff${text}` : text;
  }
}

/** Where the last whole character ends: the bytes after it start a character the chunk cuts. */
function completeUpTo(bytes: Uint8Array): number {
  const n = bytes.length;
  let i = n - 1;
  while (i >= 0 && i > n - 4 && (bytes[i]! & 0xc0) === 0x80) i--;
  if (i < 0) return n;
  const lead = bytes[i]!;
  const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return n - i < need ? i : n;
}

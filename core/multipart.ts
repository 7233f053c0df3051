// A streaming reader of multipart/form-data (RFC 7578, RFC 2046 §5.1) for uploads: the small
// text fields before the file are read whole, and the file part comes back as a stream of its
// bytes while the request is still arriving, so an 80 MiB list is never held in memory. Fields
// after the file cannot steer a list already being read: naming one there is an error.
import { concat } from "./bytes.ts";

export class MultipartError extends Error {}

/** Header block of one part, and a text field's value, at most this many bytes. */
export const MAX_PART_HEADER_BYTES = 16 * 1024;
export const MAX_FIELD_BYTES = 64 * 1024;

export interface MultipartUpload {
  /** The `steering` fields that came before the file. */
  fields: Map<string, string>;
  /** The file part: its filename and its bytes as they arrive; null when the body has none. */
  file: { filename: string; stream: ReadableStream<Uint8Array> } | null;
}

export function boundaryOf(contentType: string): string | null {
  const m = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType);
  return m ? (m[1] ?? m[2]!) : null;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function indexOf(haystack: Uint8Array, needle: Uint8Array, from = 0): number {
  const first = needle[0]!;
  outer: for (let i = haystack.indexOf(first, from); i !== -1 && i <= haystack.length - needle.length; i = haystack.indexOf(first, i + 1)) {
    for (let k = 1; k < needle.length; k++) if (haystack[i + k] !== needle[k]) continue outer;
    return i;
  }
  return -1;
}

/** Bytes from a stream with look-ahead; what is consumed is dropped. */
class Bytes {
  buf: Uint8Array;
  private ended = false;
  constructor(
    private readonly reader: ReadableStreamDefaultReader<Uint8Array>,
    prefix: Uint8Array,
  ) {
    this.buf = prefix;
  }

  /** Reads one more chunk; false at the end of the stream. */
  async more(): Promise<boolean> {
    if (this.ended) return false;
    const { done, value } = await this.reader.read();
    if (done) {
      this.ended = true;
      return false;
    }
    this.buf = concat(this.buf, value);
    return true;
  }

  /** Consumes through `pattern` and returns what was before it; `limit` bounds the wait. */
  async until(pattern: Uint8Array, limit: number, what: string): Promise<Uint8Array> {
    for (;;) {
      const at = indexOf(this.buf, pattern);
      if (at !== -1) {
        const before = this.buf.slice(0, at);
        this.buf = this.buf.subarray(at + pattern.length);
        return before;
      }
      if (this.buf.length > limit + pattern.length) throw new MultipartError(`${what} is longer than ${limit} bytes`);
      if (!(await this.more())) throw new MultipartError(`the body ended inside ${what}`);
    }
  }

  async take(n: number): Promise<Uint8Array> {
    while (this.buf.length < n) if (!(await this.more())) throw new MultipartError("the body ended before its closing boundary");
    const out = this.buf.slice(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  cancel(reason?: unknown): Promise<void> {
    return this.reader.cancel(reason);
  }
}

interface PartHead {
  name: string;
  filename: string | null;
}

function parseHead(raw: Uint8Array): PartHead {
  const disposition = decoder
    .decode(raw)
    .split("\r\n")
    .find((l) => /^content-disposition\s*:/i.test(l));
  if (!disposition) throw new MultipartError("a part has no Content-Disposition header");
  const param = (key: string) => new RegExp(`;\\s*${key}="((?:[^"\\\\]|\\\\.)*)"`, "i").exec(disposition)?.[1] ?? null;
  const name = param("name");
  if (name === null) throw new MultipartError("a part has no name");
  return { name, filename: param("filename") };
}

/** After a delimiter: the next part's head, or null at the closing delimiter ("--"). */
async function nextPart(bytes: Bytes): Promise<PartHead | null> {
  const after = await bytes.take(2);
  if (after[0] === 45 && after[1] === 45) return null; // "--": the end; an epilogue may follow
  // RFC 2046 allows linear white space after a boundary before its CRLF.
  let line = after;
  while (!(line.at(-2) === 13 && line.at(-1) === 10)) {
    if (line.length > 64 || (line.at(-1) !== 32 && line.at(-1) !== 9 && line.at(-1) !== 13)) throw new MultipartError("a boundary is followed by something other than a line break");
    line = concat(line, await bytes.take(1));
  }
  return parseHead(await bytes.until(encoder.encode("\r\n\r\n"), MAX_PART_HEADER_BYTES, "a part's headers"));
}

/**
 * Reads the fields before the part named `fileField` and hands that part back as a stream. The
 * stream errors with a MultipartError if the body is cut short, or if any of `steering` fields
 * arrives after the file.
 */
export async function readMultipartUpload(
  body: ReadableStream<Uint8Array>,
  boundary: string,
  opts: { fileField: string; steering: string[] },
): Promise<MultipartUpload> {
  // Every delimiter is CRLF "--" boundary; a CRLF in front lets the first one match too.
  const delimiter = encoder.encode(`\r\n--${boundary}`);
  const bytes = new Bytes(body.getReader(), encoder.encode("\r\n"));
  await bytes.until(delimiter, 1024 * 1024, "the preamble");
  const fields = new Map<string, string>();
  for (let head = await nextPart(bytes); head; head = await nextPart(bytes)) {
    if (head.name === opts.fileField) return { fields, file: { filename: head.filename ?? "", stream: fileStream(bytes, delimiter, opts.steering) } };
    const value = await bytes.until(delimiter, MAX_FIELD_BYTES, `the field "${head.name}"`);
    // Only the fields that steer the upload are kept: any number of others costs no memory.
    if (opts.steering.includes(head.name)) fields.set(head.name, decoder.decode(value));
  }
  await bytes.cancel();
  return { fields, file: null };
}

function fileStream(bytes: Bytes, delimiter: Uint8Array, steering: string[]): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        for (;;) {
          const at = indexOf(bytes.buf, delimiter);
          if (at !== -1) {
            if (at > 0) controller.enqueue(bytes.buf.slice(0, at));
            bytes.buf = bytes.buf.subarray(at + delimiter.length);
            await checkTrailing(bytes, delimiter, steering);
            controller.close();
            return;
          }
          // Keep back what could be the start of the delimiter; hand over the rest.
          const safe = bytes.buf.length - (delimiter.length - 1);
          if (safe > 0) {
            controller.enqueue(bytes.buf.slice(0, safe));
            bytes.buf = bytes.buf.subarray(safe);
            return;
          }
          if (!(await bytes.more())) throw new MultipartError("the body ended inside the file");
        }
      } catch (err) {
        await bytes.cancel().catch(() => {});
        controller.error(err);
      }
    },
    cancel: (reason) => bytes.cancel(reason),
  });
}

/** The parts after the file: read and dropped, unless one would have changed how the file is read. */
async function checkTrailing(bytes: Bytes, delimiter: Uint8Array, steering: string[]): Promise<void> {
  for (let head = await nextPart(bytes); head; head = await nextPart(bytes)) {
    if (steering.includes(head.name)) throw new MultipartError(`send the field "${head.name}" before the file`);
    await bytes.until(delimiter, MAX_FIELD_BYTES, `the field "${head.name}"`);
  }
}

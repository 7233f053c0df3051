import { describe, expect, it } from "vitest";
import { boundaryOf, MultipartError, readMultipartUpload } from "./multipart.ts";

/** A body encoded by the platform's own FormData, cut into chunks of `size` bytes. */
async function encoded(form: FormData, size: number): Promise<{ body: ReadableStream<Uint8Array>; boundary: string; bytes: number }> {
  const res = new Response(form);
  const all = new Uint8Array(await res.arrayBuffer());
  let at = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (at >= all.length) return c.close();
      c.enqueue(all.slice(at, at + size));
      at += size;
    },
  });
  return { body, boundary: boundaryOf(res.headers.get("content-type")!)!, bytes: all.length };
}

const text = async (s: ReadableStream<Uint8Array>) => new TextDecoder().decode(new Uint8Array(await new Response(s).arrayBuffer()));
const OPTS = { fileField: "file", steering: ["name", "email_column"] };

describe("readMultipartUpload", () => {
  // CRLFs, a "--" line and bytes that start like the delimiter, in the file itself.
  const content = 'email\r\n"john doe"@x.test\r\n--not-a-boundary\r\n\r\n-\r\n--\r\nbob@y.test\n';

  it.each([1, 2, 3, 7, 64, 1 << 20])("hands over the fields before the file and the file's exact bytes, in chunks of %i", async (size) => {
    const form = new FormData();
    form.set("name", "Leads, Q3");
    form.set("email_column", "email");
    form.set("file", new File([content], "leads.csv", { type: "text/csv" }));
    form.set("note", "after the file, and harmless");
    const { body, boundary } = await encoded(form, size);
    const upload = await readMultipartUpload(body, boundary, OPTS);
    expect(Object.fromEntries(upload.fields)).toEqual({ name: "Leads, Q3", email_column: "email" });
    expect(upload.file!.filename).toBe("leads.csv");
    expect(await text(upload.file!.stream)).toBe(content);
  });

  it("streams: the file's first bytes come out before the body has all arrived", async () => {
    const form = new FormData();
    form.set("file", new File(["a@x.test\n".repeat(100_000)], "big.txt"));
    const { body, boundary, bytes } = await encoded(form, 4096);
    let pulled = 0;
    const counted = body.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({ transform: (c, ctl) => void ((pulled += c.length), ctl.enqueue(c)) }));
    const upload = await readMultipartUpload(counted, boundary, OPTS);
    const reader = upload.file!.stream.getReader();
    await reader.read();
    expect(pulled).toBeLessThan(bytes / 10);
    await reader.cancel();
  });

  it("refuses a steering field after the file, and a body cut short", async () => {
    const late = new FormData();
    late.set("file", new File(["a@x.test\n"], "a.txt"));
    late.set("email_column", "email");
    const one = await encoded(late, 5);
    const upload = await readMultipartUpload(one.body, one.boundary, OPTS);
    await expect(text(upload.file!.stream)).rejects.toThrow(/send the field "email_column" before the file/);

    const full = new FormData();
    full.set("file", new File(["a@x.test\nb@x.test\n"], "a.txt"));
    const res = new Response(full);
    const all = new Uint8Array(await res.arrayBuffer());
    const cut = new Response(all.slice(0, all.length - 20)).body!;
    const broken = await readMultipartUpload(cut, boundaryOf(res.headers.get("content-type")!)!, OPTS);
    await expect(text(broken.file!.stream)).rejects.toBeInstanceOf(MultipartError);
  });

  it("answers no file when the body has none, and reads quoted or bare boundaries", async () => {
    const form = new FormData();
    form.set("name", "x");
    const { body, boundary } = await encoded(form, 3);
    expect((await readMultipartUpload(body, boundary, OPTS)).file).toBeNull();
    expect(boundaryOf('multipart/form-data; boundary="a b:c"')).toBe("a b:c");
    expect(boundaryOf("multipart/form-data; charset=utf-8; boundary=----x1")).toBe("----x1");
    expect(boundaryOf("multipart/form-data")).toBeNull();
  });
});

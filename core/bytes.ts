// Byte helpers shared by core's streaming readers (multipart bodies, zip archives).

/** `a` then `b` in one array; `b` itself when `a` is empty, so a reader's first chunk is not copied. */
export function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

// Prefixed, sortable-enough random ids from one place: job_…, bat_…, key_…, prb_….
const ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz";

export type IdPrefix = "job" | "bat" | "key" | "prb" | "acc" | "whk" | "msg" | "dlv" | "req" | "chk" | "ses" | "rly" | "snd" | "tpl" | "cmp" | "sbt" | "bmx" | "bnc";

export function newId(prefix: IdPrefix, length = 20): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  let out = "";
  for (const b of bytes) out += ALPHABET[b % ALPHABET.length];
  return `${prefix}_${out}`;
}

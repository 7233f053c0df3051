// Typo suggestions for the domains people mistype most: gmial.com → gmail.com, hotmail.con →
// hotmail.com. Conservative on purpose: a wrong "did you mean" on a real company domain is worse
// than none.

const PROVIDERS = [
  "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "yahoo.fr", "yahoo.de", "yahoo.es", "yahoo.it",
  "hotmail.com", "hotmail.co.uk", "hotmail.fr", "hotmail.de", "hotmail.it", "outlook.com", "live.com", "msn.com",
  "icloud.com", "me.com", "mac.com", "aol.com", "gmx.de", "gmx.net", "gmx.com", "web.de", "yandex.ru", "yandex.com",
  "mail.ru", "protonmail.com", "proton.me", "comcast.net", "verizon.net", "att.net", "sbcglobal.net", "orange.fr",
  "free.fr", "wanadoo.fr", "qq.com", "163.com", "naver.com", "t-online.de", "libero.it", "btinternet.com",
];
// Real domains close to a provider above: never "corrected".
const ALSO_REAL = [
  "yahoo.co.jp", "yahoo.ca", "yahoo.com.br", "yahoo.in", "yahoo.com.au", "hotmail.es", "hotmail.ca", "outlook.fr",
  "outlook.de", "live.fr", "live.co.uk", "live.nl", "gmx.at", "gmx.ch", "mail.com", "email.com", "att.com", "web.com",
];
const PROVIDER_SET = new Set([...PROVIDERS, ...ALSO_REAL]);

/** Optimal string alignment distance (Levenshtein plus adjacent swaps). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 0; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

export function suggestDomain(input: string): string | null {
  const domain = input.toLowerCase().replace(/\.$/, "");
  if (PROVIDER_SET.has(domain)) return null;
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const p of PROVIDERS) {
    const dist = editDistance(domain, p);
    if (dist < bestDistance) [best, bestDistance] = [p, dist];
  }
  // One edit for short names, two for longer ones; never a change to most of the name.
  const allowed = domain.length >= 10 ? 2 : 1;
  return best && bestDistance <= allowed ? best : null;
}

export function suggestEmail(email: string): string | null {
  const at = email.lastIndexOf("@");
  if (at <= 0) return null;
  const fixed = suggestDomain(email.slice(at + 1));
  return fixed ? `${email.slice(0, at)}@${fixed}` : null;
}

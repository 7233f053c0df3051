// A number cell as a person sees it: the cell's number format (ECMA-376 Part 1, 18.8.30 for the
// built-in ones, 18.8.31 for the codes) applied to the value stored in <v>. Covers General, digit
// placeholders (0 # ?), thousands and scaling commas, percent, scientific, literals, sections with
// conditions, and dates and times (serial days since 1900, or 1904, with Excel's 1900 leap-year
// bug kept). Month and day names are English. Fractions ("# ?/?") fall back to General.
//
// Formats whose text depends on the reader's locale (built-in 14 and 22, the short date) are shown
// in ISO 8601 (2024-03-14), which no reader misreads; a custom pattern is shown as written.

export type NumberFormatter = (value: number, raw: string) => string;

/** Built-in formats by id (18.8.30, en-US where the standard leaves them to the locale). */
const BUILTIN: Record<number, string> = {
  0: "General",
  1: "0",
  2: "0.00",
  3: "#,##0",
  4: "#,##0.00",
  5: '"$"#,##0_);\\("$"#,##0\\)',
  6: '"$"#,##0_);[Red]\\("$"#,##0\\)',
  7: '"$"#,##0.00_);\\("$"#,##0.00\\)',
  8: '"$"#,##0.00_);[Red]\\("$"#,##0.00\\)',
  9: "0%",
  10: "0.00%",
  11: "0.00E+00",
  12: "# ?/?",
  13: "# ??/??",
  14: "yyyy-mm-dd",
  15: "d-mmm-yy",
  16: "d-mmm",
  17: "mmm-yy",
  18: "h:mm AM/PM",
  19: "h:mm:ss AM/PM",
  20: "h:mm",
  21: "h:mm:ss",
  22: "yyyy-mm-dd h:mm",
  37: "#,##0 ;(#,##0)",
  38: "#,##0 ;[Red](#,##0)",
  39: "#,##0.00;(#,##0.00)",
  40: "#,##0.00;[Red](#,##0.00)",
  41: '_(* #,##0_);_(* \\(#,##0\\);_(* "-"_);_(@_)',
  42: '_("$"* #,##0_);_("$"* \\(#,##0\\);_("$"* "-"_);_(@_)',
  43: '_(* #,##0.00_);_(* \\(#,##0.00\\);_(* "-"??_);_(@_)',
  44: '_("$"* #,##0.00_);_("$"* \\(#,##0.00\\);_("$"* "-"??_);_(@_)',
  45: "mm:ss",
  46: "[h]:mm:ss",
  47: "mm:ss.0",
  48: "##0.0E+0",
  49: "@",
};

/** The code of a built-in format; the locale's East Asian date ids (27–36, 50–58) read as a date. */
export function builtinFormat(id: number): string {
  const code = BUILTIN[id];
  if (code !== undefined) return code;
  if ((id >= 27 && id <= 36) || (id >= 50 && id <= 58)) return "yyyy-mm-dd";
  return "General";
}

const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/** General: integers exactly as stored (a 16-digit ID stays whole), others to 15 significant digits as Excel keeps them. */
export function general(value: number, raw = ""): string {
  if (/^-?\d+$/.test(raw)) return raw.replace(/^(-?)0+(?=\d)/, "$1");
  if (!Number.isFinite(value)) return raw;
  const abs = Math.abs(value);
  if (abs === 0) return "0";
  if (abs >= 1e21 || abs < 1e-6) {
    const [mantissa, exponent] = value.toExponential(14).split("e") as [string, string];
    const sign = exponent.startsWith("-") ? "-" : "+";
    return `${trimZeros(mantissa)}E${sign}${exponent.replace(/^[+-]/, "").padStart(2, "0")}`;
  }
  return String(Number(value.toPrecision(15)));
}

const trimZeros = (s: string) => (s.includes(".") ? s.replace(/\.?0+$/, "") : s);

type Token =
  | { t: "lit"; s: string }
  | { t: "date"; s: string }
  | { t: "ampm"; short: boolean; upper: boolean }
  | { t: "elapsed"; unit: "h" | "m" | "s"; width: number }
  | { t: "digit"; c: "0" | "#" | "?" }
  | { t: "point" }
  | { t: "comma" }
  | { t: "percent" }
  | { t: "exp"; sign: "+" | "-" }
  | { t: "slash" }
  | { t: "general" };

interface Section {
  tokens: Token[];
  condition: ((v: number) => boolean) | null;
  date: boolean;
}

function splitSections(code: string): string[] {
  const out: string[] = [];
  let current = "";
  for (let i = 0; i < code.length; i++) {
    const c = code[i]!;
    if (c === '"') {
      const end = code.indexOf('"', i + 1);
      const stop = end < 0 ? code.length : end;
      current += code.slice(i, stop + 1);
      i = stop;
    } else if (c === "\\" || c === "_" || c === "*") {
      current += code.slice(i, i + 2);
      i++;
    } else if (c === "[") {
      const end = code.indexOf("]", i);
      const stop = end < 0 ? code.length : end;
      current += code.slice(i, stop + 1);
      i = stop;
    } else if (c === ";") {
      out.push(current);
      current = "";
    } else current += c;
  }
  out.push(current);
  return out;
}

const CONDITION = /^(<=|>=|<>|<|>|=)\s*(-?\d+(?:\.\d+)?)$/;

function condition(text: string): ((v: number) => boolean) | null {
  const m = CONDITION.exec(text.trim());
  if (!m) return null;
  const n = Number(m[2]);
  switch (m[1]) {
    case "<": return (v) => v < n;
    case "<=": return (v) => v <= n;
    case ">": return (v) => v > n;
    case ">=": return (v) => v >= n;
    case "=": return (v) => v === n;
    default: return (v) => v !== n;
  }
}

function tokenize(code: string): Section {
  const tokens: Token[] = [];
  let cond: Section["condition"] = null;
  const lit = (s: string) => {
    const last = tokens.at(-1);
    if (last?.t === "lit") last.s += s;
    else tokens.push({ t: "lit", s });
  };
  for (let i = 0; i < code.length; i++) {
    const c = code[i]!;
    const lower = c.toLowerCase();
    if (c === '"') {
      const end = code.indexOf('"', i + 1);
      const stop = end < 0 ? code.length : end;
      lit(code.slice(i + 1, stop));
      i = stop;
    } else if (c === "\\") {
      lit(code[i + 1] ?? "");
      i++;
    } else if (c === "_") {
      lit(" "); // the width of the next character
      i++;
    } else if (c === "*") {
      i++; // fill to the column's width: nothing in text
    } else if (c === "[") {
      const end = code.indexOf("]", i);
      const stop = end < 0 ? code.length : end;
      const inner = code.slice(i + 1, stop);
      i = stop;
      if (/^(h+|m+|s+)$/i.test(inner)) tokens.push({ t: "elapsed", unit: inner[0]!.toLowerCase() as "h" | "m" | "s", width: inner.length });
      else if (inner.startsWith("$")) lit(inner.slice(1).split("-")[0]!); // [$€-407]: the symbol; [$-409]: a locale only
      else cond = condition(inner) ?? cond; // colours and other modifiers show nothing
    } else if (code.slice(i, i + 7).toLowerCase() === "general") {
      tokens.push({ t: "general" });
      i += 6;
    } else if (code.slice(i, i + 5).toUpperCase() === "AM/PM") {
      tokens.push({ t: "ampm", short: false, upper: c === "A" });
      i += 4;
    } else if (code.slice(i, i + 3).toUpperCase() === "A/P") {
      tokens.push({ t: "ampm", short: true, upper: c === "A" });
      i += 2;
    } else if ((lower === "e") && (code[i + 1] === "+" || code[i + 1] === "-")) {
      tokens.push({ t: "exp", sign: code[i + 1] as "+" | "-" });
      i++;
    } else if ("ymdhse".includes(lower)) {
      let j = i;
      while (code[j + 1]?.toLowerCase() === lower) j++;
      tokens.push({ t: "date", s: (lower === "e" ? "yyyy" : lower.repeat(j - i + 1)) });
      i = j;
    } else if (lower === "g" || lower === "b") {
      // era markers (Japanese, Buddhist calendars): not shown
    } else if (c === "0" || c === "#" || c === "?") tokens.push({ t: "digit", c });
    else if (c === ".") tokens.push({ t: "point" });
    else if (c === ",") tokens.push({ t: "comma" });
    else if (c === "%") tokens.push({ t: "percent" });
    else if (c === "/") tokens.push({ t: "slash" });
    else if (c === "@") tokens.push({ t: "general" }); // the text placeholder: a number shows as General
    else lit(c);
  }
  const date = tokens.some((k) => k.t === "date" || k.t === "elapsed" || k.t === "ampm");
  return { tokens, condition: cond, date };
}

/** Days since the epoch to a UTC calendar date, with Excel's fictitious 1900-02-29 (serial 60). */
function calendar(days: number, date1904: boolean): { y: number; m: number; d: number; wd: number } {
  if (!date1904 && days === 60) return { y: 1900, m: 2, d: 29, wd: 3 };
  const base = date1904 ? Date.UTC(1904, 0, 1) : days < 60 ? Date.UTC(1899, 11, 31) : Date.UTC(1899, 11, 30);
  const at = new Date(base + days * 86_400_000);
  return { y: at.getUTCFullYear(), m: at.getUTCMonth() + 1, d: at.getUTCDate(), wd: at.getUTCDay() };
}

const pad = (n: number, width: number) => String(n).padStart(width, "0");

function formatDate(section: Section, value: number, date1904: boolean): string | null {
  // Excel shows ##### for dates before its epoch or after 9999-12-31.
  if (value < 0 || value >= 2_958_466) return null;
  const tokens = section.tokens;
  // Sub-second digits: the zeros after a "." that follows seconds.
  let subDigits = 0;
  for (let i = 0; i < tokens.length; i++) {
    const k = tokens[i]!;
    if (k.t === "point" && tokens.slice(0, i).some((p) => (p.t === "date" && p.s[0] === "s") || (p.t === "elapsed" && p.unit === "s"))) {
      for (let j = i + 1; tokens[j]?.t === "digit"; j++) subDigits++;
      break;
    }
  }
  const scale = 10 ** Math.min(subDigits, 3);
  const units = Math.round(value * 86_400 * scale);
  const days = Math.floor(units / (86_400 * scale));
  const inDay = units - days * 86_400 * scale;
  const seconds = Math.floor(inDay / scale);
  const fraction = inDay - seconds * scale;
  const { y, m, d, wd } = calendar(days, date1904);
  const H = Math.floor(seconds / 3600);
  const M = Math.floor((seconds % 3600) / 60);
  const S = seconds % 60;
  const twelve = tokens.some((k) => k.t === "ampm");
  const totalSeconds = Math.floor(units / scale);

  // "m" is minutes right after an hour or right before a second (skipping literals).
  const isMinute = (i: number) => {
    for (let j = i - 1; j >= 0; j--) {
      const k = tokens[j]!;
      if (k.t === "date" || k.t === "elapsed") return (k.t === "date" && k.s[0] === "h") || (k.t === "elapsed" && k.unit === "h");
    }
    return false;
  };
  const beforeSecond = (i: number) => {
    for (let j = i + 1; j < tokens.length; j++) {
      const k = tokens[j]!;
      if (k.t === "date" || k.t === "elapsed") return (k.t === "date" && k.s[0] === "s") || (k.t === "elapsed" && k.unit === "s");
    }
    return false;
  };

  const subText = pad(fraction, Math.min(subDigits, 3));
  let sub = -1; // the next sub-second digit, once past the point
  let out = "";
  for (let i = 0; i < tokens.length; i++) {
    const k = tokens[i]!;
    switch (k.t) {
      case "lit": out += k.s; break;
      case "ampm": {
        const text = k.short ? (H < 12 ? "A" : "P") : H < 12 ? "AM" : "PM";
        out += k.upper ? text : text.toLowerCase();
        break;
      }
      case "elapsed":
        out += pad(k.unit === "h" ? Math.floor(totalSeconds / 3600) : k.unit === "m" ? Math.floor(totalSeconds / 60) : totalSeconds, k.width);
        break;
      case "point":
        out += ".";
        if (subDigits > 0) sub = 0;
        break;
      case "digit":
        if (sub >= 0) out += subText[sub++] ?? "0";
        else if (k.c === "0") out += "0";
        break;
      case "date": {
        const s = k.s;
        const c = s[0]!;
        if (c === "y") out += s.length <= 2 ? pad(y % 100, 2) : pad(y, 4);
        else if (c === "d") out += s.length === 1 ? String(d) : s.length === 2 ? pad(d, 2) : s.length === 3 ? DAYS[wd]!.slice(0, 3) : DAYS[wd]!;
        else if (c === "h") {
          const hour = twelve ? H % 12 || 12 : H;
          out += s.length === 1 ? String(hour) : pad(hour, 2);
        } else if (c === "s") out += s.length === 1 ? String(S) : pad(S, 2);
        else if (s.length <= 2 && (isMinute(i) || beforeSecond(i))) out += s.length === 1 ? String(M) : pad(M, 2);
        else out += s.length === 1 ? String(m) : s.length === 2 ? pad(m, 2) : s.length === 3 ? MONTHS[m - 1]!.slice(0, 3) : s.length === 5 ? MONTHS[m - 1]![0]! : MONTHS[m - 1]!;
        break;
      }
      case "percent": out += "%"; break;
      case "comma": out += ","; break;
      case "slash": out += "/"; break;
      default: break;
    }
  }
  return out;
}

/** Rounds half away from zero at `digits` decimals, on the value's 15-digit decimal form (as Excel shows 1.005 as 1.01). */
function fixed(v: number, digits: number): string {
  const clean = Number(v.toPrecision(15));
  const shifted = Math.round(Number(`${clean}e${digits}`));
  return Number(`${shifted}e-${digits}`).toFixed(digits);
}

function group(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

function formatNumberSection(section: Section, value: number): string | null {
  const tokens = section.tokens;
  if (tokens.some((k) => k.t === "slash")) return null; // fractions: General instead
  if (tokens.some((k) => k.t === "general")) {
    return tokens.map((k) => (k.t === "general" ? general(value) : k.t === "lit" ? k.s : k.t === "percent" ? "%" : "")).join("");
  }
  const digitAt = tokens.flatMap((k, i) => (k.t === "digit" ? [i] : []));
  if (digitAt.length === 0) return tokens.map((k) => (k.t === "lit" ? k.s : k.t === "percent" ? "%" : k.t === "comma" ? "," : "")).join("");
  const expAt = tokens.findIndex((k) => k.t === "exp");
  const numberEnd = expAt >= 0 ? expAt : tokens.length;
  const pointAt = tokens.findIndex((k, i) => k.t === "point" && i < numberEnd);
  const intEnd = pointAt >= 0 ? pointAt : numberEnd;
  const intDigits = digitAt.filter((i) => i < intEnd);
  const fracDigits = digitAt.filter((i) => i > intEnd && i < numberEnd);
  const lastInt = intDigits.at(-1) ?? -1;
  // A comma between integer placeholders groups thousands; commas after the last placeholder of
  // the number scale it down by 1,000 each ("0.0,," shows millions).
  const lastDigit = digitAt.filter((i) => i < numberEnd).at(-1)!;
  let grouping = false;
  let scale = 0;
  tokens.forEach((k, i) => {
    if (k.t !== "comma" || i >= numberEnd) return;
    if (i > lastDigit) scale++;
    else if (intDigits.length > 0 && i > intDigits[0]! && i < lastInt) grouping = true;
  });
  const percents = tokens.filter((k) => k.t === "percent").length;
  let v = Math.abs(value) * 100 ** percents / 1000 ** scale;
  if (v >= 1e21) return null;

  let exponentText = "";
  if (expAt >= 0) {
    const step = intDigits.length > 1 && (tokens[intDigits[0]!] as { c: string }).c === "#" ? intDigits.length : 1;
    let exponent = v === 0 ? 0 : Math.floor(Math.floor(Math.log10(v)) / step) * step;
    let mantissa = v / 10 ** exponent;
    if (Number(fixed(mantissa, fracDigits.length)) >= 10 ** step) {
      exponent += step;
      mantissa = v / 10 ** exponent;
    }
    v = mantissa;
    const expDigits = digitAt.filter((i) => i > expAt).length;
    const sign = exponent < 0 ? "-" : (tokens[expAt] as { sign: string }).sign === "+" ? "+" : "";
    exponentText = `E${sign}${pad(Math.abs(exponent), expDigits)}`;
  }

  const [intText, fracText = ""] = fixed(v, fracDigits.length).split(".") as [string, string?];
  // Fraction: "#" drops trailing zeros, "?" turns them to spaces, "0" keeps them.
  const frac = fracText.split("");
  for (let j = frac.length - 1; j >= 0 && frac[j] === "0"; j--) {
    const c = (tokens[fracDigits[j]!] as { c: string }).c;
    if (c === "0") break;
    frac[j] = c === "?" ? " " : "";
  }
  // Integer: digits fill the placeholders from the right; the leftmost takes what is left over.
  const digits = intText === "0" ? "" : intText;
  const minimum = intDigits.filter((i) => (tokens[i] as { c: string }).c === "0").length;
  const intFill = new Map<number, string>();
  if (grouping) {
    const padded = digits.padStart(minimum, "0");
    intFill.set(intDigits[0]!, group(padded));
    for (const i of intDigits.slice(1)) intFill.set(i, "");
  } else {
    let rest = digits;
    for (let j = intDigits.length - 1; j >= 0; j--) {
      const i = intDigits[j]!;
      const c = (tokens[i] as { c: string }).c;
      if (j === 0) intFill.set(i, rest || (c === "0" ? "0" : c === "?" ? " " : ""));
      else {
        const digit = rest.slice(-1);
        rest = rest.slice(0, -1);
        intFill.set(i, digit || (c === "0" ? "0" : c === "?" ? " " : ""));
      }
    }
  }

  let out = "";
  for (let i = 0; i < tokens.length; i++) {
    const k = tokens[i]!;
    if (i === expAt) {
      out += exponentText;
      continue;
    }
    if (expAt >= 0 && i > expAt && k.t === "digit") continue;
    switch (k.t) {
      case "lit": out += k.s; break;
      case "digit": out += i < intEnd ? (intFill.get(i) ?? "") : (frac[fracDigits.indexOf(i)] ?? ""); break;
      case "point": out += "."; break;
      case "percent": out += "%"; break;
      case "comma": break;
      default: break;
    }
  }
  return out;
}

/** A format code compiled once; applying it costs a walk over its tokens. */
export function compileFormat(code: string, date1904: boolean): NumberFormatter {
  const sections = splitSections(code).map(tokenize);
  if (sections.length === 1 && sections[0]!.tokens.length === 1 && sections[0]!.tokens[0]!.t === "general") return (v, raw) => general(v, raw);
  const conditional = sections.some((s) => s.condition !== null);
  return (value, raw) => {
    const [first, second, third] = sections as [Section, Section?, Section?];
    let section: Section;
    // One section serves every number and shows the minus itself; with more, the second is for
    // negatives and shows what it says (often parentheses), the third for zero.
    let signed = value < 0;
    if (conditional) {
      section = first.condition?.(value) ? first : second && (!second.condition || second.condition(value)) ? second : (third ?? second ?? first);
    } else if (!second || value > 0 || (value === 0 && !third)) section = first;
    else if (value < 0) {
      section = second;
      signed = false;
    } else section = third!;
    // Alignment padding ("_)", "?") at either end is layout, not text.
    if (section.date) return formatDate(section, value, date1904)?.trim() ?? general(value, raw);
    const text = formatNumberSection(section, value)?.trim();
    if (text === undefined) return general(value, raw);
    return signed && /[1-9]/.test(text) ? `-${text}` : text;
  };
}

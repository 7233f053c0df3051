// Finder benchmark (issue 14): finding people's addresses on the simulated world's company
// domains (e2e/world/finder.ts), whose patterns, catch-alls and greylisting the world knows.
//
// Ours does what the edge and a probe do: the person's candidates (core/finder) ordered by the
// patterns learned on the domain so far, asked in one SMTP transaction by engine.find. People go
// in two passes: the first two of each domain (nothing known yet), then the rest with what the
// first pass taught (a deliverable answer on a domain that is not catch-all counts its pattern,
// as edge/finder/domainpatterns.ts does). The naive finder tries every pattern's candidate,
// each with its own connection (one engine.verify call each), and answers the first accepted in
// pattern order. Each finder runs on a fresh world (same seed), so greylisting has not already
// seen the other's triplets, and on its own engine.
//
// Some staff have compound first names (Jean-Pierre) and some domains keep their hyphens
// (jean-pierre.dupont), so the candidates' hyphenated forms are measured where they matter.
//
//   npm run bench:finder [-- --domains 200 --seed 14 --greylist-ms 1000 --rtt 0 --finders ours,naive
//                           --compound-names 0.1 --keep-hyphens 0.4]
import { parseArgs } from "node:util";
import type { FindAnswer, Result } from "../../core/contracts.ts";
import { names } from "../../core/finder/answer.ts";
import { candidates, findCandidates, parsePerson, patternOf, type Known, type Person } from "../../core/finder/patterns.ts";
import { startWorld, type FinderPerson, type FinderWorld, type World } from "../../e2e/world/index.ts";
import { createEngine, type Engine } from "../../probe/engine.ts";

const { values } = parseArgs({
  options: {
    domains: { type: "string", default: "200" },
    seed: { type: "string", default: "14" },
    "greylist-ms": { type: "string", default: "1000" },
    rtt: { type: "string", default: "0" },
    /** People the naive finder works on at once (each with all its candidates in parallel). */
    "naive-people": { type: "string", default: "16" },
    finders: { type: "string", default: "ours,naive" },
    /** Share of staff with a compound first name, and of domains keeping names' hyphens (e2e/world/finder.ts). */
    "compound-names": { type: "string", default: "0.1" },
    "keep-hyphens": { type: "string", default: "0.4" },
  },
});
const STYLE = { compoundShare: Number(values["compound-names"]), keepHyphensShare: Number(values["keep-hyphens"]) };
const DOMAINS = Number(values.domains);
const SEED = Number(values.seed);
const GREYLIST_MS = Number(values["greylist-ms"]);
const RTT_MS = Number(values.rtt);
const NAIVE_PEOPLE = Number(values["naive-people"]);
const SEED_PEOPLE = 2;
const BUDGET_MS = 300_000;
type FinderName = "ours" | "naive";
const FINDERS = values.finders.split(",") as FinderName[];
for (const f of FINDERS) if (f !== "ours" && f !== "naive") throw new Error(`--finders: unknown finder ${f}`);

type Answer = { email: string | null; verdict: string };
/** One pass of a finder over some people; answers by index, and what it learned; returns the candidates made. */
type Finder = (engine: Engine, people: { person: Person; domain: string }[], known: Map<string, Known>, onAnswer: (a: Answer, i: number) => void) => Promise<number>;

const ours: Finder = async (engine, people, known, onAnswer) => {
  const lists = people.map(({ person, domain }) => findCandidates(person, domain, known.get(domain) ?? []));
  await engine.find(lists, { budgetMs: BUDGET_MS }, (a: FindAnswer, i: number) => onAnswer(a, i));
  return lists.reduce((n, l) => n + l.length, 0);
};

const naive: Finder = async (engine, people, _known, onAnswer) => {
  let next = 0;
  let made = 0;
  const worker = async () => {
    for (let i = next++; i < people.length; i = next++) {
      const { person, domain } = people[i]!;
      const emails = candidates(person, domain).map((c) => c.email);
      made += emails.length;
      // One engine.verify call per candidate: each opens its own SMTP session.
      const results = await Promise.all(
        emails.map(
          (email) =>
            new Promise<Result>((resolve, reject) => {
              let got: Result | undefined;
              engine.verify([email], { budgetMs: BUDGET_MS }, (r) => (got = r)).then(() => resolve(got!), reject);
            }),
        ),
      );
      const k = results.findIndex(names);
      onAnswer(k >= 0 ? { email: emails[k]!, verdict: results[k]!.verdict } : { email: null, verdict: results[0]?.verdict ?? "unknown" }, i);
    }
  };
  await Promise.all(Array.from({ length: NAIVE_PEOPLE }, worker));
  return made;
};

interface Figures {
  people: number;
  candidates: number;
  /** People with a hyphen in their name, and how many of them got their own address. */
  hyphenated: number;
  hyphenatedCorrect: number;
  found: number;
  correct: number;
  /** Addresses returned on domains that refuse unknown mailboxes, that are not the person's. */
  wrong: number;
  wrongExamples: string[];
  catchAllPeople: number;
  catchAllCorrect: number;
  rcpts: number;
  /** Second pass, domains that are not catch-all and whose pattern ours had learned. */
  knownPeople: number;
  knownRcpts: number;
  knownGreyPeople: number;
  knownGreyRcpts: number;
  connections: number;
  transactions: number;
  dataCommands: number;
  wallS: number;
}

/** The first SEED_PEOPLE of each domain, then everyone else. */
function passes(f: FinderWorld): [FinderPerson[], FinderPerson[]] {
  const seen = new Map<string, number>();
  const first: FinderPerson[] = [];
  const rest: FinderPerson[] = [];
  for (const p of f.people) {
    const n = seen.get(p.domain) ?? 0;
    seen.set(p.domain, n + 1);
    (n < SEED_PEOPLE ? first : rest).push(p);
  }
  return [first, rest];
}

function engineFor(world: World): Engine {
  return createEngine({
    helo: "probe.mxray.test",
    dnsServers: [world.dnsServer],
    port: world.smtpPort,
    timeoutMs: 5_000,
    greylistBudgetMs: 4 * GREYLIST_MS + 5_000,
    allowPrivateTargets: true, // the world is on loopback
  });
}

/**
 * Runs a finder over the world's people in two passes. `knownAfterSeed` is the set of domains
 * whose pattern ours learned in its first pass: both finders' second-pass RCPTs are counted there.
 */
async function measure(finder: Finder, knownAfterSeed: Set<string> | null): Promise<{ figures: Figures; learned: Set<string> }> {
  const world = await startWorld({ finder: { domains: DOMAINS, seed: SEED, ...STYLE }, greylistDelayMs: GREYLIST_MS, rttMs: RTT_MS });
  const fw = world.finder!;
  const behaviour = new Map(fw.domains.map((d) => [d.name, d.behaviour]));
  const hostOf = new Map(fw.domains.map((d) => [d.name, d.host]));
  const engine = engineFor(world);
  const known = new Map<string, Known>();
  const fig: Figures = {
    people: fw.people.length,
    candidates: 0,
    hyphenated: 0,
    hyphenatedCorrect: 0,
    found: 0,
    correct: 0,
    wrong: 0,
    wrongExamples: [],
    catchAllPeople: 0,
    catchAllCorrect: 0,
    rcpts: 0,
    knownPeople: 0,
    knownRcpts: 0,
    knownGreyPeople: 0,
    knownGreyRcpts: 0,
    connections: 0,
    transactions: 0,
    dataCommands: 0,
    wallS: 0,
  };
  let learned = new Set<string>();
  const started = Date.now();
  try {
    for (const [pass, people] of passes(fw).entries()) {
      const input = people.map((p) => {
        const parsed = parsePerson({ first_name: p.first, last_name: p.last, domain: p.domain });
        if (!parsed.ok) throw new Error(`${p.first} ${p.last}: ${parsed.message}`);
        return { person: parsed.person, domain: parsed.domain };
      });
      const answers: (Answer | undefined)[] = [];
      const before = world.stats().perHost;
      fig.candidates += await finder(engine, input, known, (a, i) => {
        answers[i] = a;
        const domain = people[i]!.domain;
        // The edge's learning: a deliverable address on a domain that is not catch-all.
        if (a.email && a.verdict === "deliverable") {
          const pattern = patternOf(a.email, input[i]!.person);
          if (pattern) {
            const k = known.get(domain) ?? [];
            const entry = k.find((e) => e.pattern === pattern);
            if (entry) entry.count++;
            else k.push({ pattern, count: 1 });
            known.set(domain, k);
          }
        }
      });
      const after = world.stats().perHost;
      if (pass === 0) learned = new Set(known.keys());
      const countedAt = knownAfterSeed ?? learned;
      people.forEach((p, i) => {
        const a = answers[i];
        if (!a) throw new Error(`no answer for ${p.email}`);
        const kind = behaviour.get(p.domain)!;
        if (a.email) fig.found++;
        if (a.email === p.email) fig.correct++;
        if (`${p.first}${p.last}`.includes("-")) {
          fig.hyphenated++;
          if (a.email === p.email) fig.hyphenatedCorrect++;
        }
        if (kind === "catch_all") {
          fig.catchAllPeople++;
          if (a.email === p.email) fig.catchAllCorrect++;
        } else if (a.email && a.email !== p.email) {
          fig.wrong++;
          if (fig.wrongExamples.length < 5) fig.wrongExamples.push(`${p.first} ${p.last}: ${a.email}, truth ${p.email}`);
        }
        if (pass === 1 && kind !== "catch_all" && countedAt.has(p.domain)) {
          if (kind === "greylisting") fig.knownGreyPeople++;
          else fig.knownPeople++;
        }
      });
      if (pass === 1) {
        for (const domain of countedAt) {
          const kind = behaviour.get(domain)!;
          if (kind === "catch_all") continue;
          const h = hostOf.get(domain)!;
          const n = after[h]!.rcpts - before[h]!.rcpts;
          if (kind === "greylisting") fig.knownGreyRcpts += n;
          else fig.knownRcpts += n;
        }
      }
    }
  } finally {
    await engine.close();
    fig.wallS = (Date.now() - started) / 1000;
    const s = world.stats();
    fig.rcpts = s.rcpts;
    fig.connections = s.connections;
    fig.transactions = s.transactions;
    fig.dataCommands = s.dataCommands;
    await world.stop();
  }
  return { figures: fig, learned };
}

function table(columns: [FinderName, Figures][]) {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const per = (n: number, d: number) => (d ? n / d : 0);
  const rows: [string, (f: Figures) => number, (x: number) => string, boolean][] = [
    ["people", (f) => f.people, (x) => x.toFixed(0), false],
    ["found (an address returned)", (f) => per(f.found, f.people), pct, false],
    ["correct (returned = the person's)", (f) => per(f.correct, f.people), pct, false],
    ["  people with a hyphenated name: correct", (f) => per(f.hyphenatedCorrect, f.hyphenated), pct, false],
    ["wrong addresses on non-catch-all domains (target 0)", (f) => f.wrong, (x) => x.toFixed(0), false],
    ["catch-all domains: returned = the person's", (f) => per(f.catchAllCorrect, f.catchAllPeople), pct, false],
    ["candidates made per person", (f) => per(f.candidates, f.people), (x) => x.toFixed(2), true],
    ["RCPTs per person", (f) => per(f.rcpts, f.people), (x) => x.toFixed(2), true],
    ["RCPTs per address found", (f) => per(f.rcpts, f.found), (x) => x.toFixed(2), true],
    ["RCPTs per person, pattern known (target ≤ 1.5)", (f) => per(f.knownRcpts, f.knownPeople), (x) => x.toFixed(2), true],
    ["  same, on greylisting domains", (f) => per(f.knownGreyRcpts, f.knownGreyPeople), (x) => x.toFixed(2), true],
    ["connections per person", (f) => per(f.connections, f.people), (x) => x.toFixed(2), true],
    ["SMTP transactions per person", (f) => per(f.transactions, f.people), (x) => x.toFixed(2), true],
    ["DATA commands", (f) => f.dataCommands, (x) => x.toFixed(0), false],
    ["wall time (s)", (f) => f.wallS, (x) => x.toFixed(1), true],
  ];
  const ratio = columns.length === 2;
  const head = ["", ...columns.map(([m]) => m), ...(ratio ? [`${columns[1]![0]} ÷ ${columns[0]![0]}`] : [])];
  const body = rows.map(([label, get, fmt, showRatio]) => {
    const vals = columns.map(([, f]) => get(f));
    const r = ratio && showRatio ? (vals[0] === 0 ? (vals[1] === 0 ? "=" : "∞") : `${(vals[1]! / vals[0]!).toFixed(1)}×`) : "";
    return [label, ...vals.map(fmt), ...(ratio ? [r] : [])];
  });
  const widths = head.map((_, i) => Math.max(...[head, ...body].map((r) => r[i]!.length)));
  for (const r of [head, ...body]) console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("   "));
}

{
  const preview = await startWorld({ finder: { domains: DOMAINS, seed: SEED, ...STYLE } });
  const fw = preview.finder!;
  await preview.stop();
  const count = (b: string) => fw.domains.filter((d) => d.behaviour === b).length;
  const unknownPattern = fw.domains.filter((d) => d.pattern === "last.f" || d.pattern === "f-last").length;
  console.log(
    `finder benchmark: ${DOMAINS} domains (seed ${SEED}), ${fw.people.length} people: ${count("catch_all")} catch-all, ` +
      `${count("greylisting")} greylisting (${GREYLIST_MS} ms), ${count("refuses")} refusing unknown mailboxes; ` +
      `${unknownPattern} with a pattern the finder does not generate; ` +
      `${fw.people.filter((p) => `${p.first}${p.last}`.includes("-")).length} people with a hyphenated name, ${fw.domains.filter((d) => d.keepsHyphens).length} domains keeping hyphens; ${RTT_MS} ms round trip; ` +
      `passes: the first ${SEED_PEOPLE} people of each domain, then the rest\n`,
  );
}
const figures: [FinderName, Figures][] = [];
let learned: Set<string> | null = null;
for (const name of FINDERS) {
  const m = await measure(name === "ours" ? ours : naive, learned);
  if (name === "ours") learned = m.learned;
  console.log(`${name}: ${m.figures.wallS.toFixed(1)} s${m.figures.wrongExamples.length ? `; wrong e.g. ${m.figures.wrongExamples.join("; ")}` : ""}`);
  figures.push([name, m.figures]);
}
console.log("");
table(figures);

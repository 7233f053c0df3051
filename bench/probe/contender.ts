// One contender of the probe benchmark, run in its own process so its peak RSS is its own.
// argv: <kind> <addresses file> <dns server host:port> <smtp port> <concurrency> <results file>
// Prints one JSON line: { wallMs, maxRssMb, results }.
import { createWriteStream, readFileSync } from "node:fs";
import dns from "node:dns";
import net from "node:net";
import type { Verdict } from "../../core/verdict.ts";

type Kind = "mxray" | "naive" | "peer";
const [kind, file, dnsServer, smtpPortArg, concurrencyArg, outFile] = process.argv.slice(2) as [
  Kind,
  string,
  string,
  string,
  string,
  string,
];
const smtpPort = Number(smtpPortArg);
const concurrency = Number(concurrencyArg);
const emails = readFileSync(file, "utf8").split("\n").filter(Boolean);
const out = createWriteStream(outFile);
const record = (email: string, verdict: Verdict) => out.write(`${JSON.stringify({ email, verdict })}\n`);

async function pool<T>(items: T[], size: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: size }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

async function runMxray() {
  const { createEngine } = await import("../../probe/engine.ts");
  const engine = createEngine({ dnsServers: [dnsServer], port: smtpPort, concurrency, helo: "bench.mxray.test", allowPrivateTargets: true });
  await engine.verify(emails, {}, (r) => record(r.email, r.verdict));
  await engine.close();
}

/** One connection per address, no pipelining, no catch-all probe, no greylisting retries: what
 *  a simple verifier does. It shares our reply classification so only the strategy differs. */
async function runNaive() {
  const { createResolver } = await import("../../probe/dns.ts");
  const { SmtpConnection } = await import("../../probe/smtp/connection.ts");
  const { classifyRcpt } = await import("../../probe/smtp/reply.ts");
  const { decide } = await import("../../core/verdict.ts");
  const { dnsFacts } = await import("../../probe/dns.ts");
  const { parseAddress } = await import("../../core/address.ts");
  const { isDisposable } = await import("../../core/lists.ts");
  await pool(emails, concurrency, async (email) => {
    const parsed = parseAddress(email);
    if (!parsed.ok) return void record(email, "undeliverable");
    // A fresh resolver per address: the naive verifier caches nothing.
    const route = await createResolver({ servers: [dnsServer] }).mailRoute(parsed.domain);
    const base = { syntax: { ok: true as const }, disposable: isDisposable(parsed.domain), role: false, free: false, catchAll: false };
    if (route.kind !== "mx" && route.kind !== "implicit_mx") {
      return void record(email, decide({ ...base, dns: dnsFacts(route), smtp: null }).verdict);
    }
    const host = route.hosts[0]!;
    try {
      const conn = await SmtpConnection.open({ host: host.addresses[0] ?? "0.0.0.0", port: smtpPort, mxName: host.name, helo: "bench.naive.test", timeoutMs: 10_000, tls: false, allowPrivate: true });
      await conn.command("MAIL FROM:<>", "mail");
      const reply = await conn.command(`RCPT TO:<${parsed.local}@${parsed.domain}>`, "rcpt");
      await conn.quit();
      const smtp = { kind: "reply" as const, rcpt: classifyRcpt(reply), reply, mx: host.name };
      record(email, decide({ ...base, dns: dnsFacts(route), smtp }).verdict);
    } catch {
      record(email, "unknown");
    }
  });
}

/** The npm package deep-email-validator, pointed at the simulated world: its MX lookups go to
 *  the world's DNS and its port-25 connections to the world's SMTP port. Its logic is untouched. */
async function runPeer() {
  dns.setServers([dnsServer]);
  const resolver = new dns.Resolver();
  resolver.setServers([dnsServer]);
  const originalConnect = net.createConnection;
  (net as { createConnection: unknown }).createConnection = (...args: unknown[]) => {
    const [port, host] = args as [number, string];
    if (typeof port === "number" && port === 25) {
      const socket = new net.Socket();
      resolver.resolve4(host, (err, addrs) => {
        if (err || !addrs?.[0]) socket.destroy(err ?? new Error("no address"));
        else socket.connect(smtpPort, addrs[0]);
      });
      return socket;
    }
    return (originalConnect as (...a: unknown[]) => net.Socket)(...args);
  };
  const { validate } = await import("deep-email-validator");
  await pool(emails, concurrency, async (email) => {
    const r = await validate({ email, sender: "bench@peer.test", validateTypo: false });
    // The peer has two answers; map them as fairly as its fields allow.
    let verdict: Verdict;
    if (r.valid) verdict = "deliverable";
    else if (r.reason === "disposable") verdict = "risky";
    else if (r.reason === "smtp" && /timeout|timed out|connection|refused|ECONN/i.test(r.validators.smtp?.reason ?? "")) verdict = "unknown";
    else verdict = "undeliverable";
    record(email, verdict);
  });
}

const started = performance.now();
if (kind === "mxray") await runMxray();
else if (kind === "naive") await runNaive();
else await runPeer();
const wallMs = performance.now() - started;
await new Promise<void>((resolve) => out.end(resolve));
process.stdout.write(
  `${JSON.stringify({ wallMs, maxRssMb: process.resourceUsage().maxRSS / 1024, results: emails.length })}\n`,
);
process.exit(0);

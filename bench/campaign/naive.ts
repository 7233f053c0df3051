// The naive sender of bench:campaign, in its own process: what a script without a pool does, one
// SMTP connection per message (connect, STARTTLS, AUTH, MAIL, RCPT, DATA, QUIT) through
// nodemailer's plain transport, `concurrency` messages at a time. It renders the same messages as
// the probe, with the probe's composer. argv[2]: a JSON NaiveJob. Prints one JSON line:
// { sent, failed, wallMs, cpuMs, maxRssKb, firstError }.
import { readFileSync } from "node:fs";
import nodemailer from "nodemailer";
import { createComposer } from "../../probe/sending/compose.ts";
import { BENCH_COMPOSE, benchRecipient } from "./mail.ts";

export interface NaiveJob {
  host: string;
  port: number;
  user: string;
  password: string;
  caFile: string;
  /** Recipients 0 … count − 1 (benchRecipient). */
  count: number;
  concurrency: number;
}

const job = JSON.parse(process.argv[2]!) as NaiveJob;
const composer = createComposer(BENCH_COMPOSE);
// No `pool`: nodemailer's SMTP transport opens a new connection for every sendMail.
const transport = nodemailer.createTransport({
  host: job.host,
  port: job.port,
  secure: false,
  requireTLS: true,
  auth: { user: job.user, pass: job.password },
  tls: { ca: [readFileSync(job.caFile, "utf8")], minVersion: "TLSv1.2" },
  name: "naive.bench.mxray.test",
  logger: false,
});

let next = 0;
let sent = 0;
let failed = 0;
let firstError: string | null = null;
const started = performance.now();
const cpuBefore = process.cpuUsage();
await Promise.all(
  Array.from({ length: job.concurrency }, async () => {
    while (next < job.count) {
      const message = composer.compose(benchRecipient(next++), Date.now());
      try {
        await transport.sendMail(message);
        sent++;
      } catch (e) {
        failed++;
        firstError ??= String(e);
      }
    }
  }),
);
const wallMs = performance.now() - started;
const cpu = process.cpuUsage(cpuBefore);
transport.close();
process.stdout.write(`${JSON.stringify({ sent, failed, wallMs, cpuMs: (cpu.user + cpu.system) / 1000, maxRssKb: process.resourceUsage().maxRSS, firstError })}\n`);

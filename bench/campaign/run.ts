// Campaign benchmark (issue 23). Part A, the probe's side (probeside.ts): N recipients through a
// real probe to the local relay sink, messages/s and connections per message beside a naive
// sender (one connection per message, the same concurrency), and the probe's peak RSS. Part B, the
// edge's side (edgeside.ts): a campaign of M recipients through the local stack, claims and
// records absorbed beside the sqld ceiling, as bench:soak does. Speed is printed beside the peer,
// never asserted: the run exits non-zero only when something is broken (an error, a message
// missing or sent twice, counts that do not add up).
//   npm run bench:campaign [-- --part a|b|both] [-- --recipients 100000] [-- --edge-recipients 1000000]
//     [-- --batch-size 1000] [-- --inflight 4] [-- --naive 10000] [-- --no-fleet-redis]
//     [-- --capacity 8] [-- --group 25] [-- --no-ceiling] [-- --timeout-s 3600]
// BENCH_PROF=<dir> writes the probe's CPU profile (node --cpu-prof) there.
import { parseArgs } from "node:util";
import { MAX_SEND_BATCH } from "../../core/contracts.ts";
import { DEFAULT_GROUP_SIZE } from "../../probe/sending/sendbatch.ts";
import { edgeSide, formatEdgeSide } from "./edgeside.ts";
import { formatProbeSide, probeSide } from "./probeside.ts";

const { values } = parseArgs({
  options: {
    part: { type: "string", default: "both" },
    recipients: { type: "string", default: "100000" },
    "edge-recipients": { type: "string", default: "1000000" },
    "batch-size": { type: "string", default: String(MAX_SEND_BATCH) },
    inflight: { type: "string", default: "4" }, // the probe's MXRAY_MAX_INFLIGHT_BATCHES default
    // One connection per message costs a TLS handshake each: a sample gives its rate in minutes.
    naive: { type: "string", default: "10000" },
    "no-fleet-redis": { type: "boolean", default: false },
    capacity: { type: "string", default: "8" },
    group: { type: "string", default: String(DEFAULT_GROUP_SIZE) },
    "no-ceiling": { type: "boolean", default: false },
    "timeout-s": { type: "string", default: "3600" },
  },
});
const part = values.part;
if (!["a", "b", "both"].includes(part)) throw new Error("--part is a, b or both");
const timeoutMs = Number(values["timeout-s"]) * 1000;
const log = (line: string) => console.log(line);
const broken: string[] = [];

if (part === "a" || part === "both") {
  const recipients = Number(values.recipients);
  const report = await probeSide({
    recipients,
    batchSize: Math.min(Number(values["batch-size"]), MAX_SEND_BATCH),
    inflight: Number(values.inflight),
    naive: Math.min(Number(values.naive), recipients),
    fleetRedis: !values["no-fleet-redis"],
    timeoutMs,
    log,
  });
  console.log(`\n${formatProbeSide(report)}\n`);
  broken.push(...report.broken);
}

if (part === "b" || part === "both") {
  const report = await edgeSide({
    recipients: Number(values["edge-recipients"]),
    capacity: Number(values.capacity),
    group: Number(values.group),
    ceiling: !values["no-ceiling"],
    timeoutMs,
    log,
  });
  console.log(`\n${formatEdgeSide(report)}\n`);
  broken.push(...report.broken);
}

if (broken.length > 0) {
  console.error("campaign bench FAILED: see the figures above");
  process.exit(1);
}

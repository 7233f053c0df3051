// `npm run world [-- --rtt MS] [--bulk N]`: keeps the simulated mail world running so the probe
// CLI or daemon can be pointed at it by hand. Ctrl-C stops it.
import { parseArgs } from "node:util";
import { startWorld } from "./index.ts";

const { values } = parseArgs({ options: { rtt: { type: "string", default: "0" }, bulk: { type: "string" } } });
const bulk = values.bulk ? { domains: 40, addresses: Number(values.bulk), seed: 42 } : undefined;
const world = await startWorld({ rttMs: Number(values.rtt), ...(bulk ? { bulk } : {}) });
console.log(`simulated mail world: DNS ${world.dnsServer}, SMTP port ${world.smtpPort} on 127.0.0.x`);
console.log(`try: MXRAY_ALLOW_PRIVATE_TARGETS=1 npm run -s mxray -- verify --dns ${world.dnsServer} --port ${world.smtpPort} --file e2e/world/sample.txt`);
const stop = async () => {
  await world.stop();
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);

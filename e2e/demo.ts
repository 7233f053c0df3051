// `npm run demo:cli`: the offline CLI demo. Starts the simulated mail world on loopback and runs the probe
// CLI over the sample list against it, so a new user sees real verdicts with no internet and no
// accounts, without the edge (`npm run demo` runs the whole stack on the world).
import { fileURLToPath } from "node:url";
import { main } from "../probe/cli.ts";
import { startWorld } from "./world/index.ts";

const sample = fileURLToPath(new URL("./world/sample.txt", import.meta.url));
const world = await startWorld({ greylistDelayMs: 1000 });
process.env.MXRAY_ALLOW_PRIVATE_TARGETS = "1"; // the world is on loopback
const args = ["verify", "--file", sample, "--dns", world.dnsServer, "--port", String(world.smtpPort), "--timeout", "3000", "--greylist-budget", "10000"];
console.log(`mxray demo: simulated mail world on loopback (DNS ${world.dnsServer}, SMTP port ${world.smtpPort})`);
console.log(`$ MXRAY_ALLOW_PRIVATE_TARGETS=1 npm run -s mxray -- ${args.join(" ")}\n`);
let code = 1;
try {
  code = await main(args);
} finally {
  await world.stop();
}
console.log(`\nTry: npm run -s mxray -- verify you@example.com --json --trace   (real DNS and port 25)`);
console.log(`     npm run world    (keep the simulated world running and point the CLI at it)`);
process.exitCode = code;

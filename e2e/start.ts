// `npm start`: the whole stack on this machine with no accounts. `npm start -- --world` (or
// `npm run demo`) also starts the simulated mail world and points the probe at it, so the sample
// list verifies with no internet. It says "ready" once the probe has reported in (e2e/stack.ts),
// so a check right then is answered. Ctrl-C stops everything it started.
import { rmSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { LOCAL_DATA_DIR, RUNNING_FILE, startStack, type RunningStack } from "./stack.ts";

const { values } = parseArgs({ options: { world: { type: "boolean", default: false }, port: { type: "string", default: process.env.PORT ?? "8787" } } });
const say = (line: string) => console.log(`mxray  ${line}`);
say(`starting the local stack${values.world ? " with the simulated mail world" : ""}…`);
const stack = await startStack({
  relayInboxPort: Number(process.env.MXRAY_RELAY_INBOX_PORT ?? 8025),
  relayPort: Number(process.env.MXRAY_RELAY_PORT ?? 2525),
  imapPort: Number(process.env.MXRAY_IMAP_PORT ?? 1143),
  imapTlsPort: Number(process.env.MXRAY_IMAP_TLS_PORT ?? 1993),
  dataDir: LOCAL_DATA_DIR,
  port: Number(values.port),
  world: values.world,
  sweepMs: 10_000,
  log: say,
  childOutput: "inherit",
});
const localRedis = [stack.redis.local && "the edge's", stack.fleetRedis.local && "the probes'"].filter(Boolean);
say(`stand-ins: direct signed dispatch instead of QStash, ${localRedis.length ? `redis-server behind a REST bridge instead of Upstash (${localRedis.join(" and ")} database${localRedis.length > 1 ? "s, each its own server and token" : ""}), ` : ""}a local sign-in instead of Clerk${stack.stripe ? ", a Stripe stand-in for billing" : ""} (no credentials set)`);
say("");
say(`ready:    ${stack.url}  (sign in with any email address)`);
say(`API docs: ${stack.url}/docs`);
say(`API key:  ${stack.devApiKey}`);
say(`relay:    ${stack.relaySink.host}:${stack.relaySink.port} STARTTLS, user ${stack.relayUser}, password ${stack.relayPassword} (a local sink: campaigns sent through it stay here)`);
say(`inbox:    ${stack.relaySink.inboxUrl}  (what the relay sink received)`);
say(`imap:     ${stack.imap.host}:${stack.imap.tlsPort} TLS (or :${stack.imap.port} STARTTLS), user ${stack.imap.user}, password ${stack.imap.password} (a local bounce mailbox; \`npm run demo:bounce\` drops bounces of the last campaign into it)`);
say(`try:      curl -s -H "Authorization: Bearer ${stack.devApiKey}" -H "content-type: text/plain" --data-binary @e2e/world/sample.txt ${stack.url}/api/v1/jobs`);
if (values.world) say(`upload:   e2e/world/sample.txt at ${stack.url}/upload and watch it verify`);
if (!values.world) say("the probe checks real mail servers on port 25; add --world to use the simulated world instead");

// For `npm run demo:bounce` (it holds the dev key and the IMAP password: only this user may read it).
const running: RunningStack = { url: stack.url, api_key: stack.devApiKey, relay_inbox_url: stack.relaySink.inboxUrl, imap: stack.imap };
writeFileSync(RUNNING_FILE, JSON.stringify(running, null, 2), { mode: 0o600 });

let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  say("stopping…");
  rmSync(RUNNING_FILE, { force: true });
  await stack.stop();
  process.exit(0);
};
process.on("SIGINT", () => void shutdown());
process.on("SIGTERM", () => void shutdown());

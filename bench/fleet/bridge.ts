// redis-server behind the Upstash REST bridge, in a process of its own for bench:fleet: in the
// benchmark's process it would share one event loop with the world and three probes, and the
// probes' bursts of lookups would time out there rather than anywhere a fleet runs. Prints
// {"url","token"} once ready; stops both when stdin closes (its parent exited or asked).
import { randomBytes } from "node:crypto";
import { startRedis } from "../../e2e/redis.ts";
import { startUpstashBridge } from "../../e2e/upstash-bridge.ts";

const redis = await startRedis({ log: (line) => console.error(line) });
const bridge = await startUpstashBridge({ redisPort: redis.port, redisPassword: redis.password, token: randomBytes(24).toString("base64url") });
console.log(JSON.stringify({ url: bridge.url, token: bridge.token }));
process.stdin.resume();
process.stdin.on("close", async () => {
  await bridge.stop();
  await redis.stop();
  process.exit(0);
});

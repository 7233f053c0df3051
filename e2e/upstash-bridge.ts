// Upstash's REST API in front of a local redis-server, so `@upstash/redis` and
// `@upstash/ratelimit` run unmodified against real Redis (issue 13). What it speaks, as Upstash
// documents it (https://upstash.com/docs/redis/features/restapi):
//   POST /            a JSON array command  → { "result": … }, or 400 { "error": "…" }
//   POST /pipeline    an array of commands  → 200 [{ "result" } | { "error" }, …] in order
//   POST /multi-exec  the same, as one MULTI/EXEC transaction; 400 { "error" } when it is discarded
//   `Authorization: Bearer <token>` (or `?_token=`), else 401; `Upstash-Encoding: base64` encodes
//   every string of a result except a bare "OK", which is what the SDK decodes (the default).
// Path-style commands (`/get/key`) are not served: the SDKs only use them for SUBSCRIBE.
// Upstash's own Lua flag `allow-key-locking` (lock only the script's KEYS), which
// @upstash/ratelimit's scripts declare, is unknown to stock Redis: it is taken out of a script
// before Redis sees it, and the script is still known by the SHA1 its sender computed.
import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { connectResp, RespError, type RespConnection, type RespValue } from "./resp.ts";

export interface UpstashBridge {
  /** UPSTASH_REDIS_REST_URL */
  url: string;
  /** UPSTASH_REDIS_REST_TOKEN */
  token: string;
  stop(): Promise<void>;
}

/** Commands that would change a pooled connection's state for the next request. */
const CONNECTION_STATE = new Set(["auth", "hello", "select", "multi", "exec", "discard", "watch", "unwatch", "subscribe", "psubscribe", "ssubscribe", "monitor", "quit", "reset", "client"]);
const IDLE_CONNECTIONS = 8;

type Command = (string | number | boolean)[];
const isCommand = (c: unknown): c is Command =>
  Array.isArray(c) && c.length > 0 && typeof c[0] === "string" && c.every((a) => ["string", "number", "boolean"].includes(typeof a));

function toJson(v: RespValue, base64: boolean, top: boolean): unknown {
  if (v === null || typeof v === "number") return v;
  if (v instanceof RespError) return toJson(v.message, base64, false); // an error inside a script's table
  if (typeof v === "string") return base64 && !(top && v === "OK") ? Buffer.from(v).toString("base64") : v;
  if (Buffer.isBuffer(v)) return base64 ? v.toString("base64") : v.toString("utf8");
  return v.map((item) => toJson(item, base64, false));
}

const sha256 = (s: string) => createHash("sha256").update(s).digest();
const sha1 = (s: string) => createHash("sha1").update(s).digest("hex");

const UPSTASH_ONLY_SCRIPT_FLAGS = new Set(["allow-key-locking"]);

/** The script without flags only Upstash knows (https://redis.io/docs/latest/develop/programmability/lua-api/#script-flags). */
export function scriptForRedis(script: string): string {
  const shebang = /^#!lua([^\n]*)/.exec(script);
  if (!shebang) return script;
  const options = shebang[1]!.trim().split(/\s+/).filter((o) => o.length > 0).flatMap((o) => {
    if (!o.startsWith("flags=")) return [o];
    const flags = o.slice("flags=".length).split(",").filter((f) => !UPSTASH_ONLY_SCRIPT_FLAGS.has(f));
    return flags.length > 0 ? [`flags=${flags.join(",")}`] : [];
  });
  return `#!lua${options.map((o) => ` ${o}`).join("")}${script.slice(shebang[0].length)}`;
}

/**
 * Rewrites script commands for stock Redis. `redisSha` maps the sender's SHA1 of a rewritten
 * script to Redis' own, so EVALSHA finds what EVAL or SCRIPT LOAD stored.
 */
function translate(args: string[], redisSha: Map<string, string>): { args: string[]; reply?: (v: RespValue) => RespValue } {
  const [name = "", first = "", ...rest] = args;
  const command = name.toLowerCase();
  const rewrite = (script: string) => {
    const forRedis = scriptForRedis(script);
    if (forRedis !== script) redisSha.set(sha1(script), sha1(forRedis));
    return forRedis;
  };
  const mapSha = (sha: string) => redisSha.get(sha.toLowerCase()) ?? sha;
  if (command === "eval" || command === "eval_ro") return { args: [name, rewrite(first), ...rest] };
  if (command === "evalsha" || command === "evalsha_ro") return { args: [name, mapSha(first), ...rest] };
  if (command === "script" && first.toLowerCase() === "load" && rest[0] !== undefined) {
    return { args: [name, first, rewrite(rest[0])], reply: (v) => (v instanceof RespError ? v : sha1(rest[0]!)) };
  }
  if (command === "script" && first.toLowerCase() === "exists") return { args: [name, first, ...rest.map(mapSha)] };
  return { args };
}

export async function startUpstashBridge(opts: { redisPort: number; redisPassword?: string; token: string }): Promise<UpstashBridge> {
  const idle: RespConnection[] = [];
  const redisSha = new Map<string, string>();
  const expected = sha256(opts.token);
  // One connection per request, so a transaction's MULTI…EXEC is never interleaved with another's.
  const withConnection = async <T>(work: (c: RespConnection) => Promise<T>): Promise<T> => {
    const c = idle.pop() ?? (await connectResp({ port: opts.redisPort, ...(opts.redisPassword !== undefined ? { password: opts.redisPassword } : {}) }));
    try {
      return await work(c);
    } finally {
      if (c.usable && idle.length < IDLE_CONNECTIONS) idle.push(c);
      else c.close();
    }
  };

  const handle = async (req: IncomingMessage): Promise<[number, unknown]> => {
    const url = new URL(req.url ?? "/", "http://bridge");
    const bearer = /^Bearer (.+)$/i.exec(req.headers.authorization ?? "")?.[1] ?? url.searchParams.get("_token");
    if (!bearer || !timingSafeEqual(sha256(bearer), expected)) return [401, { error: "Unauthorized" }];
    if (req.method !== "POST") return [405, { error: "ERR the bridge takes commands by POST" }];
    let body: unknown;
    try {
      let text = "";
      for await (const chunk of req) text += chunk;
      body = JSON.parse(text);
    } catch {
      return [400, { error: "ERR failed to parse the request body as JSON" }];
    }
    const route = url.pathname.replace(/\/+$/, "") || "/";
    const commands = route === "/" ? [body] : route === "/pipeline" || route === "/multi-exec" ? body : null;
    if (!Array.isArray(commands)) return [400, { error: "ERR the bridge takes a JSON command at POST /, or arrays of them at /pipeline and /multi-exec" }];
    if (commands.length === 0 || !commands.every(isCommand)) return [400, { error: "ERR a command is a non-empty JSON array of strings and numbers" }];
    const refused = commands.find((c) => CONNECTION_STATE.has(String(c[0]).toLowerCase()));
    if (refused) return [400, { error: `ERR '${refused[0]}' is not available over the REST API` }];

    const base64 = req.headers["upstash-encoding"]?.toString().toLowerCase() === "base64";
    const answer = (v: RespValue) => (v instanceof RespError ? { error: v.message } : { result: toJson(v, base64, true) });
    const translated = commands.map((c) => translate(c.map(String), redisSha));
    const args = translated.map((t) => t.args);
    const results = (replies: RespValue[]) => replies.map((r, i) => answer(translated[i]!.reply?.(r) ?? r));
    if (route === "/") {
      const [reply] = results(await withConnection((c) => c.send(args)));
      return ["error" in reply! ? 400 : 200, reply];
    }
    if (route === "/pipeline") return [200, results(await withConnection((c) => c.send(args)))];
    const replies = await withConnection((c) => c.send([["MULTI"], ...args, ["EXEC"]]));
    const exec = replies.at(-1)!;
    if (!Array.isArray(exec)) {
      // Discarded: a command failed to queue (its error says why) or EXEC itself failed.
      const queued = replies.slice(1, -1).find((r) => r instanceof RespError);
      return [400, { error: (queued ?? (exec instanceof RespError ? exec : new RespError("ERR transaction aborted"))).message }];
    }
    return [200, results(exec)];
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    handle(req)
      .catch((e: Error): [number, unknown] => [500, { error: `ERR ${e.message}` }])
      .then(([status, json]) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(json)));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  server.unref(); // like redis-server here: never keeps a test runner alive
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    token: opts.token,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      for (const c of idle.splice(0)) c.close();
    },
  };
}

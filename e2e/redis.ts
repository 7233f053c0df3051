// Debian's redis-server for `npm start` and the tests (issue 13: a real Redis locally, so the
// Upstash SDKs' commands and Lua scripts run on the real thing). Installed by the project itself
// when missing and root, as Chromium is; otherwise the error names the command. Nothing is kept:
// each run starts empty.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../db/sqld.ts";
import { aptInstall } from "./apt.ts";
import { connectResp } from "./resp.ts";

export const REDIS_SERVER = "/usr/bin/redis-server";

export function ensureRedisServer(log: (line: string) => void = console.log): string {
  aptInstall({ packages: ["redis-server"], installed: () => existsSync(REDIS_SERVER), purpose: `the local stack and the tests use ${REDIS_SERVER}`, log });
  return REDIS_SERVER;
}

export interface RunningRedis {
  port: number;
  /** requirepass: other local users reach only the bridge, which holds the token. */
  password: string;
  stop(): Promise<void>;
}

/** Starts redis-server on a free loopback port, in memory only, behind a random password. */
export async function startRedis(opts: { log?: (line: string) => void } = {}): Promise<RunningRedis> {
  const binary = ensureRedisServer(opts.log);
  const port = await freePort();
  const password = randomBytes(24).toString("hex");
  const child: ChildProcess = spawn(
    binary,
    ["--port", String(port), "--bind", "127.0.0.1", "--protected-mode", "yes", "--save", "", "--appendonly", "no", "--requirepass", password, "--dir", tmpdir()],
    { stdio: "ignore" },
  );
  // The server must not keep a test runner alive; callers stop it (or it dies with the parent).
  child.unref();
  const killOnExit = () => child.kill("SIGTERM");
  process.once("exit", killOnExit);
  const stop = () =>
    new Promise<void>((resolve) => {
      process.off("exit", killOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.ref(); // waiting for its exit must keep the event loop alive
      child.kill("SIGTERM");
    });
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
    const ready = await connectResp({ port, password })
      .then(async (c) => {
        const [pong] = await c.send([["PING"]]);
        c.close();
        return pong === "PONG";
      })
      .catch(() => false);
    if (ready) return { port, password, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`redis-server did not answer on 127.0.0.1:${port} within 20 s`);
    }
    await new Promise((r) => setTimeout(r, 50)); // polling a process start-up, not synchronising tests
  }
}

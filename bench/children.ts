// Child processes as the benchmarks run and measure them: a TypeScript entry bundled as it ships
// (no TypeScript loader in the measured process's memory), its CPU time and peak resident set
// read from /proc, and a stop that waits for its exit.
import type { ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";

const ROOT = join(import.meta.dirname, "..");

/** Bundles `entry` (a path from the repository's root) into one ESM file for plain node, as probe/build.ts does the probe. */
export async function bundleEntry(entry: string, outfile: string): Promise<string> {
  await build({
    absWorkingDir: ROOT,
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    banner: { js: 'import { createRequire as __cr } from "node:module"; const require = __cr(import.meta.url);' },
    logLevel: "error",
  });
  return outfile;
}

/** CPU time (user + system) a live process has used so far, in ms (/proc/<pid>/stat, 100 ticks a second). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** VmHWM (peak resident set) of a live process, in kB. */
export function peakRssKb(pid: number): number {
  const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmHWM for process ${pid}`);
  return Number(m[1]);
}

export function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

/** CPU time (user + system, ms) used so far by this process's descendants, summed by command name (/proc, 100 ticks a second). */
export function descendantsCpuMs(): Map<string, number> {
  const procs = new Map<number, { ppid: number; comm: string; ms: number }>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // "pid (comm) state ppid … utime stime": comm may hold spaces, so cut at the last ")".
      const close = stat.lastIndexOf(")");
      const fields = stat.slice(close + 2).split(" ");
      procs.set(Number(entry), { comm: stat.slice(stat.indexOf("(") + 1, close), ppid: Number(fields[1]), ms: (Number(fields[11]) + Number(fields[12])) * 10 });
    } catch {
      // exited while we looked
    }
  }
  const ours = (pid: number) => {
    for (let p = procs.get(pid)?.ppid; p !== undefined && p > 1; p = procs.get(p)?.ppid) if (p === process.pid) return true;
    return false;
  };
  const byComm = new Map<string, number>();
  for (const [pid, p] of procs) if (ours(pid)) byComm.set(p.comm, (byComm.get(p.comm) ?? 0) + p.ms);
  return byComm;
}

/** Live descendants of this process whose command name is `comm` (e.g. the workerd under `wrangler dev`). */
export function descendantPids(comm: string): number[] {
  const parents = new Map<number, { ppid: number; comm: string }>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      parents.set(Number(entry), { comm: stat.slice(stat.indexOf("(") + 1, close), ppid: Number(stat.slice(close + 2).split(" ")[1]) });
    } catch {
      // exited while we looked
    }
  }
  const ours = (pid: number) => {
    for (let p = parents.get(pid)?.ppid; p !== undefined && p > 1; p = parents.get(p)?.ppid) if (p === process.pid) return true;
    return false;
  };
  return [...parents].filter(([pid, p]) => p.comm === comm && ours(pid)).map(([pid]) => pid);
}

/** VmRSS (resident set now) of a live process, in kB. */
export function rssKb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmRSS for process ${pid}`);
  return Number(m[1]);
}

// Debian packages the local stack and the tests install themselves when missing and root
// (redis-server, Postfix), as CI's fresh machine needs. Test files start in parallel, and apt
// does not wait for its own locks (two `apt-get update`s at once: one fails), so every install
// here takes one lock of ours first: one installs, the others wait (mkdir is atomic).
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const LOCK = join(tmpdir(), "mxray-apt-install.lock");
const LOCK_WAIT_MS = 5 * 60_000;

export interface AptInstall {
  packages: string[];
  /** Whether the packages are there already (checked again once the lock is ours). */
  installed(): boolean;
  /** What uses them, for the messages ("the campaign tests use Postfix"). */
  purpose: string;
  /** debconf answers given before installing (debconf-set-selections lines). */
  debconf?: string[];
  log?: (line: string) => void;
}

/** Installs the packages unless present; true when this call installed them. */
export function aptInstall(opts: AptInstall): boolean {
  if (opts.installed()) return false;
  if (process.getuid?.() !== 0) {
    throw new Error(`${opts.packages.join(", ")} missing: run \`sudo apt-get update && sudo apt-get install -y ${opts.packages.join(" ")}\` (${opts.purpose}).`);
  }
  for (const started = Date.now(); ; ) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      if (opts.installed()) return false;
      if (Date.now() - started > LOCK_WAIT_MS) throw new Error(`${LOCK} held for 5 minutes; remove it if no install is running`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200); // a synchronous pause while another process installs
    }
  }
  try {
    if (opts.installed()) return false;
    (opts.log ?? console.log)(`installing Debian's ${opts.packages.join(", ")}: ${opts.purpose} (apt-get)`);
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    if (opts.debconf?.length) execFileSync("debconf-set-selections", { input: `${opts.debconf.join("\n")}\n`, env });
    execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
    // dpkg's lock may be held a while by someone else (a fresh machine's unattended upgrades): wait for it.
    execFileSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", "-o", "DPkg::Lock::Timeout=300", ...opts.packages], { stdio: "inherit", env });
    return true;
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

// Temporary directories for tests and benchmarks. Each run's databases and outboxes are thrown
// away (a million-row soak leaves gigabytes), so a directory made here is removed when whatever
// owns it stops, or at the latest when the test file ends or the process exits.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const made = new Set<string>();
process.once("exit", removeAllScratch);

/** A new empty directory `mxray-<name>-XXXXXX` under the system's temp directory. */
export function scratchDir(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `mxray-${name}-`));
  made.add(dir);
  return dir;
}

/** Removes a directory made by `scratchDir`; any other directory (a user's data) is left alone. */
export function removeScratch(dir: string): void {
  if (!made.delete(dir)) return;
  rmSync(dir, { recursive: true, force: true });
}

/** Removes every directory this process made by `scratchDir` (a test file's last step). */
export function removeAllScratch(): void {
  for (const dir of made) removeScratch(dir);
}

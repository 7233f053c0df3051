// Debian's Chromium, installed by the project itself when it is missing (apt, as root), so that
// `npm test` on a fresh machine needs nothing done by hand.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";

export const CHROMIUM = "/usr/bin/chromium";

export function ensureChromium(log: (line: string) => void = console.log): void {
  if (existsSync(CHROMIUM)) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`Chromium is missing: run \`sudo apt-get update && sudo apt-get install -y chromium\` (the browser tests use ${CHROMIUM}).`);
  }
  log("installing Debian's chromium for the browser tests (apt-get)");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
  execFileSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", "chromium"], { stdio: "inherit", env });
}

import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { removeAllScratch, removeScratch, scratchDir } from "./scratch.ts";

describe("scratch directories", () => {
  it("removes a directory it made, with its contents, and leaves any other directory alone", () => {
    const dir = scratchDir("scratch-test");
    writeFileSync(join(dir, "db"), "x");
    const users = join(tmpdir(), `mxray-users-data-${process.pid}`);
    mkdirSync(users, { recursive: true });
    try {
      removeScratch(users);
      expect(existsSync(users)).toBe(true);
      removeScratch(dir);
      expect(existsSync(dir)).toBe(false);
    } finally {
      rmSync(users, { recursive: true, force: true });
    }
  });

  it("removes every directory still there at the end", () => {
    const dirs = [scratchDir("scratch-test"), scratchDir("scratch-test")];
    removeAllScratch();
    expect(dirs.filter((d) => existsSync(d))).toEqual([]);
  });
});

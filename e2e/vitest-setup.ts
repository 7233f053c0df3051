// Runs before each Node test file. Vitest ends its workers without an exit event, so scratch
// directories are removed when each file's tests are done (after the file's own afterAll hooks).
import { afterAll } from "vitest";
import { removeAllScratch } from "./scratch.ts";

afterAll(removeAllScratch);

// The CI-sized soak: 20,000 addresses through the whole local stack on the same driver as
// `npm run bench:soak` (e2e/soak.ts), with a sampler reading the job and the account every second.
// It fails on any 5xx, on a job that does not complete within a generous bound, and on counts
// that do not add up or do not match the world. Speed is printed, never asserted.
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Stack } from "./stack.ts";
import { formatSoak, runSoak, startSoakStack } from "./soak.ts";
import type { World } from "./world/index.ts";

const ADDRESSES = 20_000;
let world: World;
let stack: Stack;

beforeAll(async () => {
  ({ world, stack } = await startSoakStack({ world: "mixed" }));
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await world?.stop();
});

it("takes 20,000 addresses from a streamed upload to completed with no 5xx and every address counted once", async () => {
  const report = await runSoak(stack, { addresses: ADDRESSES, world: "mixed", timeoutMs: 150_000 });
  console.log(formatSoak(report));
  expect(report.upload?.status).toBe(201);
  expect(report.stopped).toBeNull();
  expect(report.failures).toEqual([]);
  expect(report.fiveXX).toEqual({ sampler: 0, uploader: 0 });
  expect(report.job).toMatchObject({ status: "completed", total: ADDRESSES, unique: ADDRESSES, processed: ADDRESSES });
  expect(report.countsAddUp).toBe(true);
  expect(report.job?.counts).toEqual(report.expected);
  expect(world.stats().dataCommands).toBe(0);
}, 180_000);

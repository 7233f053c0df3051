// The CI-sized soak: 20,000 addresses through the whole local stack on the same driver as
// `npm run bench:soak` (e2e/soak.ts), with a sampler reading the job and the account every second.
// It fails on any 5xx, on a job that does not complete within a generous bound, and on counts
// that do not add up or do not match the world, and on a full export that does not give every
// row of the list back. Speed is printed, never asserted.
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Stack } from "./stack.ts";
import { formatSoak, runSoak, soakRows, startSoakStack } from "./soak.ts";
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
  // The list repeats some addresses and has rows without one (e2e/soak.ts soakCsv).
  const rows = soakRows("verify", ADDRESSES);
  expect(report.job).toMatchObject({ status: "completed", total: rows - report.job!.rejects.no_address, unique: ADDRESSES, processed: ADDRESSES });
  expect(report.job!.rejects.no_address).toBeGreaterThan(0);
  expect(report.exportRows).toMatchObject({ in: rows, out: rows });
  expect(report.countsAddUp).toBe(true);
  expect(report.job?.counts).toEqual(report.expected);
  expect(world.stats().dataCommands).toBe(0);
}, 180_000);

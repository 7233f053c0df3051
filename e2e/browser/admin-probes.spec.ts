// The fleet on /admin as the demo shows it (issue 26): the stack's probes, in the simulated world,
// pass their self-check (port 25 against a world host; checks that only the Internet answers are
// "not applicable"), and a probe that stops heartbeating reads "silent", with when it was last
// heard, instead of the `active` its status still holds.
import { SIGNATURE_HEADER, sign } from "../../core/signing.ts";
import { expect, OPERATOR_EMAIL, signIn, test } from "./fixtures.ts";

test("the demo's probes pass their self-check, and a probe that stopped heartbeating shows as silent", async ({ page }) => {
  // A stand-in probe beats once and then stops, as a probe killed on its VPS would. Draining with
  // no capacity: no batch of another test is ever sent to it.
  const probeId = `prb_gone_${Math.random().toString(36).slice(2, 8)}`;
  const body = JSON.stringify({ probe_id: probeId, url: "http://127.0.0.1:9", version: "test", in_flight: 0, capacity: 0, draining: true, sent_at: new Date().toISOString() });
  const path = "/internal/probes/heartbeat";
  const res = await page.request.post(path, { data: body, headers: { "content-type": "application/json", [SIGNATURE_HEADER]: await sign(process.env.MXRAY_BROWSER_PROBE_SECRET!, { method: "POST", path }, body) } });
  expect(res.status()).toBe(200);

  await signIn(page, OPERATOR_EMAIL);
  await page.goto("/admin");
  const fleet = page.getByRole("table", { name: "Probes" });
  const local = fleet.locator("tbody tr").filter({ hasText: "prb_local_" }).first();
  await expect(local.locator("[data-self-check]")).toHaveAttribute("data-self-check", "true");
  await expect(local.locator("[data-self-check]")).toContainText("not applicable (simulated world)");
  await expect(local.locator("[data-probe-status]")).toHaveAttribute("data-probe-status", "active");

  // Three of the stack's 2 s heartbeats missed (MXRAY_PROBE_SILENT_MS=6000 in e2e/stack.ts).
  const gone = fleet.locator(`tr[data-probe="${probeId}"]`);
  await expect(async () => {
    await page.reload();
    await expect(gone.locator("[data-probe-status]")).toHaveAttribute("data-probe-status", "silent", { timeout: 1_000 });
  }).toPass({ timeout: 30_000 });
  await expect(gone.locator("[data-probe-status]")).toContainText(/^silent\s*last heard \d+ s ago$/);
  await expect(gone.locator("[data-probe-status] strong")).toHaveAttribute("title", /^status: draining/);
  await expect(local.locator("[data-probe-status]")).toHaveAttribute("data-probe-status", "active");
});

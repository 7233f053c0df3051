/// <reference lib="dom" />
// The webhooks pages in words (issue 26): a refused connection says so with the host and port, a
// delivery being retried reads "retrying" with its next try counted to the second (exact time in
// the title), a long URL wraps inside its cell while the action buttons stay on one line.
import { expect, shot, signIn, test, uniqueEmail } from "./fixtures.ts";

test("a refused endpoint's delivery says why, reads retrying, and counts down to its next try", async ({ page }) => {
  await signIn(page, uniqueEmail("hookwords"));
  await page.goto("/webhooks");
  await expect(page.getByRole("link", { name: "webhooks guide" })).toHaveAttribute("href", "/docs/webhooks");
  // Port 9 of loopback: nothing listens there (the local stack allows loopback endpoints).
  const url = `http://127.0.0.1:9/hooks/${"a-very-long-path-segment-without-any-break".repeat(3)}`;
  await page.getByLabel("URL").fill(url);
  await page.getByLabel("Description").fill("Closed port");
  await page.getByRole("button", { name: "Create endpoint" }).click();
  await expect(page.getByTestId("webhook-secret")).toHaveText(/^whsec_/);

  // The URL wraps inside its cell; the buttons keep one line each, side by side.
  const row = page.getByRole("table", { name: "Endpoints" }).locator("tbody tr", { hasText: "Closed port" });
  const buttons = row.locator(".webhook-actions .btn");
  const tops = await buttons.evaluateAll((els) => els.filter((e) => e.checkVisibility()).map((e) => Math.round(e.getBoundingClientRect().top)));
  expect(tops.length).toBeGreaterThan(3);
  expect(Math.max(...tops) - Math.min(...tops)).toBeLessThanOrEqual(2); // one line (the Delete summary sits a pixel off)
  const heights = await buttons.evaluateAll((els) => els.filter((e) => e.checkVisibility()).map((e) => e.getBoundingClientRect().height));
  expect(Math.max(...heights)).toBeLessThan(40);
  const urlBox = row.locator(".wrap-anywhere").first();
  expect(await urlBox.evaluate((el) => el.scrollWidth <= el.clientWidth + 1)).toBe(true);

  // The test event's action is answered before the page moves on: a navigation would cancel it.
  await Promise.all([
    page.waitForResponse((r) => r.request().method() === "POST" && r.ok()),
    page.getByRole("button", { name: "Send test event to Closed port" }).click(),
  ]);
  await page.goto((await page.getByRole("link", { name: "Deliveries of Closed port" }).getAttribute("href"))!);
  const delivery = page.locator("article[data-delivery]").first();
  await expect(async () => {
    await page.reload();
    await expect(delivery.locator('tr[data-attempt="1"] code')).toHaveText("Connection refused by 127.0.0.1:9", { timeout: 1_000 });
  }).toPass();
  await expect(delivery.locator('tr[data-attempt="1"] td').nth(1)).toHaveText("no answer");
  await expect(delivery.locator(".badge")).toHaveText("retrying");
  await expect(delivery.locator(".badge")).toHaveAttribute("title", "status: pending");
  const next = delivery.locator("time");
  // 30 s after the first attempt, or 2 min after a second one on a slow machine.
  await expect(next).toHaveText(/^next try in (\d+ min )?\d+ s$/);
  await expect(next).toHaveAttribute("title", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  // It counts down by itself.
  const first = (await next.textContent())!;
  await expect(next).not.toHaveText(first);
  await shot(page, "webhook-deliveries-retrying");
});

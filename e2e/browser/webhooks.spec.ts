// Webhooks in Chromium (issue 12): an owner makes an endpoint on a loopback receiver, sees its
// secret once (and a rotated one), sends a test event that arrives once and verifies with that secret, reads the
// delivery log, replays a failed delivery (a second attempt is logged), disables an endpoint, and
// is told why a private URL is refused; a team member cannot open /webhooks.
import { Webhook } from "standardwebhooks";
import { startStandInReceiver } from "../standin-receiver.ts";
import { expect, makeTeamWithMember, shot, signIn, test, uniqueEmail } from "./fixtures.ts";

let receiver: Awaited<ReturnType<typeof startStandInReceiver>>;

test.beforeAll(async () => {
  receiver = await startStandInReceiver();
});

test.afterAll(async () => {
  await receiver?.close();
});

const at = (prefix: string) => receiver.received.filter((r) => r.path.startsWith(prefix));

test("an owner creates an endpoint, sees its secret once, and follows a signed test event, a replay and disabling", async ({ page }) => {
  const tag = Math.random().toString(36).slice(2, 10);
  await signIn(page, uniqueEmail("hooks"));
  await page.getByRole("link", { name: "Webhooks" }).click();
  await expect(page).toHaveURL(/\/webhooks$/);
  await expect(page.getByText("No endpoints yet.")).toBeVisible();

  // Create: job.completed is ticked by default; the secret is shown once, with a copy button.
  await page.getByLabel("URL").fill(`${receiver.url}/ok/${tag}`);
  await expect(page.getByLabel("job.completed")).toBeChecked();
  await page.getByLabel("Description").fill("CRM sync");
  await page.getByRole("button", { name: "Create endpoint" }).click();
  const secretBox = page.getByTestId("webhook-secret");
  await expect(secretBox).toHaveText(/^whsec_/);
  const secret = (await secretBox.textContent())!;
  await expect(page.getByRole("status", { name: "Signing secret" }).getByRole("button", { name: "Copy" })).toBeVisible();
  const endpoints = page.getByRole("table", { name: "Endpoints" });
  await expect(endpoints.locator("tbody tr")).toHaveCount(1);
  await expect(endpoints).toContainText("job.completed");
  await expect(endpoints).toContainText("Enabled");
  await shot(page, "webhooks");
  await page.reload();
  await expect(endpoints.locator("tbody tr")).toHaveCount(1);
  await expect(secretBox).toHaveCount(0);

  // A test event: one POST, signed with the secret shown.
  await page.getByRole("button", { name: "Send test event to CRM sync" }).click();
  await expect(page.getByRole("status").filter({ hasText: "webhook.test" })).toBeVisible();
  await expect.poll(() => at(`/ok/${tag}`).length).toBe(1);
  const [got] = at(`/ok/${tag}`);
  expect(got!.headers["webhook-id"]).toMatch(/^dlv_/);
  expect(got!.headers["webhook-signature"]).toMatch(/^v1,/);
  const event = new Webhook(secret).verify(got!.body, got!.headers) as { type: string; data: { webhook_id: string } };
  expect(event.type).toBe("webhook.test");

  // The delivery log says delivered, 200, with the start of the answer.
  await page.getByRole("link", { name: "Deliveries of CRM sync" }).click();
  await expect(page).toHaveURL(new RegExp(`/webhook-deliveries/${event.data.webhook_id}$`));
  const delivery = page.getByRole("article", { name: `Delivery ${got!.headers["webhook-id"]}` });
  await expect(async () => {
    await page.reload();
    await expect(delivery.locator(".badge")).toHaveText("delivered", { timeout: 1_000 });
  }).toPass();
  await expect(delivery).toContainText("webhook.test");
  const first = delivery.locator('tr[data-attempt="1"]');
  await expect(first.locator("td").nth(1)).toHaveText("HTTP 200");
  await expect(first.locator("code")).toContainText('{"received":true');
  expect(at(`/ok/${tag}`)).toHaveLength(1);
  await shot(page, "webhook-deliveries");

  // A receiver answering 500: the attempt is logged as such, and a replay adds a second attempt
  // with the same webhook-id.
  await page.goto("/webhooks");
  await page.getByLabel("URL").fill(`${receiver.url}/status/500/${tag}`);
  await page.getByLabel("Description").fill("Failing receiver");
  await page.getByRole("button", { name: "Create endpoint" }).click();
  await expect(secretBox).toBeVisible();
  await page.getByRole("link", { name: "Deliveries of Failing receiver" }).click();
  await expect(page.getByText("No deliveries yet.")).toBeVisible();
  await page.getByRole("button", { name: "Send test event" }).click();
  await expect.poll(() => at(`/status/500/${tag}`).length).toBe(1);
  const failedId = at(`/status/500/${tag}`)[0]!.headers["webhook-id"]!;
  const failed = page.getByRole("article", { name: `Delivery ${failedId}` });
  await expect(async () => {
    await page.reload();
    await expect(failed.locator('tr[data-attempt="1"] td').nth(1)).toHaveText("HTTP 500", { timeout: 1_000 });
  }).toPass();
  await expect(failed.locator('tr[data-attempt="1"] code')).toHaveText("answered 500");
  await expect(failed.locator(".badge")).toHaveText("retrying");
  // Counted rather than assumed 1: the 30 s retry may, on a slow machine, have come first.
  const before = await failed.locator("tbody tr").count();
  await failed.getByRole("button", { name: `Replay ${failedId}` }).click();
  await expect(page.getByRole("status").filter({ hasText: "being sent once more" })).toBeVisible();
  await expect(async () => {
    await page.reload();
    await expect(failed.locator(`tr[data-attempt="${before + 1}"] td`).nth(1)).toHaveText("HTTP 500", { timeout: 1_000 });
  }).toPass();
  expect(new Set(at(`/status/500/${tag}`).map((r) => r.headers["webhook-id"]))).toEqual(new Set([failedId]));

  // Disabling shows it (and offers no test event); the failing endpoint is deleted on a second click.
  await page.getByRole("link", { name: "← All webhooks" }).click();
  // Rotating shows the new secret once.
  await page.getByRole("button", { name: "Rotate secret of CRM sync" }).click();
  await expect(page.getByRole("status", { name: "Signing secret" })).toContainText("The new signing secret");
  await expect(secretBox).toHaveText(/^whsec_/);
  expect(await secretBox.textContent()).not.toBe(secret);
  await page.getByRole("button", { name: "Disable CRM sync" }).click();
  const crm = endpoints.locator("tr", { hasText: "CRM sync" });
  await expect(crm).toContainText("Disabled");
  await expect(crm).toContainText("turned off");
  await expect(page.getByRole("button", { name: "Send test event to CRM sync" })).toHaveCount(0);
  await endpoints.locator("tr", { hasText: "Failing receiver" }).locator("summary").click();
  await page.getByRole("button", { name: "Delete Failing receiver and its deliveries", exact: true }).click();
  await expect(endpoints.locator("tbody tr")).toHaveCount(1);

  // A private address is refused with the rule, on the page.
  await page.getByLabel("URL").fill("https://10.0.0.1/hook");
  await page.getByRole("button", { name: "Create endpoint" }).click();
  await expect(page.getByRole("alert")).toContainText("deliveries go to public addresses only");
  await expect(endpoints.locator("tbody tr")).toHaveCount(1);
});

test("a team member has no Webhooks link and gets 403 on /webhooks and its actions", async ({ page, browser }) => {
  const member = uniqueEmail("hookmember");
  await signIn(page, uniqueEmail("hookowner"));
  await makeTeamWithMember(page, "Hooks team", member);
  // The owner (of the team, now current) may.
  await expect(page.getByRole("link", { name: "Webhooks" })).toBeVisible();

  const ctx = await browser.newContext({ baseURL: process.env.MXRAY_BROWSER_URL });
  const them = await ctx.newPage();
  await signIn(them, member);
  await them.getByLabel("Account").selectOption({ label: "Hooks team" });
  await expect(them.getByRole("link", { name: "Webhooks" })).toHaveCount(0);
  const res = await them.goto("/webhooks");
  expect(res?.status()).toBe(403);
  await expect(them.getByRole("heading", { name: "Not allowed" })).toBeVisible();
  expect((await them.request.get("/webhook-deliveries/whk_0d3kq8zp1m0avw2xbycd")).status()).toBe(403);
  const create = await them.request.post("/webhooks", { form: { intent: "create", url: `${receiver.url}/ok/member`, events: "job.completed" }, maxRedirects: 0 });
  expect(create.status()).toBe(403);
  await ctx.close();
  await page.goto("/webhooks");
  await expect(page.getByText("No endpoints yet.")).toBeVisible();
});

// Billing in Chromium (issue 11): an owner buys a pack through the Stripe stand-in's hosted
// checkout, whose webhook arrives twice, and sees the balance rise exactly once, in the ledger (in
// cursor pages) and its CSV export too; a member of a team cannot open /billing nor start a checkout.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import Papa from "papaparse";
import { expect, makeTeamWithMember, shot, signIn, test, truth, uniqueEmail } from "./fixtures.ts";

const SAMPLE = join(import.meta.dirname, "..", "world", "sample.txt");
const credits = (text: string | null) => Number((text ?? "").replace(/,/g, ""));

test("an owner buys 10,000 credits through checkout; a webhook delivered twice credits them once", async ({ page }) => {
  await signIn(page, uniqueEmail("buyer"));
  await page.getByRole("link", { name: "Billing" }).click();
  await expect(page).toHaveURL(/\/billing$/);
  const balance = page.getByTestId("balance");
  const before = credits(await balance.textContent());
  await expect(page.getByRole("table", { name: "Credit packs" })).toContainText("$");
  await shot(page, "billing");

  await page.getByRole("button", { name: "Buy 10,000 credits" }).click();
  // Stripe's hosted page (the stand-in), on another origin.
  await expect(page.getByRole("heading", { name: "Checkout" })).toBeVisible();
  expect(new URL(page.url()).origin).not.toBe(new URL(process.env.MXRAY_BROWSER_URL!).origin);
  await page.getByText("Test deliveries").click();
  await page.getByRole("button", { name: "Pay, webhook delivered twice" }).click();

  await expect(page).toHaveURL(/\/billing\?checkout=success&session_id=cs_/);
  await expect(page.getByRole("status").filter({ hasText: "Payment received" })).toBeVisible();
  const after = (before + 10_000).toLocaleString("en");
  // The page only reads the balance: reload until the webhook's write shows.
  await expect(async () => {
    await page.reload();
    await expect(balance).toHaveText(after, { timeout: 1_000 });
  }).toPass();
  const purchases = page.getByRole("table", { name: "Credit history" }).locator('tr[data-reason="purchase"]');
  await expect(purchases).toHaveCount(1);
  await expect(purchases).toContainText("+10,000");
  await expect(page.getByTitle("Credits")).toHaveText(`${after} credits`);
  await shot(page, "billing-bought");

  // 25 single checks (through an API key) fill the first page of the history; the purchase is
  // one page older.
  await page.goto("/keys");
  await page.getByLabel("Name").fill("billing test");
  await page.getByRole("button", { name: "Create key" }).click();
  const key = (await page.getByTestId("new-key").textContent())!;
  const address = [...truth()].find(([, e]) => e.verdict === "deliverable")![0];
  for (let i = 0; i < 25; i++) {
    const res = await page.request.post("/api/v1/verify", { headers: { authorization: `Bearer ${key}` }, data: { email: address } });
    expect(res.status()).toBe(200);
  }
  await page.goto("/billing");
  await expect(balance).toHaveText((before + 10_000 - 25).toLocaleString("en"));
  const history = page.getByRole("table", { name: "Credit history" });
  await expect(history.locator('tbody tr[data-reason="single_check"]')).toHaveCount(25);
  await expect(history.locator("tbody tr")).toHaveCount(25);
  await page.getByRole("link", { name: "Older →" }).click();
  await expect(page).toHaveURL(/\/billing\?cursor=/);
  await expect(history.locator("tbody tr")).toHaveCount(2);
  await expect(purchases).toHaveCount(1);
  await expect(page.getByRole("link", { name: "Older →" })).toHaveCount(0);
  await page.getByRole("link", { name: "← Newest" }).click();
  await expect(history.locator("tbody tr")).toHaveCount(25);

  // The portal opens for an account that has bought; auto top-up is saved (not due at this balance).
  await page.getByRole("button", { name: "Manage billing (invoices, receipts, cards)" }).click();
  await expect(page.getByRole("heading", { name: "Billing portal" })).toBeVisible();
  await page.goto("/billing");
  await page.getByLabel("Turn on").check();
  await page.getByLabel("Below (credits)").fill("100");
  await page.getByLabel("Pack to buy").selectOption("credits_50k");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Auto top-up is on." })).toBeVisible();
  await page.reload();
  await expect(page.getByLabel("Turn on")).toBeChecked();
  await expect(page.getByLabel("Pack to buy")).toHaveValue("credits_50k");
  // A refused save is said on the page, not as an error page.
  const bad = await page.request.post("/billing", { form: { intent: "auto-topup", enabled: "on", threshold: "5", pack: "credits_10k" } });
  expect(bad.status()).toBe(200);
  expect(await bad.text()).toContain("threshold: a whole number of credits");

  // The export has every entry: one purchase, and they sum to the balance.
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Export CSV" }).click()]);
  expect(download.suggestedFilename()).toMatch(/-credits\.csv$/);
  const rows = Papa.parse<Record<string, string>>(readFileSync((await download.path())!, "utf8"), { header: true, skipEmptyLines: true }).data;
  expect(rows.filter((r) => r.reason === "purchase").map((r) => r.credits)).toEqual(["10000"]);
  expect(rows).toHaveLength(27);
  expect(rows.reduce((sum, r) => sum + Number(r.credits), 0)).toBe(before + 10_000 - 25);
});

test("a team member cannot open /billing or start a checkout and is told to ask for credits; the owner is offered to buy", async ({ page, browser }) => {
  const member = uniqueEmail("billmember");
  await signIn(page, uniqueEmail("billowner"));
  await makeTeamWithMember(page, "Billing team", member);
  // A new team has no credits: its owner is told, and led to buy.
  await expect(page.getByRole("note", { name: "Low balance" }).getByRole("link", { name: "Buy credits" })).toHaveAttribute("href", "/billing");

  const ctx = await browser.newContext({ baseURL: process.env.MXRAY_BROWSER_URL });
  const them = await ctx.newPage();
  await signIn(them, member);
  await them.getByLabel("Account").selectOption({ label: "Billing team" });
  await expect(them.getByRole("link", { name: "API keys" })).toHaveCount(0);
  await expect(them.getByRole("link", { name: "Billing" })).toHaveCount(0);
  await expect(them.getByRole("note", { name: "Low balance" })).toHaveCount(0);
  const res = await them.goto("/billing");
  expect(res?.status()).toBe(403);
  await expect(them.getByRole("heading", { name: "Not allowed" })).toBeVisible();
  const buy = await them.request.post("/billing", { form: { intent: "buy", product: "credits_10k" }, maxRedirects: 0 });
  expect(buy.status()).toBe(403);
  expect((await them.request.get("/billing/ledger.csv")).status()).toBe(403);

  // The team's balance is 0: a single check is refused, with whom to ask rather than a buy link.
  await them.goto("/verify");
  await them.getByLabel("Email address").fill("someone@example.com");
  await them.getByRole("button", { name: "Check" }).click();
  const refusal = them.getByRole("alert");
  await expect(refusal).toContainText("Ask an owner or admin");
  await expect(refusal.getByRole("link", { name: "Buy credits" })).toHaveCount(0);
  await ctx.close();

  // Its owner, refused the same, is offered to buy, on a single check and on an upload.
  await page.goto("/verify");
  await page.getByLabel("Email address").fill("someone@example.com");
  await page.getByRole("button", { name: "Check" }).click();
  await expect(page.getByRole("alert").getByRole("link", { name: "Buy credits" })).toHaveAttribute("href", "/billing");
  await page.goto("/upload");
  await page.getByLabel("File").setInputFiles(SAMPLE);
  await expect(page.getByRole("alert")).toContainText("Split the list or add credits");
  await expect(page.getByRole("alert").getByRole("link", { name: "Buy credits" })).toHaveAttribute("href", "/billing");
});

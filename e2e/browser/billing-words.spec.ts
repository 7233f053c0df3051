// Words and numbers a new user meets (issue 26), in Chromium: no low-balance warning after a new
// account's first small list, but one for a paying account whose balance would not cover its last
// list; the billing page's price per credit and saving, no Pack column repeating the credits, the
// auto top-up checkbox on its row's line, and lists by name in the history; audit actions in
// words with the code kept for developers; the upload preview's rejected rows by line and reason.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect, OPERATOR_EMAIL, signIn, test, truth, uniqueEmail } from "./fixtures.ts";

const credits = (text: string | null) => Number((text ?? "").replace(/[^\d-]/g, ""));

test("a new account's first small list leaves no warning; the preview lists rejected rows; the audit log speaks words", async ({ page }, info) => {
  const dir = info.outputDir;
  mkdirSync(dir, { recursive: true });
  const file = (name: string, body: string) => {
    const path = join(dir, name);
    writeFileSync(path, body);
    return path;
  };
  await signIn(page, uniqueEmail("firstuse"));
  await expect(page.getByRole("note", { name: "Low balance" })).toHaveCount(0);
  await expect(page.getByRole("note", { name: "Free credits" })).toHaveCount(0);

  // Two rejected rows among four addresses: each listed with its line and why.
  const good = [...truth()].filter(([a, e]) => e.verdict === "deliverable" && a.endsWith("@ok.test")).map(([a]) => a).slice(0, 4);
  expect(good).toHaveLength(4);
  const lines = ["name,email", `A,${good[0]}`, "Nobody,", `B,${good[1]}`, `C,${good[2]}`, `Long,${"x".repeat(600)}@ok.test`, `D,${good[3]}`];
  await page.goto("/upload");
  await page.locator('input[type="file"]').setInputFiles(file("first.csv", `${lines.join("\n")}\n`));
  await expect(page.getByTestId("rejects")).toHaveText("2");
  const rejected = page.getByRole("table", { name: "Rejected rows" }).locator("tbody tr");
  await expect(rejected).toHaveCount(2);
  await expect(rejected.nth(0).locator("td")).toHaveText(["3", "Nobody,", "no address"]);
  await expect(rejected.nth(1).locator("td").first()).toHaveText("6");
  await expect(rejected.nth(1).locator("td").last()).toHaveText("too long");
  await expect(rejected.nth(1)).toHaveAttribute("data-reason", "too_long");

  // Many rejected rows: the first ten, and how many more.
  const blanks = ["name,email", `A,${good[0]}`, ...Array.from({ length: 13 }, (_, i) => `Row ${i + 1},`)].join("\n");
  await page.locator('input[type="file"]').setInputFiles(file("many.csv", `${blanks}\n`));
  await expect(page.getByTestId("rejects")).toHaveText("13");
  await expect(page.getByRole("table", { name: "Rejected rows" }).locator("tbody tr")).toHaveCount(10);
  await expect(page.getByRole("table", { name: "Rejected rows" }).locator("tbody tr").first().locator("td").first()).toHaveText("3");
  await expect(page.getByText("and 3 more rows rejected.")).toBeVisible();

  // The small list goes: 4 of the 100 free credits. Below the old fixed line of 100, no warning.
  await page.locator('input[type="file"]').setInputFiles(file("first.csv", `${lines.join("\n")}\n`));
  await page.getByRole("button", { name: "Verify 4 addresses" }).click();
  await expect(page).toHaveURL(/\/jobs\/job_/);
  await expect(page.getByTestId("progress-text")).toHaveText("100%", { timeout: 60_000 });
  await page.goto("/dashboard");
  expect(credits(await page.getByTitle("Credits").textContent())).toBeLessThan(100);
  await expect(page.getByRole("note", { name: "Low balance" })).toHaveCount(0);
  await expect(page.getByRole("note", { name: "Free credits" })).toHaveCount(0);

  // The audit log leads with words; the code is in the tooltip and the Code column.
  await page.goto("/audit");
  const uploaded = page.getByRole("table", { name: "Audit log" }).locator('tbody tr[data-action="job.created"]');
  await expect(uploaded.getByTitle("job.created")).toHaveText("List uploaded");
  await expect(uploaded.locator("td").nth(1)).toContainText(/^List uploaded/);
  await expect(page.getByRole("table", { name: "Audit log" }).locator('tbody tr[data-action="sign_in.succeeded"]').getByTitle("sign_in.succeeded")).toHaveText("Signed in");
});

test("billing shows price per credit and saving, names lists in the history, and warns a paying account below its last list", async ({ page, browser }, info) => {
  const customer = uniqueEmail("payingcustomer");
  await signIn(page, customer);
  await page.goto("/billing");

  // Packs: credits once (no Pack column), the price, and per credit with the saving over the smallest.
  const packs = page.getByRole("table", { name: "Credit packs" });
  await expect(packs.locator("thead th")).toHaveText(["Credits", "Price", "Per credit", "Buy"]);
  await expect(packs.locator('tr[data-pack="credits_10k"] td').nth(2)).toHaveText("$0.0010 per credit");
  await expect(packs.locator('tr[data-pack="credits_50k"] td').nth(2)).toHaveText("$0.0008 per credit · save 20%");
  await expect(packs.locator('tr[data-pack="credits_1m"] td').nth(2)).toHaveText("$0.0005 per credit · save 50%");

  // The auto top-up checkbox sits on the line of the inputs beside it.
  const box = (await page.getByLabel("Turn on").boundingBox())!;
  const threshold = (await page.getByLabel("Below (credits)").boundingBox())!;
  expect(Math.abs(box.y + box.height / 2 - (threshold.y + threshold.height / 2))).toBeLessThanOrEqual(3);

  // A purchase (through the Stripe stand-in) makes this a paying account.
  const balance = page.getByTestId("balance");
  const before = credits(await balance.textContent());
  await page.getByRole("button", { name: "Buy 10,000 credits" }).click();
  await expect(page.getByRole("heading", { name: "Checkout" })).toBeVisible();
  await page.getByRole("button", { name: "Pay 10.00 USD" }).click();
  await expect(page).toHaveURL(/\/billing\?checkout=success/);
  await expect(async () => {
    await page.reload();
    await expect(balance).toHaveText((before + 10_000).toLocaleString("en"), { timeout: 1_000 });
  }).toPass();

  // A list of 150 addresses, by name in the history, linked to its page.
  const dir = info.outputDir;
  mkdirSync(dir, { recursive: true });
  const path = join(dir, "spring.csv");
  writeFileSync(path, `email\n${Array.from({ length: 150 }, (_, i) => `nobody${i}@ok.test`).join("\n")}\n`);
  await page.goto("/upload");
  await page.locator('input[type="file"]').setInputFiles(path);
  await page.getByLabel("List name").fill("Spring leads");
  await page.getByRole("button", { name: "Verify 150 addresses" }).click();
  await expect(page).toHaveURL(/\/jobs\/job_/);
  const jobPath = new URL(page.url()).pathname;
  await expect(page.getByTestId("progress-text")).toHaveText("100%", { timeout: 60_000 });
  await page.goto("/billing");
  const reserved = page.getByRole("table", { name: "Credit history" }).locator('tr[data-reason="job_reserve"]');
  await expect(reserved.getByRole("link", { name: "Spring leads" })).toHaveAttribute("href", jobPath);
  await expect(reserved.getByRole("link", { name: "Spring leads" })).toHaveAttribute("title", jobPath.split("/").pop()!);
  await expect(page.getByRole("note", { name: "Low balance" })).toHaveCount(0);

  // An operator takes credits away until fewer than that list needed are left: now it warns.
  const left = credits(await balance.textContent());
  const ctx = await browser.newContext({ baseURL: process.env.MXRAY_BROWSER_URL });
  const operator = await ctx.newPage();
  await signIn(operator, OPERATOR_EMAIL, "/admin");
  await operator.getByLabel("Name, email or id").fill(customer);
  await operator.getByRole("button", { name: "Search" }).click();
  const row = operator.getByRole("table", { name: "Accounts" }).locator("tbody tr");
  await expect(row).toHaveCount(1);
  await expect(row).toContainText(customer);
  await row.getByLabel(/Credits to add or remove/).fill(String(120 - left));
  await row.getByLabel(/Reason for/).fill("issue 26 test");
  await row.getByRole("button", { name: "Adjust" }).click();
  await expect(operator.getByRole("status").filter({ hasText: "Adjusted" })).toBeVisible();
  await ctx.close();

  await page.goto("/dashboard");
  const warning = page.getByRole("note", { name: "Low balance" });
  await expect(warning).toContainText("Only 120 credits left, fewer than your last list needed (150).");
  await expect(warning.getByRole("link", { name: "Buy credits" })).toHaveAttribute("href", "/billing");
});

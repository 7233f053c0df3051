// The /find page in Chromium against the local stack and the simulated world (issue 14): a person
// found with the candidates asked before it and the server's replies, a catch-all domain's
// likeliest address with its note, nobody found with why, a refused domain, and a pasted list.
import type { Page } from "@playwright/test";
import { REASON_WORDS } from "../../app/lib/reasons.ts";
import { expect, shot, signIn, test, uniqueEmail } from "./fixtures.ts";

/** The value beside a term in the answer's evidence list. */
const term = (page: Page, name: string) => page.locator(`.evidence dt:text-is("${name}") + dd`);

async function find(page: Page, first: string, last: string, domain: string): Promise<void> {
  await page.getByLabel("First name").fill(first);
  await page.getByLabel("Last name").fill(last);
  await page.getByLabel("Company domain or website").fill(domain);
  await page.getByRole("button", { name: "Find", exact: true }).click();
}

test.beforeEach(async ({ page }) => {
  await signIn(page, uniqueEmail("finder"));
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Find", exact: true }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Find an address");
});

test("a person is found, with the candidates asked before the address and the server's replies", async ({ page }) => {
  // The stack starts with no pattern learned for ok.test, so the usual order is asked:
  // first.last and flast are refused, first is taken.
  await find(page, "Alice", "Smith", "https://www.ok.test/about");
  const card = page.getByRole("region", { name: /alice@ok\.test/ });
  await expect(card.locator("h2 .badge")).toHaveText("deliverable", { timeout: 30_000 });
  await expect(card.getByRole("button", { name: "Copy" })).toBeVisible();
  await expect(term(page, "Pattern")).toHaveText("first");
  await expect(term(page, "Confidence")).toHaveText(/^\d+%$/);
  await expect(card.getByRole("note")).toHaveCount(0);
  // Each row: address, pattern, verdict, reason, MX, SMTP reply.
  const rows = card.getByRole("table", { name: "Candidates asked" }).locator("tbody tr");
  const cells = (i: number) => rows.nth(i).locator("td");
  await expect(rows).toHaveCount(3);
  await expect(cells(0)).toHaveText(["alice.smith@ok.test", "first.last", "undeliverable", REASON_WORDS.mailbox_not_found, "mx.ok.test", /^550 5\.1\.1 /]);
  await expect(cells(1)).toHaveText(["asmith@ok.test", "flast", "undeliverable", REASON_WORDS.mailbox_not_found, "mx.ok.test", /^550 5\.1\.1 /]);
  await expect(cells(2)).toHaveText(["alice@ok.test", "first", "deliverable", REASON_WORDS.accepted, "mx.ok.test", /^250 /]);
  await shot(page, "find");
});

test("on a catch-all domain the likeliest address is risky, with the note that it is not proven", async ({ page }) => {
  await find(page, "Alice", "Smith", "catchall.test");
  const card = page.getByRole("region", { name: /alice\.smith@catchall\.test/ });
  await expect(card.locator("h2 .badge")).toHaveText("risky", { timeout: 30_000 });
  await expect(card.getByRole("note")).toHaveText("This domain accepts every address: the address is the likeliest pattern, not proven.");
  await expect(term(page, "Pattern")).toHaveText("first.last");
  await expect(term(page, "Reason").locator('[title="catch_all"]')).toHaveText(REASON_WORDS.catch_all);
  await expect(term(page, "Confidence")).toHaveText(/^\d+%$/);
  await shot(page, "find-catch-all");
});

test("nobody found says why, and costs nothing", async ({ page }) => {
  const credits = await page.getByTitle("Credits").textContent();
  await find(page, "Zoe", "Nobody", "ok.test");
  const card = page.getByRole("region", { name: /No address found/ });
  await expect(card.locator("h2 .badge")).toHaveText("undeliverable", { timeout: 30_000 });
  await expect(card.getByText(`The mail server refused every address tried (${REASON_WORDS.mailbox_not_found.toLowerCase()}).`)).toBeVisible();
  const rows = card.getByRole("table", { name: "Candidates asked" }).locator("tbody tr");
  await expect(rows.first()).toContainText("@ok.test");
  expect(await rows.count()).toBeGreaterThan(3);
  await expect(card.getByRole("button", { name: "Copy" })).toHaveCount(0);
  await page.goto("/find");
  await expect(page.getByTitle("Credits")).toHaveText(credits!);
});

test("an IP address for a domain is refused with the field's message; a list leads to the upload page", async ({ page }) => {
  await find(page, "Alice", "Smith", "192.0.2.1");
  await expect(page.getByRole("alert")).toHaveText("domain: Give the company's domain, not an IP address");
  await expect(page.getByRole("region", { name: /No address found|@/ })).toHaveCount(0);

  await expect(page.getByText("first_name", { exact: true })).toBeVisible();
  await page.getByRole("link", { name: "Upload a list of people" }).click();
  await expect(page).toHaveURL(/\/upload\?kind=find$/);
});

test("a pasted list becomes a find job whose rows open to the candidates asked and why none was found", async ({ page }) => {
  // oldhost.test has the mailbox "user" (pattern first); nobody at ok.test is a Grace Hopper.
  await page.getByLabel("People, one per line").fill("User Doe, oldhost.test\nGrace Hopper; https://www.ok.test/\nnot a person\n");
  await page.getByRole("button", { name: "Find these addresses" }).click();
  await expect(page).toHaveURL(/\/jobs\/job_/);
  await expect(page.getByText("2 rows, 2 unique")).toBeVisible();
  const results = page.getByRole("table", { name: "Results" });
  const found = results.getByRole("row", { name: /User Doe/ });
  await expect(found).toContainText("user@oldhost.test", { timeout: 60_000 });
  await expect(found.locator(".badge")).toHaveText("deliverable");

  const none = results.getByRole("row", { name: /Grace Hopper/ });
  await expect(none.locator(".badge")).toHaveText("undeliverable", { timeout: 60_000 });
  await none.getByRole("button", { name: /Grace Hopper/ }).click();
  await expect(page.getByText(`The mail server refused every address tried (${REASON_WORDS.mailbox_not_found.toLowerCase()}).`)).toBeVisible();
  const asked = page.getByRole("table", { name: "Candidates asked" }).locator("tbody tr");
  // Which candidate comes first depends on what ok.test is known to use by now; each is refused.
  await expect(asked.filter({ hasText: "grace.hopper@ok.test" }).locator("td")).toHaveText(["grace.hopper@ok.test", "first.last", "undeliverable", REASON_WORDS.mailbox_not_found, "mx.ok.test", /^550 5\.1\.1 /]);
  expect(await asked.count()).toBeGreaterThan(3);
  await shot(page, "find-job");
});

test("a pasted list without a person is refused, naming the field", async ({ page }) => {
  await page.getByLabel("People, one per line").fill("   \n");
  await page.getByRole("button", { name: "Find these addresses" }).click();
  await expect(page.getByRole("alert")).toHaveText("people: paste one person per line, a name and a domain");
});

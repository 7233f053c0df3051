/// <reference lib="dom" />
// The job page's live parts (issue 26) in Chromium against the local stack and the simulated
// world: the results table holds what it says it holds while the list runs, the tail says why
// it waits (greylisting) instead of a frozen ETA, typo suggestions lead in the table, the latest
// list and the single check, reasons read as words with their code in the title, and at 390 px
// the page does not scroll sideways and no verdict badge is cut. With MXRAY_SCREENSHOTS=1 it
// also takes docs/screenshots/job-1280.png and job-390.png of the finished page.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "@playwright/test";
import { REASON_WORDS } from "../../app/lib/reasons.ts";
import { LATEST_RESULTS } from "../../core/live.ts";
import { expect, shot, signIn, test, truth, uniqueEmail } from "./fixtures.ts";

const SAMPLE = join(import.meta.dirname, "..", "world", "sample.txt");
const DOCS_SHOTS = join(import.meta.dirname, "..", "..", "docs", "screenshots");
/** Never lets go of its greylisting: the job's tail waits on it for a few rounds. */
const GREYLISTED = "user@greyforever.test";
const TYPOS = ["jane@gmial.com", "sam@hotmial.com", "bob@yaho.com"];

/** More addresses than the live table holds, the greylisted one, and three mistyped providers. */
function list(): string[] {
  const sample = [...new Set(readFileSync(SAMPLE, "utf8").split("\n").map((l) => l.trim().toLowerCase()).filter(Boolean))];
  return [...sample.filter((a) => a !== GREYLISTED), ...TYPOS, GREYLISTED];
}

async function upload(page: Page, addresses: string[]): Promise<string> {
  await page.goto("/upload");
  await page.getByLabel("File").setInputFiles({ name: "crm-export.txt", mimeType: "text/plain", buffer: Buffer.from(`${addresses.join("\n")}\n`) });
  await page.getByRole("button", { name: `Verify ${addresses.length} addresses` }).click();
  await expect(page).toHaveURL(/\/jobs\/job_/);
  return new URL(page.url()).pathname;
}

/** With MXRAY_SCREENSHOTS=1: the page from its top to the results table's `rows`th row, for docs/ (kept small). */
async function docsShot(page: Page, file: string, rows: number): Promise<void> {
  if (process.env.MXRAY_SCREENSHOTS !== "1") return;
  const bottom = await resultRows(page).nth(rows - 1).evaluate((tr) => tr.getBoundingClientRect().bottom + scrollY);
  const width = page.viewportSize()!.width;
  await page.screenshot({ path: join(DOCS_SHOTS, file), fullPage: true, clip: { x: 0, y: 0, width, height: Math.ceil(bottom) + 24 }, caret: "initial" });
}

const resultRows = (page: Page) => page.getByRole("table", { name: "Results" }).locator("tbody > tr:not(.evidence-row)");

test("while the list runs, the table holds what the page says, and the tail says why it waits", async ({ page }) => {
  const addresses = list();
  expect(addresses.length).toBeGreaterThan(LATEST_RESULTS);
  await signIn(page, uniqueEmail("jobpage"));
  await upload(page, addresses);

  // The greylisted address holds the job for a few rounds: the page says so, not a frozen "2 s".
  const tail = page.getByTestId("tail-waiting");
  await expect(tail).toHaveText(/\d+ address(es)? waiting on greylisting, (next try in \d+ (s|min)|trying again now)/, { timeout: 60_000 });
  await expect(page.getByTestId("eta")).toHaveText("waiting");
  await shot(page, "job-tail-waiting");

  // Mid-job, the table holds exactly the answers it says: the newest, bounded like the latest
  // list (the page said "every answer so far" over 2 rows at 34 of 37).
  await expect(page.getByTestId("table-holds")).toContainText("newest first");
  await expect(page.getByTestId("table-count")).toHaveText(String(LATEST_RESULTS));
  await expect(resultRows(page)).toHaveCount(LATEST_RESULTS);
  await expect(page.locator("ul.latest li")).toHaveCount(LATEST_RESULTS);
  const processed = Number((await page.getByText(/^[\d,]+ of [\d,]+ verified$/).textContent())!.replace(/ of .*/, "").replace(/,/g, ""));
  expect(processed).toBeGreaterThan(LATEST_RESULTS);
  await expect(page.getByTestId("progress-text")).not.toHaveText("100%");

  await expect(page.getByTestId("progress-text")).toHaveText("100%", { timeout: 90_000 });
  await expect(tail).toHaveCount(0);
  await expect(page.getByTestId("table-holds")).toHaveCount(0);
  await expect(page.getByRole("navigation", { name: "Result pages" })).toContainText(`${addresses.length} results`);
});

test("typo suggestions lead, reasons read as words, and the phone-width page is whole", async ({ page }) => {
  const want = truth();
  await signIn(page, uniqueEmail("typos"));
  const addresses = list().filter((a) => a !== GREYLISTED);
  const jobUrl = await upload(page, addresses);
  await expect(page.getByTestId("progress-text")).toHaveText("100%", { timeout: 60_000 });
  await expect(page.getByRole("status").filter({ hasText: "Finished" })).toBeVisible();

  // The typo's row leads with "Did you mean …?", before the reason (whatever lists flag the domain).
  await page.goto(`${jobUrl}?q=gmial`);
  const typo = resultRows(page);
  await expect(typo).toHaveCount(1);
  const reasonCell = typo.locator('td[data-label="Reason"]');
  await expect(reasonCell.getByTestId("suggestion")).toHaveText("Did you mean jane@gmail.com?");
  await expect(reasonCell.locator(".reason > *").first()).toHaveAttribute("data-testid", "suggestion");

  // Reasons in words, their code in the title; the evidence shows the code for developers.
  const gone = addresses.find((a) => want.get(a)?.reason === "mailbox_not_found")!;
  await page.goto(`${jobUrl}?q=${encodeURIComponent(gone)}`);
  const row = resultRows(page).first();
  await expect(row.locator('[title="mailbox_not_found"]')).toHaveText(REASON_WORDS.mailbox_not_found);
  await expect(row).not.toContainText("mailbox_not_found");
  await row.getByRole("button", { name: gone }).click();
  await expect(page.locator(".evidence .reason-code")).toHaveText("mailbox_not_found");

  // The finished page at 1280 and at 390 px: no sideways scroll, every badge whole.
  await page.goto(jobUrl);
  await expect(resultRows(page)).toHaveCount(25);
  await docsShot(page, "job-1280.png", 8);
  await page.setViewportSize({ width: 390, height: 844 });
  await expect(resultRows(page).first()).toBeVisible();
  expect(await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth)).toBe(true);
  const cut = await page.locator(".badge").evaluateAll((badges) =>
    badges.filter((b) => {
      const box = b.getBoundingClientRect();
      return box.width > 0 && (b.scrollWidth > b.clientWidth + 1 || box.right > innerWidth || box.left < 0);
    }).map((b) => b.textContent),
  );
  expect(cut).toEqual([]);
  await docsShot(page, "job-390.png", 3);
  await shot(page, "job-390");
});

test("a single check of a mistyped provider leads with the suggestion, then the reason in words", async ({ page }) => {
  await signIn(page, uniqueEmail("verifytypo"));
  await page.goto("/verify");
  await page.getByLabel("Email address").fill("jane@gmial.com");
  await page.getByRole("button", { name: "Check" }).click();
  const answer = page.getByTestId("answer-reason");
  await expect(answer.getByTestId("suggestion")).toHaveText("Did you mean jane@gmail.com?", { timeout: 30_000 });
  await expect(answer.locator(".reason > *").first()).toHaveAttribute("data-testid", "suggestion");
  const reason = answer.locator("[title]");
  const code = (await reason.getAttribute("title"))!;
  await expect(reason).toHaveText(REASON_WORDS[code as keyof typeof REASON_WORDS]);
  await shot(page, "verify-typo");
});

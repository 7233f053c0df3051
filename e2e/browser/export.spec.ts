// The full export gives the uploaded file back, every row (issue 26): a CRM-like CSV with repeats
// (by case, by display name) and rejected rows goes through /upload to a finished job, and "All
// results (CSV)" has one line per data row, in order, with the original columns; a repeat carries
// its first row's verdict, a rejected row an empty verdict and its reason.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Papa from "papaparse";
import { CRM_LINES, CRM_LONG_ADDRESS } from "../../core/testing.ts";
import { expect, signIn, test, uniqueEmail } from "./fixtures.ts";

const LONG = CRM_LONG_ADDRESS;
const CRM = CRM_LINES;

test("All results (CSV) gives one line per data row of the upload, in order, repeats and rejects included", async ({ page }, info) => {
  await signIn(page, uniqueEmail("export"));
  await page.goto("/upload");
  mkdirSync(info.outputDir, { recursive: true });
  const path = join(info.outputDir, "crm.csv");
  writeFileSync(path, `${CRM.join("\r\n")}\r\n`);
  await page.getByLabel("File").setInputFiles(path);
  await expect(page.getByTestId("duplicates")).toHaveText("2");
  await page.getByRole("button", { name: "Verify 3 addresses" }).click();

  await expect(page).toHaveURL(/\/jobs\/job_/);
  await expect(page.getByTestId("progress-text")).toHaveText("100%", { timeout: 60_000 });
  const all = page.getByRole("link", { name: "All results (CSV)" });
  await expect(all).toBeVisible();
  await expect(all).toHaveAttribute("title", /Every row of your file/);

  const [download] = await Promise.all([page.waitForEvent("download"), all.click()]);
  const rows = Papa.parse<string[]>(readFileSync((await download.path())!, "utf8").trim()).data;
  expect(rows[0]!.slice(0, 5)).toEqual(["Name", "Email", "Company", "verdict", "reason"]);
  expect(rows.slice(1).map((r) => r.slice(0, 5))).toEqual([
    ["Lee, Alice", "alice@ok.test", "Acme", "deliverable", "accepted"],
    ["Bob", "bob@ok.test", "Beta", "deliverable", "accepted"],
    ["Blank", "", "Gamma", "", "no_address"],
    ["Alice Again", "ALICE@ok.test", "Acme", "deliverable", "accepted"],
    ["Bob, quoted", '"Bob" <bob@ok.test>', "Beta", "deliverable", "accepted"],
    ["Long", LONG, "Delta", "", "too_long"],
    ["Carol", "carol@ok.test", "Gamma", "deliverable", "accepted"],
  ]);
  expect(rows).toHaveLength(CRM.length);
});

/// <reference lib="dom" />
// The web app in Chromium against the local stack and the simulated world: sign-in, upload with
// preview, a job going live to 100% (through a dropped socket), downloads checked against the
// world's truth, the results table and evidence, API keys, a single check with its trace, roles,
// and tenant isolation. Each page is photographed into test-results/pages.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { RESULTS_PAGE_SIZE } from "../../core/live.ts";
import { join } from "node:path";
import Papa from "papaparse";
import { xlsx } from "../../core/spreadsheet/testing.ts";
import { expect, shot, signIn, test, truth, uniqueEmail } from "./fixtures.ts";

const SAMPLE = join(import.meta.dirname, "..", "world", "sample.txt");
const sample = readFileSync(SAMPLE, "utf8").split("\n").map((l) => l.trim()).filter(Boolean);

test("the landing page says what mxray does and leads to sign-in", async ({ page }) => {
  await page.goto("/");
  await expect(page.getByRole("heading", { level: 1 })).toContainText("Know which addresses take mail");
  await shot(page, "landing");
  await page.getByRole("link", { name: "Sign in to verify a list" }).click();
  await expect(page).toHaveURL(/\/sign-in$/);
  await shot(page, "sign-in");
  // Pages behind sign-in send you there and back.
  await page.goto("/dashboard");
  await expect(page).toHaveURL(/\/sign-in\?next=%2Fdashboard$/);
});

test("a list goes from upload to 100% live, and its downloads match the world's truth", async ({ page, browser }) => {
  // The job's socket is dropped once after its first message: the page must reconnect by itself.
  let sockets = 0;
  await page.routeWebSocket(/\/ws\/jobs\//, (ws) => {
    const n = ++sockets;
    const server = ws.connectToServer();
    server.onMessage((m) => {
      ws.send(m);
      if (n === 1) void ws.close({ code: 1011, reason: "dropped by the test" });
    });
  });

  const email = uniqueEmail("owner");
  await signIn(page, email);
  await expect(page.getByText("No lists yet.")).toBeVisible();
  await shot(page, "dashboard-empty");

  await page.getByRole("link", { name: "Upload a list" }).first().click();
  await page.getByLabel("File").setInputFiles(SAMPLE);
  const unique = new Set(sample.map((a) => a.toLowerCase())).size;
  await expect(page.getByTestId("rows")).toHaveText(String(sample.length));
  await expect(page.getByTestId("duplicates")).toHaveText(String(sample.length - unique));
  await expect(page.getByTestId("cost")).toHaveText(String(unique));
  await expect(page.getByRole("table", { name: "First rows of the file" }).getByRole("row")).toHaveCount(8);
  await shot(page, "upload-preview");
  // A marker on window proves the job page is never reloaded while it goes to 100%.
  await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
  await page.getByRole("button", { name: `Verify ${unique} addresses` }).click();

  await expect(page).toHaveURL(/\/jobs\/job_/);
  const jobUrl = new URL(page.url()).pathname;
  await expect(page.getByTestId("progress-text")).toHaveText("100%", { timeout: 60_000 });
  await expect(page.getByRole("status").filter({ hasText: "Finished" })).toBeVisible();
  expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
  expect(sockets).toBeGreaterThanOrEqual(2);
  await expect(page.getByRole("link", { name: "All results (CSV)" })).toBeVisible();

  const want = truth();
  const counts = { deliverable: 0, undeliverable: 0, risky: 0, unknown: 0 };
  for (const a of new Set(sample)) counts[want.get(a)!.verdict]++;
  for (const [verdict, n] of Object.entries(counts)) await expect(page.getByTestId(`count-${verdict}`)).toHaveText(String(n));
  await shot(page, "job-completed");

  // Everything, as CSV: every address once, with the world's verdict and reason.
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "All results (CSV)" }).click()]);
  const csv = Papa.parse<Record<string, string>>(readFileSync((await download.path())!, "utf8"), { header: true, skipEmptyLines: true }).data;
  expect(csv).toHaveLength(unique);
  const wrong = csv.filter((r) => want.get(r.email!)?.verdict !== r.verdict || want.get(r.email!)?.reason !== r.reason);
  expect(wrong.map((r) => `${r.email}: ${r.verdict}/${r.reason}`)).toEqual([]);

  // Deliverable only, and a chosen filter as JSON.
  const [deliverable] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Deliverable only (CSV)" }).click()]);
  const kept = Papa.parse<Record<string, string>>(readFileSync((await deliverable.path())!, "utf8"), { header: true, skipEmptyLines: true }).data;
  expect(kept.map((r) => r.email).sort()).toEqual(csv.filter((r) => r.verdict === "deliverable").map((r) => r.email).sort());
  const box = (name: string) => page.getByRole("checkbox", { name, exact: true });
  await box("Deliverable").uncheck();
  await box("Risky").uncheck();
  await box("Unknown").uncheck();
  await box("Undeliverable").check();
  await page.getByLabel("Format").selectOption("json");
  const [chosen] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download selection" }).click()]);
  expect(chosen.suggestedFilename()).toMatch(/-undeliverable\.json$/);
  const bad = JSON.parse(readFileSync((await chosen.path())!, "utf8")) as { email: string; verdict: string }[];
  expect(bad.length).toBe(counts.undeliverable);
  expect(new Set(bad.map((r) => r.verdict))).toEqual(new Set(["undeliverable"]));

  // The table: filter by verdict and reason, search, and open a row's evidence.
  const mailboxGone = sample.find((a) => want.get(a)!.reason === "mailbox_not_found")!;
  await page.getByLabel("Search addresses").fill(mailboxGone.split("@")[0]!);
  await page.getByLabel("Verdict", { exact: true }).selectOption("undeliverable");
  await page.getByRole("button", { name: "Filter" }).click();
  const table = page.getByRole("table", { name: "Results" });
  // The row was on the unfiltered page too: wait for the filtered page before reading its badges.
  await expect(page).toHaveURL(/verdict=undeliverable/);
  await expect(table.getByRole("button", { name: mailboxGone })).toBeVisible();
  await expect(table.locator("tbody .badge").filter({ hasNotText: /^undeliverable$/ })).toHaveCount(0);
  await table.getByRole("button", { name: mailboxGone }).click();
  await expect(page.getByText("SMTP reply")).toBeVisible();
  await expect(page.locator(".evidence")).toContainText(/55\d/);
  await shot(page, "job-results-evidence");
  await page.goto(`${jobUrl}?reason=mailbox_not_found`);
  const gone = sample.filter((a) => want.get(a)!.reason === "mailbox_not_found").length;
  await expect(table.locator("tbody tr")).toHaveCount(Math.min(gone, RESULTS_PAGE_SIZE)); // one page of them

  // The dashboard lists the finished job with its counts.
  await page.goto("/dashboard");
  await expect(page.getByRole("link", { name: "sample" })).toBeVisible();
  await expect(page.getByRole("row").filter({ hasText: "sample" }).getByText("completed")).toBeVisible();
  await shot(page, "dashboard");

  // On a phone the job page fits the screen.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(jobUrl);
  expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
  // Opened after it finished, the page still shows the newest answers.
  await expect(page.getByRole("region", { name: "Latest results" }).getByRole("listitem")).toHaveCount(20);
  await shot(page, "job-phone");

  // Another account can neither open the job nor download it.
  const other = await browser.newContext({ baseURL: process.env.MXRAY_BROWSER_URL });
  const stranger = await other.newPage();
  await signIn(stranger, uniqueEmail("stranger"));
  const res = await stranger.goto(jobUrl);
  expect(res?.status()).toBe(404);
  await expect(stranger.getByRole("heading", { name: "Page not found" })).toBeVisible();
  await expect(stranger.getByText(want.get(sample[0]!) ? sample[0]! : "never")).toHaveCount(0);
  const file = await stranger.request.get(`${jobUrl}/download?format=csv`);
  expect(file.status()).toBe(404);
  await shot(stranger, "job-other-account");
  await other.close();
});

test("the upload previews a CSV, lets the email column be chosen, and refuses bad files clearly", async ({ page }, info) => {
  await signIn(page, uniqueEmail("upload"));
  await page.goto("/upload");
  const dir = info.outputDir;
  mkdirSync(dir, { recursive: true });
  const file = (name: string, body: string | Buffer) => {
    const path = join(dir, name);
    writeFileSync(path, body);
    return path;
  };
  // Two address columns: the named one is found by itself; the other can be chosen.
  const rows = ["id,email,backup", "1,ada@ok.test,Ada@Backup.test", "2,ADA@ok.test,ada@backup.test", "3,bob@@ok.test,bob@backup.test", "4,cy@ok.test,cy@backup.test"];
  await page.getByLabel("File").setInputFiles(file("people.csv", `${rows.join("\n")}\n`));
  await expect(page.getByTestId("rows")).toHaveText("4");
  await expect(page.getByTestId("duplicates")).toHaveText("1");
  await expect(page.getByTestId("invalid")).toHaveText("1");
  await expect(page.getByTestId("cost")).toHaveText("3");
  await expect(page.getByLabel("Email column")).toHaveValue("");
  await page.getByLabel("Email column").selectOption("backup");
  await expect(page.getByTestId("duplicates")).toHaveText("1");
  await expect(page.getByTestId("invalid")).toHaveText("0");
  await shot(page, "upload-csv-column");
  await page.getByRole("button", { name: "Verify 3 addresses" }).click();
  await expect(page).toHaveURL(/\/jobs\/job_/);
  await expect(page.getByText("4 rows, 3 unique")).toBeVisible();
  await expect(page.getByRole("table", { name: "Results" })).toBeVisible();
  // Once finished, its owner may delete the list and its results, after confirming.
  await expect(page.getByRole("status").filter({ hasText: "Finished" })).toBeVisible({ timeout: 60_000 });
  page.once("dialog", (d) => void d.accept());
  await page.getByRole("button", { name: "Delete list" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByText("No lists yet.")).toBeVisible();

  // Bad files say what is wrong, before anything is sent.
  await page.goto("/upload");
  await page.getByLabel("File").setInputFiles(file("list.xls", Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1])));
  await expect(page.getByRole("alert")).toContainText("Save it as .xlsx or CSV");
  await page.getByLabel("File").setInputFiles(file("cut.xlsx", Buffer.from("PK\x03\x04")));
  await expect(page.getByRole("alert")).toContainText("cut short");
  await page.getByLabel("File").setInputFiles(file("latin1.csv", Buffer.from([0x65, 0x6d, 0x61, 0x69, 0x6c, 0x0a, 0x6a, 0xf6, 0x72, 0x67, 0x40, 0x6f, 0x6b, 0x2e, 0x74, 0x65, 0x73, 0x74, 0x0a])));
  await expect(page.getByRole("alert")).toContainText("not UTF-8");
  await page.getByLabel("File").setInputFiles(file("names.csv", "first,last\nAda,Lovelace\nGrace,Hopper\n"));
  await expect(page.getByRole("alert")).toContainText("No column of email addresses");
  await expect(page.getByRole("button", { name: "Upload and verify" })).toBeVisible();
});

test("the upload reads an .xlsx: its sheets previewed, one chosen or all, each accounted for on the job page (issue 25)", async ({ page }, info) => {
  await signIn(page, uniqueEmail("xlsx"));
  await page.goto("/upload");
  mkdirSync(info.outputDir, { recursive: true });
  const path = join(info.outputDir, "crm.xlsx");
  writeFileSync(
    path,
    xlsx({
      sheets: [
        { name: "Customers", rows: [["Name", "Email", "Since"], ["Ada", "ada@ok.test", { n: 45000, s: 1 }], ["Bob", "bob@ok.test", { n: 45001, s: 1 }], ["Ada", "ADA@ok.test", { n: 45002, s: 1 }]] },
        { name: "Leads", rows: [["email"], ["cy@ok.test"], ["ada@ok.test"]] },
        { name: "Notes", rows: [["note"], ["call back"]] },
      ],
      xfs: [0, 14],
    }),
  );
  await page.getByLabel("File").setInputFiles(path);
  // Every sheet with an email column, as the edge will read it.
  await expect(page.getByTestId("rows")).toHaveText("5");
  await expect(page.getByTestId("cost")).toHaveText("3");
  const sheets = page.getByTestId("files");
  await expect(sheets.getByRole("row")).toHaveCount(4);
  await expect(sheets.getByRole("row").nth(3)).toContainText("No column of email addresses");
  await expect(page.getByRole("table", { name: "First rows of the file" })).toContainText("2023-03-15");
  await shot(page, "upload-xlsx");
  // One sheet asked for.
  await page.getByLabel("Sheet", { exact: true }).selectOption("Leads");
  await expect(page.getByTestId("rows")).toHaveText("2");
  await page.getByLabel("Sheet", { exact: true }).selectOption("");
  await expect(page.getByTestId("rows")).toHaveText("5");
  await page.getByRole("button", { name: "Verify 3 addresses" }).click();
  await expect(page).toHaveURL(/\/jobs\/job_/);
  await expect(page.getByText("5 rows, 3 unique")).toBeVisible();
  const table = page.getByRole("table", { name: "Sheets" });
  await expect(table.getByRole("row")).toHaveCount(4);
  await expect(table.getByRole("row").nth(1)).toContainText("Customers");
  await expect(table.getByRole("row").nth(2)).toContainText("Leads");
  await shot(page, "job-xlsx");
});

test("the upload finds addresses for a list of people: previewed by name and domain, sent as a find job (issue 14)", async ({ page }, info) => {
  await signIn(page, uniqueEmail("find"));
  await page.goto("/upload");
  await page.getByLabel("Find addresses").check();
  mkdirSync(info.outputDir, { recursive: true });
  const path = join(info.outputDir, "leads.csv");
  // oldhost.test speaks HELO without pipelining and has a mailbox "user": found by the pattern "first".
  writeFileSync(path, "First Name,Last Name,Website\nAda,Lovelace,https://www.ok.test\nada,LOVELACE,ok.test\nCher,,ok.test\nGrace,Hopper,ok.test\nUser,Doe,oldhost.test\n");
  await page.getByLabel("File").setInputFiles(path);
  await expect(page.getByTestId("rows")).toHaveText("4");
  await expect(page.getByTestId("duplicates")).toHaveText("1");
  await expect(page.getByTestId("rejects")).toHaveText("1");
  await expect(page.getByTestId("cost")).toHaveText("3");
  await expect(page.getByLabel("Email column")).toHaveCount(0);
  await page.getByRole("button", { name: "Find 3 addresses" }).click();
  await expect(page).toHaveURL(/\/jobs\/job_/);
  await expect(page.getByText("4 rows, 3 unique")).toBeVisible();
  // Each person's answer reaches the live page: the address found, and who has none.
  const latest = page.getByRole("region", { name: "Latest results" }).getByRole("listitem");
  await expect(latest.filter({ hasText: "user@oldhost.test" })).toContainText("deliverable", { timeout: 60_000 });
  await expect(latest.filter({ hasText: "no address found" })).toHaveCount(2, { timeout: 60_000 });

  // An address list picked while finding says which column is missing.
  await page.goto("/upload");
  await page.getByLabel("Find addresses").check();
  writeFileSync(path, "email\nada@ok.test\n");
  await page.getByLabel("File").setInputFiles(path);
  await expect(page.getByRole("alert")).toContainText("No name columns");
});

test("an API key is shown once, works with fetch, and is refused once revoked", async ({ page, consoleErrors }) => {
  await signIn(page, uniqueEmail("keys"));
  await page.goto("/keys");
  await expect(page.getByText("No keys yet.")).toBeVisible();
  await page.getByLabel("Name").fill("browser test");
  await page.getByRole("button", { name: "Create key" }).click();
  const key = (await page.getByTestId("new-key").textContent())!;
  expect(key).toMatch(/^mx_live_[0-9A-Za-z]{32}$/);
  await expect(page.getByRole("row").filter({ hasText: "browser test" })).toContainText("never");
  await expect(page.getByLabel("Name")).toHaveValue("");
  await shot(page, "keys-created");

  const call = (k: string) =>
    page.evaluate(async (bearer) => {
      const res = await fetch("/api/v1/account", { headers: { authorization: `Bearer ${bearer}` } });
      return { status: res.status, body: (await res.json()) as { error?: { code: string } } };
    }, k);
  expect((await call(key)).status).toBe(200);

  // Listed by prefix only, with its last use; the key itself is gone after a reload.
  await page.reload();
  await expect(page.getByTestId("new-key")).toHaveCount(0);
  const row = page.getByRole("row").filter({ hasText: "browser test" });
  await expect(row).toContainText(key.slice(0, 12));
  await expect(row).not.toContainText(key);
  await expect(row).not.toContainText("never");

  // A form posted from another site with this browser's cookie is refused, and makes no key.
  const forged = await page.request.post("/keys", { headers: { origin: "https://evil.test" }, form: { intent: "create", name: "forged" } });
  expect(forged.status()).toBe(403);
  await page.reload();
  await expect(page.getByRole("row").filter({ hasText: "forged" })).toHaveCount(0);

  await row.getByRole("button", { name: "Revoke browser test" }).click();
  await expect(row.getByText("revoked")).toBeVisible();
  const refused = await call(key);
  // Chromium logs the refused request itself; that one is expected.
  expect(consoleErrors.splice(0)).toEqual([expect.stringContaining("the server responded with a status of 401 (Unauthorized)")]);
  expect(refused).toEqual({ status: 401, body: expect.objectContaining({ error: expect.objectContaining({ code: "key_revoked" }) }) });
  await shot(page, "keys-revoked");
});

test("a single check shows the result card with every check and the SMTP trace", async ({ page }) => {
  const want = truth();
  const address = sample.find((a) => want.get(a)!.reason === "mailbox_not_found")!;
  await signIn(page, uniqueEmail("check"));
  await page.goto("/verify");
  await page.getByLabel("Email address").fill(address);
  await page.getByRole("button", { name: "Check" }).click();
  const card = page.getByRole("region", { name: new RegExp(address.replace(/[.+]/g, "\\$&")) });
  await expect(card.locator("h2 .badge")).toHaveText(want.get(address)!.verdict, { timeout: 30_000 });
  await expect(card.getByText(want.get(address)!.reason)).toBeVisible();
  const trace = card.getByLabel("SMTP trace");
  await expect(trace).toContainText("RCPT TO");
  await expect(trace).not.toContainText("DATA\r");
  await shot(page, "verify");

  // A bad address is a verdict too, answered without a probe.
  await page.getByLabel("Email address").fill("not an address");
  await page.getByRole("button", { name: "Check" }).click();
  await expect(page.getByRole("region", { name: /not an address/ }).locator("h2 .badge")).toHaveText("undeliverable");
});

test("teams: the owner adds a member, who can verify but not manage keys, then removes them", async ({ page, browser }) => {
  const owner = uniqueEmail("teamowner");
  const member = uniqueEmail("teammember");
  await signIn(page, owner);
  await page.goto("/team");
  await page.getByLabel("Team name").fill("Growth team");
  await page.getByRole("button", { name: "Create team" }).click();
  await expect(page.getByRole("heading", { name: "Growth team" })).toBeVisible();
  await expect(page.getByLabel("Account")).toHaveValue(/^acc_/);
  await page.getByLabel("Email", { exact: true }).fill(member);
  await page.getByLabel("Role").selectOption("member");
  await page.getByRole("button", { name: "Add" }).click();
  await expect(page.getByRole("status").filter({ hasText: "is now a member" })).toBeVisible();
  await expect(page.getByRole("row").filter({ hasText: member })).toContainText("member");
  await shot(page, "team");

  const ctx = await browser.newContext({ baseURL: process.env.MXRAY_BROWSER_URL });
  const them = await ctx.newPage();
  await signIn(them, member);
  // They start in their personal account and switch to the team with the switcher.
  await them.getByLabel("Account").selectOption({ label: "Growth team" });
  await expect(them.getByRole("link", { name: "API keys" })).toHaveCount(0);
  await them.goto("/team");
  await expect(them.getByText("your role: member")).toBeVisible();
  const res = await them.goto("/keys");
  expect(res?.status()).toBe(403);
  // The balance is billing: a member sees a list's cost, not the account's credits.
  await them.goto("/upload");
  await them.getByLabel("File").setInputFiles(SAMPLE);
  await expect(them.getByTestId("cost")).toHaveText(String(new Set(sample.map((a) => a.toLowerCase())).size));
  await expect(them.getByText("You have")).toHaveCount(0);
  await expect(them.getByText("credits", { exact: false }).filter({ hasText: /^\d[\d,]* credits$/ })).toHaveCount(0);
  await ctx.close();

  // The owner's team view of keys still works.
  await page.goto("/keys");
  await expect(page.getByRole("heading", { name: "API keys" })).toBeVisible();

  // The owner removes the member; the team's last owner cannot remove themselves.
  await page.goto("/team");
  await page.getByRole("button", { name: `Remove ${member}` }).click();
  await expect(page.getByRole("status").filter({ hasText: `${member} was removed` })).toBeVisible();
  await expect(page.getByRole("row").filter({ hasText: member })).toHaveCount(0);
  await page.getByRole("button", { name: `Remove ${owner}` }).click();
  await expect(page.getByRole("alert")).toContainText("needs an owner");
});

test("the API reference is rendered from the OpenAPI document", async ({ page, request }) => {
  const doc = (await (await request.get("/api/v1/openapi.json")).json()) as { paths: Record<string, Record<string, { summary: string }>> };
  await page.goto("/docs/reference");
  // Every operation's article read at once: one look at the page, not one wait per operation.
  const articles = new Map(await page.locator("article[id]").evaluateAll((all) => all.map((a) => [a.id, a.textContent ?? ""] as [string, string])));
  const missing: string[] = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const id = `${method.toUpperCase()}-${path}`;
      if (!articles.get(id)?.replace(/\s+/g, " ").includes(op.summary.replace(/`/g, "").replace(/\s+/g, " "))) missing.push(id);
    }
  }
  expect(missing).toEqual([]);
  await shot(page, "docs", { fullPage: false });
});

test("the guides are read beside the API reference, one page each, linked to each other", async ({ page }) => {
  await page.goto("/docs");
  await page.getByRole("navigation", { name: "Guides" }).getByRole("link", { name: "Getting started" }).click();
  await expect(page).toHaveURL(/\/docs\/getting-started$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Getting started");
  await expect(page.locator("article.guide pre").first()).toContainText("npm install");
  // A link between guides, written as a file name in the Markdown, opens the other guide.
  await page.locator("article.guide").getByRole("link", { name: "jobs.md" }).first().click();
  await expect(page).toHaveURL(/\/docs\/jobs$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Bulk jobs and exports");
  await expect(page.locator("article.guide table").first()).toContainText("multipart/form-data");
  await shot(page, "docs-guide");
  expect((await page.request.get("/docs/no-such-guide")).status()).toBe(404);
});

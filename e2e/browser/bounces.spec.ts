// The bounces pages in Chromium against the local stack (issue 24). An owner verifies a small list
// in the simulated world, adds a bounce mailbox pointing at a private Dovecot on loopback, tests it
// (and sees a wrong password fail at sign-in), and has the stack's probe read it now: the one
// unrelated message there is counted, and left unread where it was. Two bounces are then reported
// through the API with a key of the account: the hard 5.1.1 one contradicts a `deliverable`
// verdict, so it is marked refunded in the list, its page says so beside the verification it
// contradicts, the job's result says "contradicted by a bounce on …", the ledger holds the credit
// back, the account's accuracy counts it, and so do the operators' per probe and per provider. No
// mailbox password is ever in a page.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startDovecot, type RunningDovecot } from "../dovecot.ts";
import { expect, OPERATOR_EMAIL, shot, signIn, test, truth, uniqueEmail } from "./fixtures.ts";

const IMAP_USER = "bounces";
const IMAP_PASSWORD = "dovecot-password-for-the-bounces-page";

/** Mail that is not a bounce: the monitor must leave it exactly as it is. */
const UNRELATED = [
  "From: Grace <grace@colleague.test>",
  "To: bounces@news.test",
  "Subject: Lunch on Friday?",
  "Date: Fri, 14 Mar 2025 09:00:00 +0000",
  "Message-ID: <lunch.1@colleague.test>",
  "",
  "Shall we?",
  "",
].join("\r\n");

let dovecot: RunningDovecot;
test.beforeAll(async () => {
  // The stack has no IMAP server of its own here: this spec runs one, on loopback, which the
  // stack's Worker and probe accept (MXRAY_ALLOW_PRIVATE_TARGETS=1).
  dovecot = await startDovecot({ users: { [IMAP_USER]: IMAP_PASSWORD } });
});
test.afterAll(async () => {
  await dovecot?.stop();
});

test("an owner adds, tests and reads a bounce mailbox; a reported hard bounce shows as a refund on the pages", async ({ page }) => {
  test.setTimeout(180_000);
  const want = truth();
  const people = ["alice@ok.test", "bob@ok.test"];
  // The world's truth this test counts on: both deliverable.
  expect(people.map((e) => want.get(e)!.verdict)).toEqual(["deliverable", "deliverable"]);
  const [alice, bob] = people as [string, string];
  await dovecot.deliver(IMAP_USER, UNRELATED);

  // A verified list, as a person makes one.
  await signIn(page, uniqueEmail("bounces"));
  const stamp = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const dir = join(import.meta.dirname, "..", "..", "test-results", "uploads");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `bounce-list-${stamp}.csv`);
  writeFileSync(file, `email\n${people.join("\n")}\n`);
  await page.goto("/upload");
  await page.getByLabel("File").setInputFiles(file);
  await page.getByRole("button", { name: `Verify ${people.length} addresses` }).click();
  await expect(page).toHaveURL(/\/jobs\/job_/);
  const jobUrl = new URL(page.url()).pathname;
  const jobId = jobUrl.split("/").pop()!;
  await expect(page.getByTestId("progress-text")).toHaveText("100%", { timeout: 60_000 });

  // The bounces page, from the nav.
  await page.getByRole("group", { name: "Sending" }).getByRole("link", { name: "Bounces" }).click();
  await expect(page).toHaveURL(/\/bounces$/);
  await expect(page.getByText("No bounce mailboxes yet.")).toBeVisible();
  await expect(page.getByText("No bounces yet.")).toBeVisible();

  // Add: the password goes in, and only the mailbox comes back.
  const add = async (name: string, password: string) => {
    const form = page.getByRole("form", { name: "New bounce mailbox" });
    await form.getByLabel("Name", { exact: true }).fill(name);
    await form.getByLabel("IMAP host").fill(dovecot.host);
    await form.getByLabel("Port").fill(String(dovecot.port));
    await form.getByLabel("Security").selectOption("none");
    await form.getByLabel("Username").fill(IMAP_USER);
    await form.getByLabel("Password").fill(password);
    await expect(form.getByLabel("Folder read")).toHaveValue("INBOX");
    await expect(form.getByLabel("Move ours to")).toHaveValue("mxray-processed");
    await expect(form.getByLabel("Move ours to")).toHaveAccessibleDescription(/Nothing else is moved, flagged or deleted\.$/);
    await form.getByRole("button", { name: "Add mailbox" }).click();
    await expect(page.getByRole("status").filter({ hasText: `Bounce mailbox ${name} was added` })).toBeVisible();
    await expect(form.getByLabel("Name", { exact: true })).toHaveValue("");
    return page.getByRole("article", { name: `Bounce mailbox ${name}` });
  };
  const mailbox = await add("Local Dovecot", IMAP_PASSWORD);
  await expect(mailbox).toContainText(`${IMAP_USER} @ ${dovecot.host}:${dovecot.port}`);
  await expect(mailbox).toContainText("moves ours to mxray-processed");

  await mailbox.getByRole("button", { name: "Test Local Dovecot" }).click();
  const passed = page.getByRole("status", { name: "Test of Local Dovecot" });
  await expect(passed).toContainText("Passed");
  await expect(passed.getByTestId("mailbox-stage")).toHaveText("done");
  await expect(passed).toContainText(`as ${IMAP_USER}; INBOX holds 1 messages`);

  // A wrong password stops at sign-in, and that mailbox is deleted after its confirmation.
  const wrong = await add("Wrong password", `not-${IMAP_PASSWORD}`);
  await wrong.getByRole("button", { name: "Test Wrong password" }).click();
  const failed = page.getByRole("status", { name: "Test of Wrong password" });
  await expect(failed).toContainText("Failed");
  await expect(failed.getByTestId("mailbox-stage")).toHaveText("auth");
  await wrong.getByLabel("Delete Wrong password").click();
  await page.getByRole("button", { name: "Delete bounce mailbox Wrong password for good" }).click();
  await expect(page.getByRole("status").filter({ hasText: "The bounce mailbox was deleted." })).toBeVisible();
  await expect(page.getByRole("article", { name: /^Bounce mailbox / })).toHaveCount(1);

  // Read now: a probe takes the mailbox and reads it; the page shows the read once it is reported.
  await mailbox.getByRole("button", { name: "Check Local Dovecot now" }).click();
  await expect(mailbox.getByRole("status").filter({ hasText: "is reading INBOX now" })).toBeVisible();
  await expect(async () => {
    await page.reload();
    await expect(mailbox.getByTestId("mailbox-last-read")).not.toHaveText("not read yet", { timeout: 1_000 });
  }).toPass({ timeout: 60_000 });
  await expect(mailbox.getByTestId("mailbox-probe")).toContainText("prb_local_");
  await expect(mailbox.getByTestId("mailbox-messages")).toHaveText("1 read, 0 ours");
  await expect(mailbox.getByRole("alert")).toHaveCount(0);
  // Not ours: still in INBOX, still unread, nothing in the processed folder.
  expect((await dovecot.messages(IMAP_USER)).map((m) => [m.messageId, m.flags])).toEqual([["<lunch.1@colleague.test>", []]]);
  expect(await dovecot.messages(IMAP_USER, "mxray-processed")).toEqual([]);
  expect(await page.content()).not.toContain(IMAP_PASSWORD);
  await shot(page, "bounces-mailbox");

  // Two bounces from elsewhere (as a provider's webhook forwarded by the customer's code), with a key of the account.
  await page.goto("/keys");
  await page.getByLabel("Name").fill("bounce reports");
  await page.getByRole("button", { name: "Create key" }).click();
  const auth = { authorization: `Bearer ${(await page.getByTestId("new-key").textContent())!}` };
  const report = async (data: Record<string, string>) => {
    const res = await page.request.post("/api/v1/bounces", { headers: auth, data: { occurred_at: new Date().toISOString(), ...data } });
    expect(res.status(), await res.text()).toBe(201);
    return (await res.json()) as { id: string; refunded_job_id: string | null };
  };
  const hard = await report({ email: alice, kind: "hard", status: "5.1.1", diagnostic: "smtp; 550 5.1.1 <alice@ok.test>: Recipient address rejected: User unknown" });
  expect(hard.refunded_job_id).toBe(jobId);
  const soft = await report({ email: bob, kind: "soft", status: "4.2.2", diagnostic: "smtp; 452 4.2.2 Mailbox full" });
  expect(soft.refunded_job_id).toBeNull();

  // The list: newest first, the refund marked; filtered by kind, then by address.
  await page.getByRole("group", { name: "Sending" }).getByRole("link", { name: "Bounces" }).click();
  const list = page.getByRole("table", { name: "Bounces" });
  await expect(list.locator("tbody tr")).toHaveCount(2);
  await expect(list.locator(`tr[data-bounce="${hard.id}"]`)).toContainText("hard");
  await expect(list.locator(`tr[data-bounce="${hard.id}"] .badge.refunded`)).toHaveText("refunded");
  await expect(list.locator(`tr[data-bounce="${soft.id}"] .badge.refunded`)).toHaveCount(0);
  const filter = page.getByRole("form", { name: "Filter the bounces" });
  await filter.getByLabel("Kind").selectOption("hard");
  await filter.getByRole("button", { name: "Show" }).click();
  await expect(list.locator("tbody tr")).toHaveCount(1);
  await expect(list).toContainText(alice);
  await filter.getByLabel("Kind").selectOption("");
  await filter.getByLabel("Address").fill(bob.toUpperCase());
  await filter.getByRole("button", { name: "Show" }).click();
  await expect(list.locator("tbody tr")).toHaveCount(1);
  await expect(list.locator(`tr[data-bounce="${soft.id}"]`)).toContainText("4.2.2");
  await page.getByRole("link", { name: "Clear" }).click();
  await expect(list.locator("tbody tr")).toHaveCount(2);

  // The hard bounce's page: what it said, the refund, the verification it contradicts.
  await list.getByRole("link", { name: alice }).click();
  await expect(page).toHaveURL(new RegExp(`/bounces/${hard.id}$`));
  await expect(page.getByRole("heading", { name: alice })).toBeVisible();
  await expect(page.getByTestId("refund")).toHaveText(/^Contradicted our deliverable verdict of \d{4}-\d\d-\d\d \d\d:\d\d UTC: 1 credit refunded\.$/);
  const evidence = page.getByRole("definition").filter({ hasText: "User unknown" });
  await expect(evidence).toHaveText("smtp; 550 5.1.1 <alice@ok.test>: Recipient address rejected: User unknown");
  const verification = page.getByLabel("Verification evidence");
  await expect(verification).toContainText("deliverable");
  await expect(verification).toContainText("250");
  await expect(verification.getByRole("link", { name: jobId })).toHaveAttribute("href", jobUrl);
  await expect(page.getByText("Reported through the API: there is no message to show.")).toBeVisible();
  await shot(page, "bounce");

  // The job's result says it was contradicted, beside its SMTP evidence, linked to the bounce.
  await page.goto(jobUrl);
  const results = page.getByRole("table", { name: "Results" });
  const contradicted = results.getByTestId("contradicted");
  await expect(contradicted).toHaveCount(1);
  await expect(contradicted).toHaveText(/^contradicted by a bounce on \d{4}-\d\d-\d\d \d\d:\d\d UTC \(5\.1\.1\)$/);
  await results.getByRole("button", { name: alice }).click();
  await expect(page.locator("tr[id^=evidence-]")).toContainText("; its credit was refunded");
  await expect(results.getByTestId("contradicted")).toHaveCount(2);
  await contradicted.first().click();
  await expect(page).toHaveURL(new RegExp(`/bounces/${hard.id}$`));

  // The credit back in the ledger, and the account's accuracy counting it (summed over the months shown).
  await page.getByRole("link", { name: "Billing" }).click();
  await expect(page.getByRole("table", { name: "Credit history" }).locator('tr[data-reason="bounce_refund"]')).toContainText("+1");
  const accuracy = page.getByRole("table", { name: "Accuracy per month" });
  await expect(accuracy.locator("tbody tr")).toHaveCount(12);
  const total = async (col: string) => (await accuracy.locator(`td[data-col="${col}"]`).allTextContents()).reduce((sum, n) => sum + Number(n.replace(/,/g, "")), 0);
  expect([await total("deliverable"), await total("sent"), await total("contradicted")]).toEqual([2, 0, 1]);
  await shot(page, "billing-accuracy");

  // The operators' view across accounts: the contradiction counted for the probe that verified the
  // address and for the provider of the MX it was verified at.
  await page.getByRole("button", { name: "Sign out" }).click();
  await signIn(page, OPERATOR_EMAIL);
  await page.goto("/admin");
  await expect(page.getByRole("table", { name: "Accuracy per month, every account" }).locator("tbody tr")).toHaveCount(12);
  await expect(page.getByRole("table", { name: "Contradictions by probe" }).locator('tr[data-verifier^="prb_local_"]').first()).toBeVisible();
  await expect(page.getByRole("table", { name: "Contradictions by provider" }).locator('tr[data-provider="ok.test"] td').last()).not.toHaveText("0");
});

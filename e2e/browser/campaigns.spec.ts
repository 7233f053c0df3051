/// <reference lib="dom" />
// A campaign through the pages, in Chromium against the local stack: a small list verified in the
// simulated world, a relay pointing at the stack's relay sink, a sender confirmed by the link the
// sink received and a template (through the API with the account's key), then the new-campaign
// flow step by step (the list's counts, the preview of its first row, a schedule, the consent
// statement, the review's estimate), and /campaigns/:id moving live from scheduled to completed
// without a reload. The sink then holds one message per deliverable address, and nothing else of
// this campaign.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { simpleParser } from "mailparser";
import { REASON_WORDS } from "../../app/lib/reasons.ts";
import { expect, relaySink, shot, signIn, test, truth, uniqueEmail } from "./fixtures.ts";

/** Sunk messages as the inbox lists them (e2e/relay-sink.ts). */
interface Sunk {
  id: number;
  mailFrom: string;
  rcptTo: string[];
  subject: string | null;
}

// The campaign waits for this long after its last step: the page must find it scheduled, then
// follow it to the end by itself.
const SCHEDULED_AHEAD_MS = 30_000;

test("a verified list goes out as a campaign made in the pages, watched live to completed", async ({ page }) => {
  test.setTimeout(180_000);
  const sink = relaySink();
  const want = truth();
  const people: [string, string][] = [["alice@ok.test", "Alice"], ["bob@ok.test", "Bob"], ["carol@ok.test", "Carol"], ["gone@ok.test", "Gone"], ["anyone@catchall.test", "Any"]];
  const verdictOf = (email: string) => want.get(email)!.verdict;
  const deliverable = people.map(([e]) => e).filter((e) => verdictOf(e) === "deliverable");
  // The world's truth this test counts on: three deliverable, one undeliverable, one risky.
  expect(people.map(([e]) => verdictOf(e))).toEqual(["deliverable", "deliverable", "deliverable", "undeliverable", "risky"]);

  // Sign in and verify the list, as a person does.
  await signIn(page, uniqueEmail("campaigns"));
  const stamp = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const listName = `campaign-list-${stamp}`;
  const dir = join(import.meta.dirname, "..", "..", "test-results", "uploads");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${listName}.csv`);
  writeFileSync(file, `email,first_name\n${people.map(([e, n]) => `${e},${n}`).join("\n")}\n`);
  await page.goto("/upload");
  await page.getByLabel("File").setInputFiles(file);
  await page.getByRole("button", { name: `Verify ${people.length} addresses` }).click();
  await expect(page).toHaveURL(/\/jobs\/job_/);
  await expect(page.getByTestId("progress-text")).toHaveText("100%", { timeout: 60_000 });

  // What a campaign sends with, through the API with a key of the account: a relay to the sink, a
  // sender (confirmed by the link in the message the sink received), a template.
  await page.goto("/keys");
  await page.getByLabel("Name").fill("campaign test");
  await page.getByRole("button", { name: "Create key" }).click();
  const auth = { authorization: `Bearer ${(await page.getByTestId("new-key").textContent())!}` };
  const api = async <T,>(path: string, data: unknown, status = 201): Promise<T> => {
    const res = await page.request.post(path, { headers: auth, data });
    expect(res.status(), `${path}: ${await res.text()}`).toBe(status);
    return (await res.json()) as T;
  };
  const relay = await api<{ id: string }>("/api/v1/relays", {
    name: "Local relay sink", host: sink.host, port: sink.port, security: "starttls", username: sink.user, password: sink.password, max_per_minute: 600, max_per_day: 10_000,
  });
  const domain = `news-${stamp}.test`;
  const fromEmail = `hello@${domain}`;
  const sender = await api<{ id: string; confirmed: boolean; confirmation: { sent: boolean; detail: string } }>("/api/v1/senders", { from_email: fromEmail, from_name: "Campaign Test", relay_ids: [relay.id] });
  expect(sender.confirmed).toBe(false);
  expect(sender.confirmation.sent, sender.confirmation.detail).toBe(true);
  const inbox = async () => (await (await page.request.get(`${sink.inboxUrl}/messages`)).json()) as Sunk[];
  const confirmation = (await inbox()).filter((m) => m.rcptTo.includes(fromEmail));
  expect(confirmation).toHaveLength(1);
  const parsed = await simpleParser(await (await page.request.get(`${sink.inboxUrl}/messages/${confirmation[0]!.id}/raw`)).text());
  const link = /https?:\/\/\S+\/senders\/confirm\/[\w.-]+/.exec(parsed.text ?? "")?.[0];
  expect(link, parsed.text).toBeTruthy();
  const confirmed = await page.request.post(link!);
  expect(confirmed.status()).toBe(200);
  expect(await confirmed.text()).toContain("Sender confirmed");
  await api("/api/v1/templates", {
    name: `Welcome ${stamp}`,
    subject: 'Hello {{ first_name | default: "there" }}',
    html: '<p>Hi {{ first_name | default: "there" }},</p><p>Our news.</p><p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>',
  });

  // The flow, step by step.
  await page.goto("/campaigns");
  await expect(page.getByText("No campaigns yet.")).toBeVisible();
  await page.getByRole("link", { name: "New campaign" }).click();
  const list = page.getByRole("radio", { name: new RegExp(listName) });
  await expect(page.locator("label.choice").filter({ hasText: listName })).toContainText("3 deliverable · 1 risky");
  await list.check();
  await shot(page, "campaign-new-list");
  await page.getByRole("button", { name: "Continue" }).click();

  await expect(page.getByRole("link", { name: "Manage senders" })).toHaveAttribute("href", "/senders");
  await page.getByRole("radio", { name: new RegExp(fromEmail.replace(/\./g, "\\.")) }).check();
  await page.getByRole("button", { name: "Continue" }).click();

  // The template step shows the message its first deliverable row would get.
  await expect(page.getByRole("radio", { name: new RegExp(`Welcome ${stamp}`) })).toBeChecked();
  await expect(page.getByTestId("preview-subject")).toHaveText("Hello Alice");
  // (Read from its srcdoc: the sandboxed frame runs no script, not even a test's.)
  await expect(page.locator("iframe.preview")).toHaveAttribute("srcdoc", /<p>Hi Alice,<\/p>/);
  await shot(page, "campaign-new-template");
  await page.getByRole("button", { name: "Continue" }).click();

  // Not before a time just ahead, in the browser's own time (the page reads its offset once hydrated).
  await expect(page.getByText(/your browser's time/)).toBeVisible();
  await page.getByRole("radio", { name: "Not before a date and time" }).check();
  const at = await page.evaluate((ahead) => {
    const d = new Date(Date.now() + ahead);
    const p = (n: number) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  }, SCHEDULED_AHEAD_MS);
  await page.getByLabel(/Date and time/).fill(at);
  await page.getByRole("button", { name: "Continue" }).click();

  const source = "The sign-up form on our site, double opt-in";
  await page.getByRole("radio", { name: /They opted in/ }).check();
  await page.getByLabel("Where the list came from").fill(source);
  await page.getByRole("button", { name: "Continue" }).click();

  // The review says what will be sent.
  await expect(page.getByTestId("audience-estimate")).toHaveText("3");
  await expect(page.getByTestId("skipped")).toHaveText("1 undeliverable · 0 unknown · 1 risky (not included) · 0 refused by your sending rules · 0 on the suppression list");
  await expect(page.getByTestId("review-subject")).toHaveText("Hello Alice");
  await expect(page.locator("form").filter({ hasText: "What will be sent" })).toContainText(`Campaign Test <${fromEmail}>`);
  await shot(page, "campaign-new-review");
  await page.getByRole("button", { name: "Create and start" }).click();

  // The campaign's page: scheduled, then live to completed with no reload.
  await expect(page).toHaveURL(/\/campaigns\/cmp_/);
  await expect(page.getByTestId("campaign-status")).toHaveText("scheduled");
  await expect(page.getByTestId("sent-count")).toHaveText("0");
  await expect(page.getByRole("status").filter({ hasText: "Live" })).toBeVisible();
  await expect(page.getByTestId("consent")).toContainText("They opted in");
  await expect(page.getByText(source)).toBeVisible();
  await shot(page, "campaign-scheduled");
  await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
  await expect(page.getByTestId("campaign-status")).toHaveText("completed", { timeout: SCHEDULED_AHEAD_MS + 60_000 });
  await expect(page.getByTestId("sent-count")).toHaveText(String(deliverable.length));
  await expect(page.getByTestId("audience-count")).toHaveText(String(deliverable.length));
  await expect(page.getByTestId("count-skipped_unverified")).toHaveText("2");
  await expect(page.getByRole("status").filter({ hasText: "Finished" })).toBeVisible();
  expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);

  // Each recipient with the relay's answer and the evidence that let it in.
  const rows = page.getByRole("table", { name: "Recipients" }).locator("tbody tr");
  await expect(rows).toHaveCount(deliverable.length);
  for (const email of deliverable) {
    const row = rows.filter({ hasText: email });
    await expect(row.locator(".badge").first()).toHaveText("sent");
    await expect(row).toContainText("deliverable");
    await expect(row.locator(`[title="${want.get(email)!.reason}"]`)).toHaveText(REASON_WORDS[want.get(email)!.reason]);
    await expect(row).toContainText(/250/);
  }
  await shot(page, "campaign-completed");
  await page.getByLabel("Status").selectOption("failed");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(/status=failed/);
  await expect(page.getByText("No recipient has this status.")).toBeVisible();

  // The list shows it done.
  await page.goto("/campaigns");
  await expect(page.getByRole("row").filter({ hasText: listName })).toContainText("completed");

  // The sink holds one message per deliverable address, each from this sender's bounce domain.
  const sent = (await inbox()).filter((m) => m.mailFrom.endsWith(`@${domain}`) && !m.rcptTo.includes(fromEmail));
  expect(sent.flatMap((m) => m.rcptTo).sort()).toEqual([...deliverable].sort());
  const first = await simpleParser(await (await page.request.get(`${sink.inboxUrl}/messages/${sent.find((m) => m.rcptTo.includes("alice@ok.test"))!.id}/raw`)).text());
  expect(first.subject).toBe("Hello Alice");
  // RFC 8058 one-click.
  expect(first.headers.get("list")).toEqual({ unsubscribe: { url: expect.stringMatching(/^https?:\/\/[^/]+\/u\/[\w-]+$/) }, "unsubscribe-post": { name: "List-Unsubscribe=One-Click" } });
});

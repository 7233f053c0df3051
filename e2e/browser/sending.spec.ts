// The sending pages in Chromium (issue 23). An owner adds a relay pointing at the stack's loopback
// relay sink, changes it without retyping the password, tests it (and sees a wrong password fail
// at auth), adds a sender and confirms it through the link in the message the sink received, and
// reads its domain checklist; writes a template with an error (shown with line and column beside
// the field), fixes it and sees the live preview; and adds, looks up, imports, exports and removes
// suppressions. No relay password is ever in a page.
import { readFileSync } from "node:fs";
import { simpleParser } from "mailparser";
import { expect, relaySink, shot, signIn, test, uniqueEmail, type BrowserRelaySink } from "./fixtures.ts";

interface InboxMessage {
  id: number;
  rcptTo: string[];
  subject: string | null;
}

/** The messages the sink holds for `to`, oldest first. */
async function inboxFor(sink: BrowserRelaySink, to: string): Promise<InboxMessage[]> {
  const all = (await (await fetch(`${sink.inboxUrl}/messages`)).json()) as InboxMessage[];
  return all.filter((m) => m.rcptTo.includes(to));
}

/** The confirmation link in the sink's message `id`, read from its text part as a mail client would. */
async function confirmationLink(sink: BrowserRelaySink, id: number): Promise<string> {
  const parsed = await simpleParser(await (await fetch(`${sink.inboxUrl}/messages/${id}/raw`)).text());
  const link = /https?:\/\/\S+\/senders\/confirm\/\S+/.exec(parsed.text ?? "")?.[0];
  expect(link, "a confirmation link in the message").toBeDefined();
  return link!;
}

test("an owner adds and tests a relay, confirms a sender through the sink and reads its domain checklist", async ({ page }) => {
  const sink = relaySink();
  const tag = Math.random().toString(36).slice(2, 8);
  const from = `news.${tag}@sender.test`;
  await signIn(page, uniqueEmail("senders"));
  await page.getByRole("group", { name: "Sending" }).getByRole("link", { name: "Senders" }).click();
  await expect(page).toHaveURL(/\/senders$/);
  await expect(page.getByText("No relays yet.")).toBeVisible();
  await expect(page.getByText("Add a relay first")).toBeVisible();

  // Add: the password goes in, and only "set" comes back.
  const newRelay = page.getByRole("form", { name: "New relay" });
  await newRelay.getByLabel("Name", { exact: true }).fill("Local sink");
  await newRelay.getByLabel("Host").fill(sink.host);
  await newRelay.getByLabel("Port").fill(String(sink.port));
  await newRelay.getByLabel("Security").selectOption("starttls");
  await newRelay.getByLabel("Username").fill(sink.user);
  await newRelay.getByLabel("Password").fill(sink.password);
  await newRelay.getByLabel("Max per minute").fill("120");
  await newRelay.getByRole("button", { name: "Add relay" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Relay Local sink was added" })).toBeVisible();
  const relay = page.getByRole("article", { name: "Relay Local sink" });
  await expect(relay).toContainText(`${sink.host}:${sink.port}`);
  await expect(relay).toContainText("password set");
  await expect(relay).toContainText("120/minute");
  await expect(newRelay.getByLabel("Name", { exact: true })).toHaveValue("");

  // Change a limit, leaving the password blank: it is kept (the test below signs in with it).
  await relay.getByLabel("Edit Local sink").click();
  const edit = page.getByRole("form", { name: "Settings of Local sink" });
  await expect(edit.getByLabel("Change password")).toHaveValue("");
  await expect(edit.getByLabel("Change password")).toHaveAccessibleDescription(/^A password is set; leave the password blank to keep it\./);
  await edit.getByLabel("Max per minute").fill("100");
  await edit.getByRole("button", { name: "Save relay" }).click();
  await expect(relay.getByRole("status").filter({ hasText: "Relay Local sink was saved." })).toBeVisible();
  await expect(relay).toContainText("100/minute");

  await relay.getByRole("button", { name: "Test Local sink" }).click();
  const result = page.getByRole("status", { name: "Test of Local sink" });
  await expect(result).toContainText("Passed");
  await expect(result.getByTestId("relay-stage")).toHaveText("done");
  await expect(result).toContainText(`authenticated as ${sink.user}`);

  // A wrong password stops at auth, and the relay can be deleted.
  await newRelay.getByLabel("Name", { exact: true }).fill("Wrong password");
  await newRelay.getByLabel("Host").fill(sink.host);
  await newRelay.getByLabel("Port").fill(String(sink.port));
  await newRelay.getByLabel("Username").fill(sink.user);
  await newRelay.getByLabel("Password").fill(`not-${sink.password}`);
  await newRelay.getByRole("button", { name: "Add relay" }).click();
  const wrong = page.getByRole("article", { name: "Relay Wrong password" });
  await wrong.getByRole("button", { name: "Test Wrong password" }).click();
  const failed = page.getByRole("status", { name: "Test of Wrong password" });
  await expect(failed).toContainText("Failed");
  await expect(failed.getByTestId("relay-stage")).toHaveText("auth");
  await wrong.getByLabel("Delete Wrong password").click();
  await page.getByRole("button", { name: "Delete relay Wrong password for good" }).click();
  await expect(page.getByRole("status").filter({ hasText: "The relay was deleted." })).toBeVisible();
  await expect(page.getByRole("article", { name: /^Relay / })).toHaveCount(1);

  // A sender through the relay: its confirmation message reaches the sink, its domain is checked.
  const newSender = page.getByRole("form", { name: "New sender" });
  await newSender.getByLabel("From email").fill(from);
  await newSender.getByLabel("From name").fill("Sender Test");
  await newSender.getByLabel("Reply-To").fill(`hello.${tag}@sender.test`);
  await expect(newSender.getByLabel("First relay")).toHaveValue(/^rly_/);
  await newSender.getByLabel("Bounce domain").fill("bounce.sender.test");
  await newSender.getByLabel("DKIM selector").fill("mx1");
  await newSender.getByRole("button", { name: "Add sender" }).click();
  await expect(page.getByRole("status").filter({ hasText: `${from} was added. A confirmation message went to it` })).toBeVisible();
  const sender = page.getByRole("article", { name: `Sender ${from}` });
  await expect(sender).toContainText("not confirmed");
  await expect(sender).toContainText("Local sink");
  const checklist = sender.getByRole("table", { name: `Domain checklist of ${from}` });
  for (const check of ["spf", "dkim", "dmarc", "bounce_mx"]) await expect(checklist.locator(`tr[data-check="${check}"] .badge`)).toHaveText("pass");
  await expect(checklist.locator('tr[data-check="spf"]')).toContainText("v=spf1 include:_spf.relay.test -all");
  await expect(checklist.locator('tr[data-check="dkim"]')).toContainText("mx1._domainkey.sender.test");
  await expect(checklist.locator('tr[data-check="dmarc"]')).toContainText("p=quarantine");
  await sender.getByRole("button", { name: `Check the domain of ${from} again` }).click();
  await expect(sender.getByRole("status").filter({ hasText: `The domain of ${from} was checked again.` })).toBeVisible();
  await expect(checklist.locator("tbody tr")).toHaveCount(4);

  // Sent again, then confirmed through the newest link, as its reader would.
  await expect.poll(async () => (await inboxFor(sink, from)).length).toBe(1);
  await sender.getByRole("button", { name: `Resend confirmation to ${from}` }).click();
  await expect(sender.getByRole("status").filter({ hasText: `The confirmation message went to ${from} again` })).toBeVisible();
  await expect.poll(async () => (await inboxFor(sink, from)).length).toBe(2);
  const [, latest] = await inboxFor(sink, from);
  expect(latest!.subject).toBe(`Confirm ${from} as a sender on mxray`);
  await page.goto(await confirmationLink(sink, latest!.id));
  await expect(page.getByRole("heading", { name: "Confirm this sender" })).toBeVisible();
  await page.getByRole("button", { name: "Confirm" }).click();
  await expect(page.getByRole("heading", { name: "Sender confirmed" })).toBeVisible();

  await page.goto("/senders");
  await expect(sender.locator(".badge.confirmed")).toHaveText("confirmed");
  await expect(sender.getByRole("button", { name: `Resend confirmation to ${from}` })).toHaveCount(0);
  // The password never reaches a page, not even inside the edit form.
  expect(await page.content()).not.toContain(sink.password);
  await shot(page, "senders");
});

test("a person writes a template with a live preview and keeps a suppression list", async ({ page }) => {
  const tag = Math.random().toString(36).slice(2, 8);
  await signIn(page, uniqueEmail("templates"));
  const sending = page.getByRole("group", { name: "Sending" });
  await expect(sending.getByRole("link", { name: "Campaigns" })).toHaveAttribute("href", "/campaigns");
  await sending.getByRole("link", { name: "Templates" }).click();
  await expect(page.getByText("No templates yet.")).toBeVisible();
  await page.getByRole("link", { name: "New template" }).click();
  await expect(page).toHaveURL(/\/templates\/new$/);

  // An unknown filter on line 2: the error sits beside the HTML field, with line and column.
  const html = page.getByLabel("HTML", { exact: true });
  await page.getByLabel("Name", { exact: true }).fill("Welcome");
  await page.getByLabel("Subject").fill("Hello {{ first_name }}");
  await html.fill("<p>Hi {{ first_name }},</p>\n<p>{{ company | shout }}</p>");
  await expect(html).toHaveAttribute("aria-invalid", "true");
  await expect(html).toHaveAccessibleDescription(/^Line 2, column \d+: .*shout/);
  await expect(page.getByText("The template has an error; this is the last version that rendered.")).toBeVisible();
  await page.getByRole("button", { name: "Create template" }).click();
  await expect(page.getByRole("alert")).toContainText("html line 2, column");
  await expect(page).toHaveURL(/\/templates\/new$/);

  // Fixed: the preview renders the sample person; the variables read are listed.
  await html.fill('<p>Hi {{ first_name }},</p>\n<p>Welcome to {{ company | upcase }}.</p>\n<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>');
  await expect(html).not.toHaveAttribute("aria-invalid", "true");
  await expect(page.getByTestId("preview-subject")).toHaveText("Hello Ada");
  const frame = page.frameLocator('iframe[title="HTML preview"]');
  await expect(frame.getByText("Welcome to ANALYTICAL ENGINES.")).toBeVisible();
  await expect(page.locator('iframe[title="HTML preview"]')).toHaveAttribute("sandbox", "");
  await expect(page.getByLabel("Text preview")).toContainText("Hi Ada,");
  await expect(page.getByRole("list", { name: "Variables" }).getByRole("listitem")).toHaveText(["company", "first_name", "unsubscribe_url"]);
  await page.getByRole("button", { name: "Create template" }).click();
  await expect(page.getByRole("status").filter({ hasText: "The template was created." })).toBeVisible();
  await expect(page).toHaveURL(/\/templates\/tpl_\w+\?created=1$/);
  // The saved template's preview comes with the page.
  await expect(frame.getByText("Welcome to ANALYTICAL ENGINES.")).toBeVisible();
  await shot(page, "template-editor");
  await page.getByRole("link", { name: "← All templates" }).click();
  const templates = page.getByRole("table", { name: "Templates" });
  await expect(templates.locator("tbody tr")).toHaveCount(1);
  await expect(templates).toContainText("Hello {{ first_name }}");
  await templates.getByLabel("Delete Welcome").click();
  await page.getByRole("button", { name: "Delete template Welcome for good" }).click();
  await expect(page.getByText("No templates yet.")).toBeVisible();

  // Suppressions: add one, look it up, import a CSV, export, remove.
  const gone = `gone.${tag}@example.com`;
  await sending.getByRole("link", { name: "Suppressions" }).click();
  await expect(page.getByText("No suppressed addresses yet.")).toBeVisible();
  const add = page.getByRole("form", { name: "Add an address" });
  await add.getByLabel("Email").fill(gone.toUpperCase());
  await add.getByRole("button", { name: "Suppress" }).click();
  await expect(page.getByRole("status").filter({ hasText: `${gone} is suppressed` })).toBeVisible();
  const list = page.getByRole("table", { name: "Suppressed addresses" });
  await expect(list.locator(`tr[data-email="${gone}"]`)).toContainText("manual");

  const csv = `email,note\nnew.${tag}@example.com,asked by phone\n${gone},again\nnot-an-address,typo\n`;
  const importForm = page.getByRole("form", { name: "Import a CSV" });
  await importForm.getByLabel("Reason").selectOption("complained");
  await importForm.getByLabel("File").setInputFiles({ name: "suppress.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
  await importForm.getByRole("button", { name: "Import" }).click();
  await expect(page.getByRole("status", { name: "Import" })).toHaveText("Imported 3 rows: 1 added, 1 already on the list, 1 not an address.");
  await expect(list.locator("tbody tr")).toHaveCount(2);

  const filter = page.getByRole("form", { name: "Filter the suppression list" });
  await filter.getByLabel("Reason").selectOption("complained");
  await filter.getByRole("button", { name: "Show" }).click();
  await expect(list.locator("tbody tr")).toHaveCount(1);
  await expect(list).toContainText(`new.${tag}@example.com`);
  await filter.getByLabel("Reason").selectOption("");
  await filter.getByLabel("Look up an address").fill(gone);
  await filter.getByRole("button", { name: "Show" }).click();
  await expect(list.locator("tbody tr")).toHaveCount(1);
  await expect(list).toContainText(gone);

  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Export CSV" }).click()]);
  const exported = readFileSync((await download.path())!, "utf8").trim().split(/\r?\n/);
  expect(exported[0]).toBe("email,reason,campaign_id,source,created_at");
  expect(exported.slice(1).map((l) => l.split(",").slice(0, 2).join(","))).toEqual([`gone.${tag}@example.com,manual`, `new.${tag}@example.com,complained`]);

  await list.getByLabel(`Remove ${gone}`).click();
  await page.getByRole("button", { name: `Send to ${gone} again` }).click();
  await expect(page.getByRole("status").filter({ hasText: `${gone} was taken off the list` })).toBeVisible();
  await page.goto(`/suppressions?email=${encodeURIComponent(gone)}`);
  await expect(page.getByText(`${gone} is not on the list.`)).toBeVisible();
  await shot(page, "suppressions");
});

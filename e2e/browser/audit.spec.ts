// The audit log in Chromium (issue 13): an owner's sign-in, team changes, an API key and a list
// appear on /audit with who did them, the filter narrows them, the CSV holds them; a member of
// the team has no link and gets 403 on /audit and its export.
import { expect, makeTeamWithMember, signIn, test, uniqueEmail } from "./fixtures.ts";

test("an owner reads who did what, filters it, and exports it; a member cannot open /audit", async ({ page, browser }) => {
  const owner = uniqueEmail("auditowner");
  const member = uniqueEmail("auditmember");
  await signIn(page, owner);
  await makeTeamWithMember(page, "Audited team", member);

  // A key made in the team, then the log.
  await page.goto("/keys");
  await page.getByLabel("Name").fill("CRM sync");
  await page.getByRole("button", { name: /Create/ }).click();
  await expect(page.getByText("CRM sync").first()).toBeVisible();
  await page.getByRole("link", { name: "Audit log" }).click();
  await expect(page).toHaveURL(/\/audit$/);
  const rows = page.getByRole("table", { name: "Audit log" }).locator("tbody tr");
  await expect(rows.filter({ hasText: "api_key.created" })).toContainText(owner);
  await expect(rows.filter({ hasText: "api_key.created" })).toContainText("CRM sync");
  await expect(rows.filter({ hasText: "member.added" })).toContainText(member);

  await page.getByLabel("What").selectOption({ label: "Members" });
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(/action=member\./);
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toHaveAttribute("data-action", "member.added");

  const csv = await page.request.get("/audit.csv?action=member.");
  expect(csv.status()).toBe(200);
  const lines = (await csv.text()).replace(/^\uFEFF/, "").trim().split(/\r?\n/);
  expect(lines[0]).toBe("time,action,description,actor,actor_id,target,ip,user_agent,request_id,detail");
  expect(lines).toHaveLength(2);
  expect(lines[1]).toContain("member.added");

  const ctx = await browser.newContext({ baseURL: process.env.MXRAY_BROWSER_URL });
  const them = await ctx.newPage();
  await signIn(them, member);
  await them.getByLabel("Account").selectOption({ label: "Audited team" });
  await expect(them.getByRole("link", { name: "Audit log" })).toHaveCount(0);
  expect((await them.goto("/audit"))?.status()).toBe(403);
  expect((await them.request.get("/audit.csv")).status()).toBe(403);
  await ctx.close();
});

// The operations console in Chromium (issue 13): the operator (MXRAY_ADMIN_EMAILS) opens /admin
// from the nav, sees the stack's probe, finds another person's account and adjusts its credits,
// which that person then has and reads in their audit log; anyone else has no link and gets 404 on /admin.
// The operator also sees the fleet's health columns and disables an account, whose member then sees why.
import { expect, OPERATOR_EMAIL, signIn, test, uniqueEmail } from "./fixtures.ts";

test("the operator sees the fleet and adjusts another account's credits; a normal user gets 404", async ({ page, browser }) => {
  const customer = uniqueEmail("admincustomer");
  const ctx = await browser.newContext({ baseURL: process.env.MXRAY_BROWSER_URL });
  const them = await ctx.newPage();
  await signIn(them, customer);
  await expect(them.getByRole("link", { name: "Admin" })).toHaveCount(0);
  expect((await them.goto("/admin"))?.status()).toBe(404);

  await signIn(page, OPERATOR_EMAIL);
  await page.getByRole("link", { name: "Admin" }).click();
  await expect(page).toHaveURL(/\/admin$/);
  await expect(page.getByRole("table", { name: "Probes" }).locator("tbody tr").filter({ hasText: "prb_local_" }).first()).toContainText("active");

  await page.getByLabel("Name, email or id").fill(customer);
  await page.getByRole("button", { name: "Search" }).click();
  const rows = page.getByRole("table", { name: "Accounts" }).locator("tbody tr");
  await expect(rows).toHaveCount(1);
  const before = Number((await rows.first().locator("[data-balance]").innerText()).replace(/,/g, ""));
  await rows.first().getByLabel(/Credits to add or remove/).fill("250");
  await rows.first().getByLabel(/Reason for/).fill("support goodwill");
  await rows.first().getByRole("button", { name: "Adjust" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Adjusted" })).toBeVisible();
  await expect(rows.first().locator("[data-balance]")).toHaveText((before + 250).toLocaleString("en"));

  await them.goto("/dashboard");
  await expect(them.getByTitle("Credits")).toHaveText(`${(before + 250).toLocaleString("en")} credits`);
  // The person's own audit log says who adjusted it and why.
  await them.goto("/audit");
  await expect(them.getByRole("table", { name: "Audit log" }).locator("tbody tr").filter({ hasText: "admin.credits_adjusted" }))
    .toContainText(`+250 credits by ${OPERATOR_EMAIL}: support goodwill`);
  await ctx.close();
});

test("the operator sees the fleet's health columns and disables an account, whose member then sees why", async ({ page, browser }) => {
  const customer = uniqueEmail("disabledcustomer");
  const ctx = await browser.newContext({ baseURL: process.env.MXRAY_BROWSER_URL });
  const them = await ctx.newPage();
  await signIn(them, customer);

  await signIn(page, OPERATOR_EMAIL);
  await page.goto("/admin");
  const fleet = page.getByRole("table", { name: "Probes" });
  for (const column of ["Self-check", "Shared state", "Last hour"]) await expect(fleet.getByRole("columnheader", { name: column })).toBeVisible();
  const local = fleet.locator("tbody tr").filter({ hasText: "prb_local_" }).first();
  await expect(local.locator("[data-last-hour]")).toContainText("results");
  // The stack's probes share MX state through its redis-server, and say so in their heartbeats.
  await expect(local).toContainText("redis · 0 open breakers");

  await page.getByLabel("Name, email or id").fill(customer);
  await page.getByRole("button", { name: "Search" }).click();
  const row = page.getByRole("table", { name: "Accounts" }).locator("tbody tr").first();
  await row.getByLabel(/Why disable/).fill("card testing");
  await row.getByRole("button", { name: /Disable account/ }).click();
  await expect(page.getByRole("status").filter({ hasText: "disabled" })).toBeVisible();
  await expect(row.locator("[data-disabled]")).toContainText("card testing");

  await them.goto("/upload");
  await expect(them).toHaveURL(/\/account-disabled$/);
  await expect(them.getByRole("heading", { name: "This account is disabled" })).toBeVisible();
  await expect(them.getByRole("alert").filter({ hasText: "was disabled" })).toContainText("card testing");

  await row.getByRole("button", { name: /Enable account/ }).click();
  await expect(row.locator("[data-disabled]")).toHaveCount(0);
  await them.goto("/upload");
  await expect(them).toHaveURL(/\/upload$/);
  await ctx.close();
});

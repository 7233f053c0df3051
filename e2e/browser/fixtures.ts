// What every browser test shares: the stack's URL, a page that fails the test on any console
// error or uncaught exception, sign-in, the world's truth, and page screenshots kept as artifacts.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test as base, type Page } from "@playwright/test";
import type { Expected } from "../world/index.ts";

export { expect };

export const SCREENSHOTS = join(import.meta.dirname, "..", "..", "test-results", "pages");

/**
 * Chromium's report of Playwright's own script being refused by a frame sandboxed without
 * allow-scripts (the template preview): Playwright injects into every frame, the page runs none
 * there (microsoft/playwright#33343).
 */
const PLAYWRIGHT_NOISE = /^Blocked script execution in 'about:srcdoc' because the document's frame is sandboxed and the 'allow-scripts' permission is not set\.$/;

export const test = base.extend<{ consoleErrors: string[] }>({
  baseURL: async ({}, use) => use(process.env.MXRAY_BROWSER_URL),
  consoleErrors: async ({}, use) => use([]),
  page: async ({ page, consoleErrors }, use) => {
    page.on("console", (m) => m.type() === "error" && !PLAYWRIGHT_NOISE.test(m.text()) && consoleErrors.push(`${m.text()} [${page.url()}]`));
    page.on("pageerror", (e) => consoleErrors.push(`uncaught: ${e.message}`));
    await use(page);
    expect(consoleErrors, "console errors on the page").toEqual([]);
  },
});

export function truth(): Map<string, Expected> {
  return new Map(Object.entries(JSON.parse(readFileSync(process.env.MXRAY_BROWSER_TRUTH!, "utf8")) as Record<string, Expected>));
}

/** The stack's loopback relay sink (STARTTLS + AUTH) and its inbox (`/messages` JSON, `/messages/{id}/raw`). */
export interface BrowserRelaySink {
  host: string;
  port: number;
  user: string;
  password: string;
  inboxUrl: string;
}

export function relaySink(): BrowserRelaySink {
  return JSON.parse(process.env.MXRAY_BROWSER_RELAY!) as BrowserRelaySink;
}

/** The platform operator of the browser stack (MXRAY_ADMIN_EMAILS, set in global-setup.ts). */
export const OPERATOR_EMAIL = "operator@mxray.test";

/** A fresh local account per test (its own credits and jobs). */
export function uniqueEmail(who: string): string {
  return `${who}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}@example.com`;
}

export async function signIn(page: Page, email: string, next?: string): Promise<void> {
  await page.goto(next ? `/sign-in?next=${encodeURIComponent(next)}` : "/sign-in");
  await page.getByLabel("Email").fill(email);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("button", { name: "Sign out" })).toBeVisible();
}

/** The user signed in on `page` makes a team (then the current account) and adds `member` as a member. */
export async function makeTeamWithMember(page: Page, team: string, member: string): Promise<void> {
  await page.goto("/team");
  await page.getByLabel("Team name").fill(team);
  await page.getByRole("button", { name: "Create team" }).click();
  await expect(page.getByRole("heading", { name: team })).toBeVisible();
  await page.getByLabel("Email", { exact: true }).fill(member);
  await page.getByLabel("Role").selectOption("member");
  await page.getByRole("button", { name: "Add" }).click();
  await expect(page.getByRole("status").filter({ hasText: "is now a member" })).toBeVisible();
}

export async function shot(page: Page, name: string, { fullPage = true }: { fullPage?: boolean } = {}): Promise<void> {
  // caret "initial": hiding the caret sets a style on every input, which React, if it has not
  // hydrated yet, then reports as a server/client mismatch. A very long page is shot as far as the window shows.
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage, caret: "initial" });
}

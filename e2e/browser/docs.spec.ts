/// <reference lib="dom" />
// The docs as a reader meets them (issue 26): guides rendered from Markdown (code as <code>, no
// backticks as typed), a side menu of the guides and the current guide's sections with "#" anchors,
// a search that works without JavaScript, the API reference styled with a menu of its operations,
// no favicon 404, and no sideways scrolling at phone width.
import { expect, test } from "./fixtures.ts";

test("a guide renders its Markdown, with a side menu of guides and sections and anchored headings", async ({ page }) => {
  await page.goto("/docs");
  // The index is a short list of guides, one line each, not the whole reference.
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Docs");
  expect(await page.evaluate(() => document.documentElement.scrollHeight)).toBeLessThan(4000);
  const menu = page.getByRole("navigation", { name: "Guides" });
  await menu.getByRole("link", { name: "Campaigns", exact: true }).click();
  await expect(page).toHaveURL(/\/docs\/campaigns$/);
  await expect(menu.getByRole("link", { name: "Campaigns", exact: true })).toHaveAttribute("aria-current", "page");
  const guide = page.locator("article.guide");
  await expect(guide.locator("code").first()).toBeVisible();
  // No backticks as typed outside code blocks.
  expect(await guide.evaluate((el) => Array.from(el.querySelectorAll(":scope > :not(pre)")).map((e) => e.textContent).join(" "))).not.toContain("`");
  // The guide's sections are in the menu, and each is an anchor of a heading with its own "#" link.
  const sections = menu.getByRole("list", { name: "Sections of Campaigns" }).getByRole("link");
  expect(await sections.count()).toBeGreaterThan(3);
  const href = (await sections.nth(1).getAttribute("href"))!;
  expect(href).toMatch(/^#[\w-]+$/);
  const heading = page.locator(`[id="${href.slice(1)}"]`);
  await expect(heading).toHaveCount(1);
  await expect(heading.locator("a.anchor")).toHaveAttribute("href", href);
  await sections.nth(1).click();
  await expect(page).toHaveURL(new RegExp(`/docs/campaigns${href}$`));
  await expect(heading).toBeInViewport();
});

test("the search box finds sections of the guides, with JavaScript off too", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false, baseURL: process.env.MXRAY_BROWSER_URL });
  const page = await context.newPage();
  await page.goto("/docs/jobs");
  await page.getByRole("searchbox", { name: "Search the guides" }).fill("signature");
  await page.getByRole("button", { name: "Search" }).click();
  await expect(page).toHaveURL(/\/docs\?q=signature$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Search: signature");
  const hits = page.locator("ol.docs-hits > li");
  expect(await hits.count()).toBeGreaterThan(1);
  await expect(hits.first()).toContainText(/signature/i);
  await hits.first().getByRole("link").click();
  await expect(page).toHaveURL(/\/docs\/[\w-]+(#[\w-]+)?$/);
  await page.goto("/docs?q=xyzzy-no-such-word");
  await expect(page.getByRole("status")).toHaveText("Nothing in the guides matches every word.");
  await context.close();
});

test("/api/v1/docs is styled, grouped by tag with a menu of operations, and asks for no missing icon", async ({ page }) => {
  const missing: string[] = [];
  page.on("response", (r) => r.status() >= 400 && missing.push(`${r.status()} ${r.url()}`));
  await page.goto("/api/v1/docs");
  expect(await page.evaluate(() => getComputedStyle(document.body).fontFamily)).toContain("system-ui");
  const menu = page.getByRole("navigation", { name: "Operations" });
  await menu.getByRole("link", { name: "POST /api/v1/jobs", exact: true }).click();
  await expect(page).toHaveURL(/#POST-\/api\/v1\/jobs$/);
  await expect(page.locator('article[id="POST-/api/v1/jobs"]')).toBeInViewport();
  // Descriptions are Markdown: code spans are code.
  await expect(page.locator(".op-description code").first()).toBeVisible();
  expect(await page.locator("main").evaluate((el) => Array.from(el.querySelectorAll(":not(pre) > *")).some((e) => e.childNodes.length === 1 && e.textContent!.includes("`")))).toBe(false);
  // The icon the page names exists, and so does the one browsers ask for by themselves.
  expect((await page.request.get("/favicon.svg")).headers()["content-type"]).toContain("image/svg+xml");
  expect((await page.request.get("/favicon.ico")).status()).toBe(200);
  await page.goto("/docs");
  expect(missing).toEqual([]);
});

test("at phone width the docs fold their menu above the page and never scroll sideways", async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  for (const path of ["/docs", "/docs/campaigns", "/docs/reference", "/api/v1/docs", "/docs?q=webhook"]) {
    await page.goto(path);
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth), path).toBe(true);
  }
  await page.goto("/docs/campaigns");
  const fold = page.locator("details.docs-nav-narrow");
  await expect(fold).toBeVisible();
  await expect(page.locator("nav.docs-nav-wide")).toBeHidden();
  // Folded: the guide starts within the first screen.
  await expect(page.locator("article.guide h1")).toBeInViewport();
  await fold.locator("summary").click();
  await expect(fold.getByRole("link", { name: "Webhooks", exact: true })).toBeVisible();
});

/// <reference lib="dom" />
// The app's shell in Chromium (issue 26): at phone width every page of the menu fits the screen,
// the menu is one row that opens on a click, wide tables scroll inside a labelled box that shows
// it scrolls; at desktop width the menu is inline; form controls share one style; /upload clears a
// refused file; and an unknown address answers 404 inside the app's bar, signed in or not.
import type { Browser, Page } from "@playwright/test";
import { expect, OPERATOR_EMAIL, shot, signIn, test } from "./fixtures.ts";

const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };

/** The closed menu's bar: the brand and one button, one row. */
const ONE_ROW_PX = 64;

const menuButton = (page: Page) => page.locator("header summary", { hasText: "Menu" });
const mainNav = (page: Page) => page.getByRole("navigation", { name: "Main" });

async function fitsSideways(page: Page): Promise<boolean> {
  return page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
}

/** The innermost elements reaching past the screen's right edge, to name in a failure. */
async function pastTheEdge(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const clipped = (el: HTMLElement) => {
      // An absolutely placed element (.sr-only) is clipped only by its containing block or the boxes around that.
      const position = getComputedStyle(el).position;
      if (position === "fixed") return false;
      const first = position === "absolute" ? (el.offsetParent as HTMLElement | null) : el.parentElement;
      for (let box = first; box && box !== document.body; box = box.parentElement) {
        if (getComputedStyle(box).overflowX !== "visible" && box.getBoundingClientRect().right <= window.innerWidth) return true;
      }
      return false;
    };
    const past = Array.from(document.querySelectorAll<HTMLElement>("body *"))
      .filter((el) => el.checkVisibility() && el.getBoundingClientRect().right > window.innerWidth + 0.5 && !clipped(el));
    return past
      .filter((el) => !past.some((other) => other !== el && el.contains(other)))
      .slice(0, 5)
      .map((el) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ""}${el.className && typeof el.className === "string" ? `.${el.className.split(" ").join(".")}` : ""} "${(el.textContent ?? "").trim().slice(0, 40)}"`);
  });
}

async function headerHeight(page: Page): Promise<number> {
  return (await page.locator("header.topbar").boundingBox())!.height;
}

interface TableSeen {
  name: string;
  wrapped: boolean;
  wide: boolean;
  scrolls: boolean;
  shaded: boolean;
  region: boolean;
}

/** Every table of the page: in a .table-wrap, and for one wider than its box, whether that box scrolls, shades its edge and is a focusable named region. */
async function tablesOf(page: Page): Promise<TableSeen[]> {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll("main table")).map((table) => {
      const wrap = table.closest<HTMLElement>(".table-wrap");
      const style = wrap ? getComputedStyle(wrap) : null;
      return {
        name: table.getAttribute("aria-label") ?? table.querySelector("th")?.textContent ?? "?",
        wrapped: wrap !== null,
        wide: wrap !== null && wrap.scrollWidth > wrap.clientWidth,
        scrolls: style?.overflowX === "auto",
        shaded: (style?.backgroundImage.match(/radial-gradient/g) ?? []).length === 2,
        region: wrap?.getAttribute("role") === "region" && wrap.tabIndex === 0 && !!wrap.getAttribute("aria-label"),
      };
    }),
  );
}

/** Text-like controls on the page that are shown and lack the shared style (a 1 px border, 8 px corners). */
async function unstyledControls(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll<HTMLElement>("main input, main select, main textarea"))
      .filter((el) => !["hidden", "checkbox", "radio", "file", "submit", "button"].includes(el.getAttribute("type") ?? "") && el.checkVisibility())
      .filter((el) => {
        const s = getComputedStyle(el);
        return s.borderTopWidth !== "1px" || s.borderRadius !== "8px";
      })
      .map((el) => `${el.tagName.toLowerCase()}#${el.id || el.getAttribute("name")}`),
  );
}

test("at phone width every page of the menu fits, its menu is one row that opens, and its wide tables scroll in a box that shows it", async ({ page }) => {
  test.slow(); // every page of the menu (about twenty), each opened and its menu tried
  await page.setViewportSize(DESKTOP);
  await signIn(page, OPERATOR_EMAIL);
  // Desktop: the links are inline and there is no menu button.
  await expect(menuButton(page)).toBeHidden();
  await expect(mainNav(page).getByRole("link", { name: "Dashboard" })).toBeVisible();
  await expect(mainNav(page).getByRole("link", { name: "Admin" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Sign out" })).toBeVisible();
  const links = await mainNav(page).getByRole("link").evaluateAll((as) => as.map((a) => ({ name: a.textContent!, href: a.getAttribute("href")! })));
  expect(links.map((l) => l.href)).toEqual(expect.arrayContaining(["/dashboard", "/upload", "/verify", "/find", "/admin", "/billing", "/docs"]));

  await page.setViewportSize(PHONE);
  const wide: string[] = [];
  for (const { href } of links) {
    await page.goto(href);
    await expect(page.getByRole("heading", { level: 1 }).first()).toBeVisible();
    expect.soft(await pastTheEdge(page), `${href} is wider than the phone`).toEqual([]);
    expect.soft(await fitsSideways(page), `${href} is wider than the phone`).toBe(true);
    // Closed, the menu is one row: the links are behind its button.
    await expect(menuButton(page)).toBeVisible();
    await expect(mainNav(page)).toBeHidden();
    expect.soft(await headerHeight(page), `${href}'s bar`).toBeLessThan(ONE_ROW_PX);

    for (const t of await tablesOf(page)) {
      expect.soft(t.wrapped, `${href}: table ${t.name} sits in the scroll box`).toBe(true);
      if (!t.wide) continue;
      wide.push(`${href} ${t.name}`);
      expect.soft({ table: t.name, scrolls: t.scrolls, shaded: t.shaded, region: t.region }).toEqual({ table: t.name, scrolls: true, shaded: true, region: true });
    }
    expect.soft(await unstyledControls(page), `${href}'s controls`).toEqual([]);

    // Open, it shows every page's link and the account, still within the screen.
    await menuButton(page).click();
    for (const l of links) await expect(mainNav(page).getByRole("link", { name: l.name, exact: true })).toBeVisible();
    await expect(page.getByRole("button", { name: "Sign out" })).toBeVisible();
    expect.soft(await fitsSideways(page), `${href} with the menu open is wider than the phone`).toBe(true);
    await page.keyboard.press("Escape");
    await expect(mainNav(page)).toBeHidden();
  }
  // The operator's own pages (the fleet, the accounts) hold tables wider than a phone.
  expect(wide.length).toBeGreaterThan(0);

  // A link followed from the open menu lands on its page with the menu closed again.
  await page.goto("/dashboard");
  await menuButton(page).click();
  await mainNav(page).getByRole("link", { name: "Rules" }).click();
  await expect(page).toHaveURL(/\/rules$/);
  await expect(mainNav(page)).toBeHidden();
  await shot(page, "shell-phone-rules");
  await page.setViewportSize(DESKTOP);
  await expect(mainNav(page)).toBeVisible();
  await shot(page, "shell-desktop-rules");
});

test("form controls share one style: /find's list box spans its card, /upload clears a refused file", async ({ page }) => {
  await signIn(page, OPERATOR_EMAIL);
  for (const size of [PHONE, DESKTOP]) {
    await page.setViewportSize(size);
    await page.goto("/find");
    const card = page.locator("section", { has: page.getByRole("heading", { name: "Or a list" }) });
    const ratio = await card.evaluate((section) => {
      const box = section.querySelector("textarea")!.getBoundingClientRect().width;
      const s = getComputedStyle(section);
      return box / (section.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight));
    });
    expect(ratio, `the list box at ${size.width} px`).toBeGreaterThanOrEqual(0.9);
    expect(await unstyledControls(page)).toEqual([]);
  }

  // The file input is part of the drop zone; a refused file does not stay chosen.
  await page.setViewportSize(PHONE);
  await page.goto("/upload");
  const file = page.getByLabel("File");
  await expect(page.locator(".dropzone").locator('input[type="file"]')).toHaveCount(1);
  await file.setInputFiles({ name: "old.xls", mimeType: "application/vnd.ms-excel", buffer: Buffer.from("not read here") });
  await expect(page.getByRole("alert").filter({ hasText: "old.xls is a spreadsheet format not read here" })).toBeVisible();
  expect(await file.evaluate((el: HTMLInputElement) => ({ value: el.value, files: el.files?.length }))).toEqual({ value: "", files: 0 });
  await expect(page.locator("#drop-title")).toHaveText("File: Drop a file here, or choose one");
  await file.setInputFiles({ name: "list.txt", mimeType: "text/plain", buffer: Buffer.from("ada@example.com\ngrace@example.org\n") });
  await expect(page.locator("#drop-title")).toHaveText("File: list.txt");
  await expect(page.getByRole("alert")).toHaveCount(0);
  expect(await fitsSideways(page)).toBe(true);
  await shot(page, "shell-phone-upload");
});

/** A page of its own context: a 404 is logged to the console by the browser itself, which the fixture's page counts as an error. */
async function freshPage(browser: Browser): Promise<Page> {
  const ctx = await browser.newContext({ baseURL: process.env.MXRAY_BROWSER_URL, viewport: PHONE });
  return ctx.newPage();
}

async function expectNotFoundPage(page: Page) {
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(["Page not found"]);
  await expect(page.getByRole("link", { name: "Read the docs" })).toBeVisible();
}

test("an unknown address answers 404 inside the app's bar, signed out and signed in", async ({ browser }) => {
  const out = await freshPage(browser);
  expect((await out.goto("/no-such-page"))?.status()).toBe(404);
  await expectNotFoundPage(out);
  await expect(out.getByRole("banner").getByRole("link", { name: "Sign in" })).toBeVisible();
  await expect(out.getByRole("link", { name: "Go to the home page" })).toBeVisible();
  await out.context().close();

  const me = await freshPage(browser);
  // Signed in at desktop width, where sign-in's proof (the Sign out button) is in sight.
  await me.setViewportSize(DESKTOP);
  await signIn(me, OPERATOR_EMAIL);
  await me.setViewportSize(PHONE);
  for (const path of ["/no-such-page", "/jobs/job_nosuchjob", "/docs/no-such-guide", "/docs/nested/unknown"]) {
    expect((await me.goto(path))?.status(), path).toBe(404);
    await expectNotFoundPage(me);
    await expect(me.getByRole("link", { name: "Go to the dashboard" })).toBeVisible();
    await menuButton(me).click();
    await expect(mainNav(me).getByRole("link", { name: "Dashboard" })).toBeVisible();
    expect(await fitsSideways(me)).toBe(true);
  }
  // A route's own words stay: whose job it is not.
  await me.goto("/jobs/job_nosuchjob");
  await expect(me.getByText("No such job in this account.")).toBeVisible();
  await shot(me, "shell-phone-404");
  await me.context().close();
});

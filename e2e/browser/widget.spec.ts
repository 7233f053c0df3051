// The sign-up form widget in Chromium (issue 25): a publishable key made on the keys page for a
// second local origin (a small site this spec serves on loopback), whose sign-up page loads
// <stack>/widget.js. There a typo is suggested and accepted with one click, an undeliverable and
// a disposable address are flagged, an input added later is checked too, and a form that asked to
// block waits no longer than its budget on an address whose server never greets. A third origin,
// not on the key's list, gets nothing (its request fails CORS: the edge answers 403) and its form
// submits as ever. The served widget.js is public, cacheable, cookieless and under 10 KB gzipped.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import type { Page } from "@playwright/test";
import { expect, shot, signIn, test, truth, uniqueEmail } from "./fixtures.ts";

interface Site {
  origin: string;
  server: Server;
}

/**
 * A small site on its own loopback origin: `/?key=…&timeout=…&block=…` is a sign-up page with the
 * widget, and a button that adds a newsletter form after load; `/thanks` is where its forms go.
 */
async function startSite(edge: string): Promise<Site> {
  const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://site");
    if (url.pathname === "/thanks") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Thanks</title></head><body><h1>Thanks, ${esc(url.searchParams.get("email") ?? "")}</h1></body></html>`);
      return;
    }
    if (url.pathname !== "/") {
      res.writeHead(404).end();
      return;
    }
    const q = (name: string) => esc(url.searchParams.get(name) ?? "");
    const block = url.searchParams.get("block") ? ` data-mxray-block="${q("block")}"` : "";
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Sign up</title></head><body>
<h1>Sign up</h1>
<form id="signup" action="/thanks" method="get"${block}>
  <label for="email">Email</label> <input id="email" name="email" type="email" autocomplete="off">
  <label for="who">Your name</label> <input id="who" name="who" type="text">
  <button type="submit">Sign up</button>
</form>
<button type="button" id="more">Add the newsletter form</button>
<script>
document.getElementById("more").addEventListener("click", () => {
  const form = document.createElement("form");
  form.innerHTML = '<label for="news">Newsletter email</label> <input id="news" name="news" type="email">';
  document.body.append(form);
});
</script>
${
  url.searchParams.get("late")
    ? // Added once the page has loaded, as a tag manager does: DOMContentLoaded is long gone.
      `<script>addEventListener("load", () => { const s = document.createElement("script"); s.src = "${esc(edge)}/widget.js"; s.dataset.key = "${q("key")}"; s.dataset.timeout = "${q("timeout")}"; document.body.append(s); });</script>`
    : `<script src="${esc(edge)}/widget.js" data-key="${q("key")}" data-timeout="${q("timeout")}" async></script>`
}
</body></html>`);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

let site: Site;
let stranger: Site;
test.beforeAll(async () => {
  [site, stranger] = await Promise.all([startSite(process.env.MXRAY_BROWSER_URL!), startSite(process.env.MXRAY_BROWSER_URL!)]);
});
test.afterAll(async () => {
  for (const s of [site, stranger]) await new Promise((resolve) => s?.server.close(resolve));
});

/** A fresh account's publishable key for `origin`, made on the keys page as a person makes one. */
async function publishableKey(page: Page, origin: string): Promise<string> {
  await signIn(page, uniqueEmail("widget"));
  await page.goto("/keys");
  await page.getByLabel("Name").fill("Sign-up form");
  await page.getByLabel("Kind").selectOption("publishable");
  await page.getByLabel("Allowed origins").fill(origin);
  await page.getByRole("button", { name: "Create key" }).click();
  const key = (await page.getByTestId("new-key").textContent())!;
  expect(key).toMatch(/^mx_pk_[0-9A-Za-z]{32}$/);
  await expect(page.getByTestId("widget-snippet")).toHaveText(`<script src="${new URL(page.url()).origin}/widget.js" data-key="${key}" async></script>`);
  await expect(page.getByRole("row").filter({ hasText: "Sign-up form" })).toContainText(origin);
  await shot(page, "keys-publishable");
  return key;
}

const signUpPage = (at: Site, key: string, opts: { timeout?: number; block?: string; late?: boolean } = {}) =>
  `${at.origin}/?${new URLSearchParams({ key, timeout: String(opts.timeout ?? 10_000), ...(opts.block ? { block: opts.block } : {}), ...(opts.late ? { late: "1" } : {}) })}`;

/**
 * The widget's message for the input labelled `field`: the region its aria-describedby names,
 * once the widget (loaded async) has found the input.
 */
async function messageOf(page: Page, field: string) {
  const input = page.getByLabel(field, { exact: true });
  await expect(input).toHaveAttribute("aria-describedby", /^mxray-msg-\d+$/);
  return page.locator(`#${await input.getAttribute("aria-describedby")}`);
}

/** Types an address and leaves the field, as a person does; once the widget is done with the check, its request and message. */
async function leaveWith(page: Page, field: string, address: string) {
  const input = page.getByLabel(field, { exact: true });
  const message = await messageOf(page, field);
  await input.fill(address);
  const asked = page.waitForRequest((r) => r.url().includes("/api/v1/verify") && r.method() === "POST" && r.postDataJSON()?.email === address);
  await input.blur();
  const request = await asked;
  await expect(message).toHaveAttribute("data-state", "done");
  return { request, message };
}

test("on a listed origin: a typo is suggested and taken with one click, undeliverable and disposable addresses are flagged, later inputs too", async ({ page }) => {
  const key = await publishableKey(page, site.origin);
  const want = truth();
  expect(want.get("nobody@ok.test")).toMatchObject({ verdict: "undeliverable", reason: "mailbox_not_found" });
  expect(want.get("jane.doe@gmail.com")?.verdict).toBe("deliverable");
  expect(want.get("throwaway@mailinator.com")).toMatchObject({ verdict: "risky", reason: "disposable" });

  await page.goto(signUpPage(site, key));
  const email = page.getByLabel("Email", { exact: true });
  const message = await messageOf(page, "Email");
  await expect(message).toHaveAttribute("aria-live", "polite");
  await expect(message).toHaveAttribute("role", "status");
  await expect(message).toBeEmpty();
  // Only email inputs get a message.
  await expect(page.getByLabel("Your name")).not.toHaveAttribute("aria-describedby");

  // A typo: the suggestion, as a button that puts it in; the corrected address is checked, and is fine.
  const typo = await leaveWith(page, "Email", "jane.doe@gmial.com");
  expect(typo.request.postDataJSON()).toEqual({ email: "jane.doe@gmial.com", budget_ms: 9_500 });
  expect(await typo.request.headerValue("cookie")).toBeNull();
  await expect(message).toHaveText("Did you mean jane.doe@gmail.com?");
  await expect(message).toHaveClass(/mxray-msg--suggestion/);
  await shot(page, "widget-suggestion");
  const corrected = page.waitForResponse((r) => r.url().includes("/api/v1/verify") && r.request().postDataJSON()?.email === "jane.doe@gmail.com");
  await message.getByRole("button", { name: "jane.doe@gmail.com" }).click();
  await expect(email).toHaveValue("jane.doe@gmail.com");
  await expect(email).toBeFocused();
  expect(await (await corrected).json()).toMatchObject({ verdict: "deliverable" });
  await expect(message).toHaveAttribute("data-state", "done");
  await expect(message).toBeEmpty();
  await expect(email).not.toHaveAttribute("aria-invalid", "true");

  // Undeliverable, in words, and marked invalid.
  await leaveWith(page, "Email", "nobody@ok.test");
  await expect(message).toHaveText("This email address does not seem to exist. Please check it for typos.");
  await expect(message).toHaveClass(/mxray-msg--undeliverable/);
  await expect(email).toHaveAttribute("aria-invalid", "true");
  await shot(page, "widget-undeliverable");
  // Leaving the field again unchanged asks nothing (the next check below would come after it).
  const askedAgain: string[] = [];
  page.on("request", (r) => void (r.url().includes("/api/v1/verify") && r.method() === "POST" && askedAgain.push(r.postDataJSON()?.email)));
  await email.focus();
  await page.getByLabel("Your name").focus();
  // Typing again clears a message about an address no longer there.
  await email.fill("nobody@ok.tes");
  await expect(message).toBeEmpty();
  await expect(email).not.toHaveAttribute("aria-invalid", "true");

  // Disposable.
  await leaveWith(page, "Email", "throwaway@mailinator.com");
  await expect(message).toHaveText("This looks like a temporary email address. Please use one you will keep.");
  await expect(message).toHaveClass(/mxray-msg--disposable/);
  expect(askedAgain).toEqual(["throwaway@mailinator.com"]);

  // An input added after the widget loaded is found and checked too.
  await page.getByRole("button", { name: "Add the newsletter form" }).click();
  const later = await leaveWith(page, "Newsletter email", "nobody@ok.test");
  await expect(later.message).toHaveText(/does not seem to exist/);

  // Not blocking unless asked: the form submits with an undeliverable address.
  await leaveWith(page, "Email", "user@nxdomain.test");
  await expect(message).toHaveText("nxdomain.test does not receive email. Please check the address.");
  await page.getByRole("button", { name: "Sign up" }).click();
  await expect(page.getByRole("heading", { name: "Thanks, user@nxdomain.test" })).toBeVisible();
});

test("a form that asks to block is held for an undeliverable address, and goes on once it is fixed (the widget added after load)", async ({ page }) => {
  const key = await publishableKey(page, site.origin);
  await page.goto(signUpPage(site, key, { block: "undeliverable", late: true }));
  const email = page.getByLabel("Email", { exact: true });
  const message = await messageOf(page, "Email");
  // Submitted straight from the field: the submission waits for the check, then stays, the field focused.
  await email.fill("nobody@ok.test");
  await page.getByRole("button", { name: "Sign up" }).click();
  await expect(message).toHaveText(/does not seem to exist/);
  await expect(email).toBeFocused();
  expect(new URL(page.url()).pathname).toBe("/");
  // Fixed: it goes.
  await email.fill("alice@ok.test");
  await page.getByRole("button", { name: "Sign up" }).click();
  await expect(page.getByRole("heading", { name: "Thanks, alice@ok.test" })).toBeVisible();
});

test("within its budget: a server that never greets holds no form past the timeout, and no message claims a verdict", async ({ page }) => {
  expect(truth().get("user@slowbanner.test")).toMatchObject({ verdict: "unknown", reason: "timeout" });
  const key = await publishableKey(page, site.origin);
  await page.goto(signUpPage(site, key, { timeout: 600, block: "undeliverable" }));
  // The edge is given what is left of the budget once the answer's way back is allowed for.
  const { request, message } = await leaveWith(page, "Email", "user@slowbanner.test");
  expect(request.postDataJSON()).toEqual({ email: "user@slowbanner.test", budget_ms: 100 });
  await expect(message).toBeEmpty();
  await page.getByRole("button", { name: "Sign up" }).click();
  await expect(page.getByRole("heading", { name: "Thanks, user@slowbanner.test" })).toBeVisible();

  // A check that never answers at all (held here) is dropped at the timeout, and the held form goes on.
  await page.route("**/api/v1/verify*", () => {});
  await page.goto(signUpPage(site, key, { timeout: 600, block: "undeliverable" }));
  await messageOf(page, "Email");
  await page.getByLabel("Email", { exact: true }).fill("user@slowbanner.test");
  const dropped = page.waitForEvent("requestfailed", (r) => r.url().includes("/api/v1/verify"));
  await page.getByRole("button", { name: "Sign up" }).click();
  expect((await dropped).failure()?.errorText).toBe("net::ERR_ABORTED");
  await expect(page.getByRole("heading", { name: "Thanks, user@slowbanner.test" })).toBeVisible();
});

test("a page on an origin not on the key's list gets nothing, and its form still submits", async ({ page, consoleErrors }) => {
  const key = await publishableKey(page, site.origin);
  await page.goto(signUpPage(stranger, key));
  const failed = page.waitForEvent("requestfailed", (r) => r.url().includes("/api/v1/verify"));
  const { message } = await leaveWith(page, "Email", "jane.doe@gmial.com");
  expect((await failed).failure()?.errorText).toBe("net::ERR_FAILED");
  await expect(message).toBeEmpty();
  // Chromium reports the refused request itself; those are the only errors.
  const errors = consoleErrors.splice(0);
  expect(errors.some((e) => e.includes("has been blocked by CORS policy"))).toBe(true);
  expect(errors.filter((e) => !/blocked by CORS policy|net::ERR_FAILED/.test(e))).toEqual([]);
  // What the edge answered the page's preflight: 403, and no CORS permission.
  const preflight = await page.request.fetch(`/api/v1/verify?key=${key}`, { method: "OPTIONS", headers: { origin: stranger.origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type" } });
  expect(preflight.status()).toBe(403);
  expect(((await preflight.json()) as { error: { code: string } }).error.code).toBe("origin_not_allowed");
  expect(Object.keys(preflight.headers()).filter((h) => h.startsWith("access-control-"))).toEqual([]);
  await page.getByRole("button", { name: "Sign up" }).click();
  await expect(page.getByRole("heading", { name: "Thanks, jane.doe@gmial.com" })).toBeVisible();
});

test("widget.js is public, cacheable, cookieless, loadable cross-origin, and under 10 KB gzipped", async ({ page }) => {
  const res = await page.request.get("/widget.js");
  expect(res.status()).toBe(200);
  const headers = res.headers();
  expect(headers["content-type"]).toMatch(/^(application|text)\/javascript/);
  expect(headers["cache-control"]).toBe("public, max-age=3600");
  expect(headers["access-control-allow-origin"]).toBe("*");
  expect(headers["cross-origin-resource-policy"]).toBe("cross-origin");
  expect(headers["set-cookie"]).toBeUndefined();
  const body = await res.body();
  expect(body.toString("utf8")).toContain("/api/v1/verify");
  expect(gzipSync(body, { level: 9 }).length).toBeLessThan(10 * 1024);
});

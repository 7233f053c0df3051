// The sign-up form widget (issue 25; docs/widget.md), served as /widget.js: one script a site adds
// with a publishable key. It finds the page's email inputs (only those marked `data-mxray` when
// any are, and those added later), checks an address when the person leaves the field, and says
// in a short accessible message next to it when the address has a likely typo (a button puts the
// suggestion in), cannot receive mail, or is disposable. The form is never held up unless the site
// asks (`data-block`), and then no longer than the time budget (`data-timeout`, default 3 s).
// No dependencies, cookies or storage; the page's credentials never go with the request.
// Built for the browser by vite.config.ts (esbuild) into build/client/widget.js.
import type { Result } from "../../core/contracts.ts";

/** What the widget may say about an address (each message has the class `mxray-msg--<kind>`). */
type MessageKind = "suggestion" | "undeliverable" | "disposable";
/** What a site may ask a form to refuse until fixed (`data-block`, space-separated). */
type Blocking = "undeliverable" | "disposable";

interface Field {
  /** The message next to the input: an aria-live region that is there, empty, from the start. */
  box: HTMLElement;
  /** The address last asked about (trimmed), and its answer once there (null: none to give). */
  value?: string;
  done: Promise<Result | null>;
  result?: Result | null;
  controller?: AbortController;
}

const DEFAULT_TIMEOUT_MS = 3_000;
/** Room for the answer to travel back: the edge stops asking the probes this much before the page gives up. */
const RETURN_MARGIN_MS = 500;
/** Worth asking about: something@something.tld (anything else the browser's own check handles). */
const LOOKS_LIKE_ADDRESS = /^[^\s@]+@[^\s@]+\.[^\s@.]{2,}$/;
/** Undeliverable for a reason of the domain, not of the mailbox. */
const DOMAIN_REASONS = ["no_such_domain", "null_mx", "no_mail_server", "no_mx_address", "domain_literal"];
// Zero specificity (:where), so any rule of the site's wins.
const CSS =
  ":where(.mxray-msg:not(:empty)){display:block;margin:.25em 0 0;font-size:.875em;line-height:1.4;color:#4a4a4a}" +
  ":where(.mxray-msg--undeliverable){color:#b3261e}:where(.mxray-msg--disposable){color:#8a5300}" +
  ":where(.mxray-suggestion){font:inherit;font-weight:600;padding:0;margin:0;border:0;background:none;color:inherit;text-decoration:underline;cursor:pointer}";
const LOADED = Symbol.for("mxray.widget");

(() => {
  const script = (document.currentScript as HTMLScriptElement | null) ?? document.querySelector<HTMLScriptElement>("script[data-key][src*='widget.js']");
  const w = window as unknown as Record<symbol, boolean>;
  // Loaded twice (a tag manager and the page), it runs once.
  if (!script || w[LOADED]) return;
  w[LOADED] = true;
  const key = script.dataset.key ?? "";
  if (!key.startsWith("mx_pk_")) {
    console.warn("mxray widget: data-key must be a publishable key (mx_pk_…) made on the keys page");
    return;
  }
  const endpoint = new URL("/api/v1/verify", script.src);
  endpoint.searchParams.set("key", key);
  const timeoutMs = Math.max(100, Number(script.dataset.timeout) || DEFAULT_TIMEOUT_MS);
  const budgetMs = Math.round(Math.max(100, timeoutMs - RETURN_MARGIN_MS));
  const fields = new WeakMap<HTMLInputElement, Field>();
  /** Forms let through after a held submission was answered, and forms waiting for one. */
  const released = new WeakSet<HTMLFormElement>();
  const holding = new WeakSet<HTMLFormElement>();
  let boxes = 0;

  const blockingOf = (form: HTMLFormElement): Set<Blocking> =>
    new Set(((form.dataset.mxrayBlock ?? script.dataset.block ?? "").split(/\s+/) as Blocking[]).filter((b) => b === "undeliverable" || b === "disposable"));

  function addStyles(): void {
    if (script!.dataset.styles === "none") return;
    try {
      // A constructed sheet needs no 'unsafe-inline' in the page's Content-Security-Policy.
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
    } catch {
      const style = document.createElement("style");
      style.textContent = CSS;
      document.head.append(style);
    }
  }

  function attach(input: HTMLInputElement): void {
    if (fields.has(input)) return;
    const box = document.createElement("div");
    box.id = `mxray-msg-${++boxes}`;
    box.className = "mxray-msg";
    box.setAttribute("role", "status");
    box.setAttribute("aria-live", "polite");
    input.insertAdjacentElement("afterend", box);
    input.setAttribute("aria-describedby", `${input.getAttribute("aria-describedby") ?? ""} ${box.id}`.trim());
    fields.set(input, { box, done: Promise.resolve(null) });
    const leave = () => void check(input);
    input.addEventListener("change", leave);
    input.addEventListener("blur", leave);
    // Typing again makes the message and any answer on its way about an address no longer there.
    input.addEventListener("input", () => {
      const field = fields.get(input)!;
      if (input.value.trim() === field.value) return;
      field.controller?.abort();
      field.value = undefined;
      show(input, field, null);
      delete field.box.dataset.state;
    });
  }

  /** The answer for what the input holds now: the one asked for already, or a new check. */
  function check(input: HTMLInputElement): Promise<Result | null> {
    const field = fields.get(input)!;
    const email = input.value.trim();
    if (email === field.value) return field.done;
    field.controller?.abort();
    field.value = email;
    field.result = undefined;
    if (!LOOKS_LIKE_ADDRESS.test(email)) {
      field.result = null;
      show(input, field, null);
      field.box.dataset.state = "done";
      return (field.done = Promise.resolve(null));
    }
    // A hook for the site's styles (and tests): "checking", then "done" once answered or given up.
    field.box.dataset.state = "checking";
    const controller = (field.controller = new AbortController());
    // Past the budget the request is dropped, and the form does not wait for it.
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    field.done = fetch(endpoint, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, budget_ms: budgetMs }),
      credentials: "omit",
      signal: controller.signal,
    })
      .then((res) => (res.ok ? (res.json() as Promise<Result>) : null))
      .catch(() => null)
      .then((result) => {
        clearTimeout(timer);
        // Another address was asked for meanwhile: this answer is no one's.
        if (field.value !== email) return null;
        field.result = result;
        show(input, field, result);
        field.box.dataset.state = "done";
        return result;
      });
    return field.done;
  }

  function kindOf(result: Result | null, email: string): MessageKind | null {
    if (!result) return null;
    // A typo's suggestion first: "gmial.com is disposable" beside "did you mean gmail.com" reads as nonsense (issue 26).
    if (result.suggestion && result.suggestion.toLowerCase() !== email.toLowerCase()) return "suggestion";
    if (result.verdict === "undeliverable") return "undeliverable";
    return result.disposable ? "disposable" : null;
  }

  function show(input: HTMLInputElement, field: Field, result: Result | null): void {
    const { box } = field;
    const email = input.value.trim();
    const kind = kindOf(result, email);
    box.replaceChildren();
    box.className = kind ? `mxray-msg mxray-msg--${kind}` : "mxray-msg";
    if (kind === "undeliverable") input.setAttribute("aria-invalid", "true");
    else if (input.getAttribute("aria-invalid") === "true") input.removeAttribute("aria-invalid");
    if (!kind || !result) return;
    if (kind === "suggestion") {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "mxray-suggestion";
      button.textContent = result.suggestion!;
      button.addEventListener("click", () => accept(input, result.suggestion!));
      box.append("Did you mean ", button, "?");
    } else if (kind === "undeliverable") {
      const domain = email.slice(email.lastIndexOf("@") + 1);
      box.textContent = DOMAIN_REASONS.includes(result.reason)
        ? `${domain} does not receive email. Please check the address.`
        : "This email address does not seem to exist. Please check it for typos.";
    } else {
      box.textContent = "This looks like a temporary email address. Please use one you will keep.";
    }
  }

  /** Puts the suggestion in as if typed (frameworks that track the value see it too), and checks it. */
  function accept(input: HTMLInputElement, suggestion: string): void {
    Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value")!.set!.call(input, suggestion);
    input.dispatchEvent(new Event("input", { bubbles: true }));
    input.dispatchEvent(new Event("change", { bubbles: true }));
    input.focus();
  }

  const blocks = (field: Field | undefined, blocking: Set<Blocking>): boolean =>
    !!field?.result && ((blocking.has("undeliverable") && field.result.verdict === "undeliverable") || (blocking.has("disposable") && field.result.disposable));

  /**
   * A form that asked to block: its submission waits for the answers of its email inputs (never
   * past the budget), then goes on unless one is refused; that input gets the focus, its message
   * saying why. Forms that did not ask are never touched.
   */
  function onSubmit(event: SubmitEvent): void {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || released.delete(form)) return;
    const blocking = blockingOf(form);
    if (blocking.size === 0) return;
    const inputs = [...form.elements].filter((el): el is HTMLInputElement => el instanceof HTMLInputElement && fields.has(el));
    const answers = inputs.map((input) => check(input));
    const settled = inputs.every((input) => fields.get(input)!.result !== undefined);
    const refused = () => inputs.find((input) => blocks(fields.get(input), blocking));
    if (settled && !refused()) return;
    // Held here, before the site's own handlers see it: they run when it goes on.
    event.preventDefault();
    event.stopImmediatePropagation();
    if (settled || holding.has(form)) return refused()?.focus();
    holding.add(form);
    const submitter = event.submitter;
    void Promise.all(answers).then(() => {
      holding.delete(form);
      const input = refused();
      if (input) return input.focus();
      released.add(form);
      // requestSubmit runs the form's checks and handlers as a click would (Safari before 16: submit()).
      if (typeof form.requestSubmit === "function") form.requestSubmit(submitter);
      else form.submit();
    });
  }

  /** The inputs to check: those marked `data-mxray` when the page marks any, else every email input. */
  const selector = () => (document.querySelector("input[data-mxray]") ? "input[data-mxray]" : "input[type=email]");

  function scan(root: ParentNode, inputs: string): void {
    if (root instanceof HTMLInputElement && root.matches(inputs)) attach(root);
    root.querySelectorAll<HTMLInputElement>(inputs).forEach(attach);
  }

  function start(): void {
    addStyles();
    scan(document, selector());
    // Inputs added later (a dialog, a single-page app's next step); one look at the page per batch of changes.
    new MutationObserver((records) => {
      const inputs = selector();
      for (const r of records) for (const node of r.addedNodes) if (node instanceof Element) scan(node, inputs);
    }).observe(document.documentElement, { childList: true, subtree: true });
    document.addEventListener("submit", onSubmit, true);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start, { once: true });
  else start();
})();

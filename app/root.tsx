// The web app's shell: the top bar (navigation, team switcher, sign-out) around every page.
import type { LinksFunction, LoaderFunctionArgs } from "@remix-run/server-runtime";
import { Form, isRouteErrorResponse, Link, Links, Meta, NavLink, Outlet, Scripts, ScrollRestoration, useLoaderData, useLocation, useRouteError, useRouteLoaderData, useSubmit } from "@remix-run/react";
import { useEffect, useRef } from "react";
import { can } from "../core/roles.ts";
import { getViewer } from "./auth.server.ts";
import { balanceNotice } from "../core/billing.ts";
import { BalanceNotice } from "./components/billing.tsx";
import { balanceStanding } from "./lib/credits.server.ts";
import styles from "./styles.css?url";

export const links: LinksFunction = () => [{ rel: "stylesheet", href: styles }, { rel: "icon", href: "/favicon.svg", type: "image/svg+xml" }];

export async function loader(args: LoaderFunctionArgs) {
  const viewer = await getViewer(args);
  if (!viewer) return { viewer: null };
  const { user, account, accounts } = viewer;
  const seesBilling = can(account.role, "billing:view");
  const { services } = args.context;
  const now = services.clock.now();
  const standing = seesBilling ? await balanceStanding(services, { accountId: account.id, actor: user.id }, now) : null;
  return {
    viewer: {
      email: user.email,
      account: { id: account.id, name: account.name, kind: account.kind, role: account.role },
      credits: seesBilling ? account.creditBalance : null,
      balanceNotice: standing && balanceNotice(standing, now),
      accounts: accounts.map((a) => ({ id: a.id, name: a.name, kind: a.kind })),
      operator: viewer.operator,
    },
  };
}

export function Layout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <Meta />
        <Links />
      </head>
      <body>
        <a className="skip" href="#main">Skip to content</a>
        {children}
        <ScrollRestoration />
        <Scripts />
      </body>
    </html>
  );
}

type Viewer = NonNullable<Awaited<ReturnType<typeof loader>>["viewer"]>;

/**
 * The signed-in pages and the account, behind one "Menu" button on narrow screens (issue 26: the
 * links took three rows of a phone); from 60rem they sit inline (styles.css, "shell"). A
 * <details> opens and closes without JavaScript and tells assistive technology whether it is open.
 */
function AppMenu({ viewer }: { viewer: Viewer }) {
  const submit = useSubmit();
  const menu = useRef<HTMLDetailsElement>(null);
  const { pathname } = useLocation();
  // A link followed in the app keeps this element: close it, as a new page would.
  useEffect(() => {
    if (menu.current) menu.current.open = false;
  }, [pathname]);
  const closeOnEscape = (e: React.KeyboardEvent) => {
    if (e.key !== "Escape" || !menu.current?.open) return;
    menu.current.open = false;
    menu.current.querySelector("summary")?.focus();
  };
  return (
    <details className="menu" ref={menu} onKeyDown={closeOnEscape}>
      <summary className="btn small menu-button">Menu</summary>
      <div className="menu-panel">
            <nav className="nav app-nav" aria-label="Main">
              <NavLink to="/dashboard">Dashboard</NavLink>
              <NavLink to="/upload">Upload</NavLink>
              <NavLink to="/verify">Single check</NavLink>
              <NavLink to="/find">Find</NavLink>
              <span className="nav-group" role="group" aria-labelledby="nav-sending">
                <span id="nav-sending" className="nav-label">Sending</span>
                <NavLink to="/campaigns">Campaigns</NavLink>
                {can(viewer.account.role, "keys:manage") && <NavLink to="/senders">Senders</NavLink>}
                <NavLink to="/templates">Templates</NavLink>
                <NavLink to="/suppressions">Suppressions</NavLink>
                <NavLink to="/bounces">Bounces</NavLink>
              </span>
              {can(viewer.account.role, "keys:manage") && <NavLink to="/keys">API keys</NavLink>}
              {can(viewer.account.role, "keys:manage") && <NavLink to="/webhooks">Webhooks</NavLink>}
              <NavLink to="/rules">Rules</NavLink>
              {viewer.credits !== null && <NavLink to="/billing">Billing</NavLink>}
              {can(viewer.account.role, "audit:view") && <NavLink to="/audit">Audit log</NavLink>}
              <NavLink to="/team">Team</NavLink>
              <NavLink to="/settings">Settings</NavLink>
              <NavLink to="/docs">Docs</NavLink>
              {viewer.operator && <NavLink to="/admin">Admin</NavLink>}
            </nav>
            <div className="who">
              <Form method="post" action="/team" onChange={(e) => submit(e.currentTarget)}>
                <input type="hidden" name="intent" value="switch" />
                <label className="sr-only" htmlFor="account-switch">Account</label>
                <select id="account-switch" name="accountId" defaultValue={viewer.account.id} key={viewer.account.id}>
                  {viewer.accounts.map((a) => (
                    <option key={a.id} value={a.id}>{a.kind === "personal" ? `${a.name} (personal)` : a.name}</option>
                  ))}
                </select>
                <noscript><button className="btn small" type="submit">Switch</button></noscript>
              </Form>
              {viewer.credits !== null && <span title="Credits">{viewer.credits.toLocaleString("en")} credits</span>}
              <Form method="post" action="/sign-out">
                <button className="btn small" type="submit">Sign out</button>
              </Form>
            </div>
      </div>
    </details>
  );
}

function TopBar({ viewer }: { viewer: Viewer | null }) {
  return (
    <header className="topbar">
      <div className="topbar-inner">
        <Link to={viewer ? "/dashboard" : "/"} className="brand">mx<span>ray</span></Link>
        {viewer ? (
          <AppMenu viewer={viewer} />
        ) : (
          <nav className="nav" aria-label="Main">
            <NavLink to="/docs">Docs</NavLink>
            <span style={{ flex: 1 }} />
            <Link className="btn small primary" to="/sign-in">Sign in</Link>
          </nav>
        )}
      </div>
    </header>
  );
}

export default function App() {
  const { viewer } = useLoaderData<typeof loader>();
  return (
    <>
      <TopBar viewer={viewer} />
      <main id="main">
        {viewer?.balanceNotice && <BalanceNotice notice={viewer.balanceNotice} />}
        <Outlet />
      </main>
    </>
  );
}

/** What the error page says for a status: a heading and a sentence that stand alone. */
function explain(status: number): { title: string; sentence: string } {
  if (status === 404) return { title: "Page not found", sentence: "There is no page at this address in this account. The link may be old or mistyped." };
  if (status === 403) return { title: "Not allowed", sentence: "Your role in this account does not allow this." };
  return { title: "Something went wrong", sentence: "This page could not be shown because of a fault on our side. Try again in a moment." };
}

/**
 * Every error page, 404 included, inside the app's own bar (issue 26: it lost the menu). The root
 * loader's data is here whenever the root loader itself succeeded, which an unknown address
 * ensures by matching routes/$.tsx.
 */
export function ErrorBoundary() {
  const error = useRouteError();
  const viewer = useRouteLoaderData<typeof loader>("root")?.viewer ?? null;
  const status = isRouteErrorResponse(error) ? error.status : 500;
  const { title, sentence } = explain(status);
  // A route's own words ("No such job in this account.") say more than the status's name ("Not Found");
  // the router's own messages (a POST to a page without an action, a 405) are for developers.
  const detail = isRouteErrorResponse(error) && (status === 404 || status === 403) && typeof error.data === "string" && !/^not found$/i.test(error.data)
    ? error.data
    : null;
  return (
    <>
      <TopBar viewer={viewer} />
      <main id="main">
        <div className="card error-page">
          <h1>{title}</h1>
          <p>{detail ?? sentence}</p>
          <p className="links">
            {viewer ? <Link to="/dashboard">Go to the dashboard</Link> : <Link to="/">Go to the home page</Link>}
            <Link to="/docs">Read the docs</Link>
          </p>
        </div>
      </main>
    </>
  );
}

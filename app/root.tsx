// The web app's shell: the top bar (navigation, team switcher, sign-out) around every page.
import type { LinksFunction, LoaderFunctionArgs } from "@remix-run/server-runtime";
import { Form, isRouteErrorResponse, Link, Links, Meta, NavLink, Outlet, Scripts, ScrollRestoration, useLoaderData, useRouteError, useSubmit } from "@remix-run/react";
import { can } from "../core/roles.ts";
import { getViewer } from "./auth.server.ts";
import { LowBalanceBanner } from "./components/billing.tsx";
import styles from "./styles.css?url";

export const links: LinksFunction = () => [{ rel: "stylesheet", href: styles }, { rel: "icon", href: "/favicon.svg", type: "image/svg+xml" }];

export async function loader(args: LoaderFunctionArgs) {
  const viewer = await getViewer(args);
  if (!viewer) return { viewer: null };
  const { user, account, accounts } = viewer;
  return {
    viewer: {
      email: user.email,
      account: { id: account.id, name: account.name, kind: account.kind, role: account.role },
      credits: can(account.role, "billing:view") ? account.creditBalance : null,
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

function TopBar() {
  const { viewer } = useLoaderData<typeof loader>();
  const submit = useSubmit();
  return (
    <header className="topbar">
      <div className="topbar-inner">
        <Link to={viewer ? "/dashboard" : "/"} className="brand">mx<span>ray</span></Link>
        {viewer ? (
          <>
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
          </>
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
      <TopBar />
      <main id="main">
        {viewer?.credits != null && <LowBalanceBanner credits={viewer.credits} />}
        <Outlet />
      </main>
    </>
  );
}

export function ErrorBoundary() {
  const error = useRouteError();
  const status = isRouteErrorResponse(error) ? error.status : 500;
  const message = isRouteErrorResponse(error) ? (typeof error.data === "string" ? error.data : error.statusText) : "Something went wrong on our side.";
  return (
    <main id="main">
      <div className="card">
        <h1>{status === 404 ? "Not found" : status === 403 ? "Not allowed" : "Error"}</h1>
        <p>{message}</p>
        <p><Link to="/dashboard">Back to the dashboard</Link></p>
      </div>
    </main>
  );
}

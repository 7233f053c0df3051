// Templates (issue 23): the account's campaign messages, newest first, in pages; each opens in the
// editor (templates.$id.tsx) and can be deleted. Any member may write them: a template sends
// nothing by itself.
import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/server-runtime";
import { Form, Link, useActionData, useLoaderData, useSearchParams, type MetaFunction } from "@remix-run/react";
import { requireViewer } from "../auth.server.ts";
import { TableScroll, utc } from "../components/ui.tsx";
import { refused, ServiceError } from "../lib/actions.server.ts";
import { deleteTemplate, listTemplates } from "../lib/templates.server.ts";

export const meta: MetaFunction = () => [{ title: "Templates · mxray" }];

const PAGE = 25;

export async function loader(args: LoaderFunctionArgs) {
  const viewer = await requireViewer(args);
  const cursor = new URL(args.request.url).searchParams.get("cursor") ?? undefined;
  const page = await listTemplates(args.context.services, { accountId: viewer.account.id, actor: viewer.user.id }, { limit: PAGE, cursor }).catch((e: unknown) => {
    // A hand-edited ?cursor= is a bad link, not a failure of ours.
    if (e instanceof ServiceError && e.code === "validation_failed") throw new Response(e.message, { status: 400 });
    throw e;
  });
  return { account: viewer.account.name, templates: page.data, nextCursor: page.next_cursor, paged: cursor !== undefined };
}

export async function action(args: ActionFunctionArgs) {
  const viewer = await requireViewer(args);
  const form = await args.request.formData();
  try {
    if (form.get("intent") !== "delete") return { error: { code: "bad_request", message: "Unknown request." } };
    await deleteTemplate(args.context.services, { accountId: viewer.account.id, actor: viewer.user.id }, { id: String(form.get("id") ?? "") });
    return { ok: `${String(form.get("name") ?? "The template")} was deleted.` };
  } catch (e) {
    return refused(e);
  }
}

export default function Templates() {
  const { account, templates, nextCursor, paged } = useLoaderData<typeof loader>();
  const answer = useActionData<typeof action>();
  const [params] = useSearchParams();
  const deleted = params.get("deleted");
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Templates</h1>
          <p>The messages {account}'s campaigns send, in Liquid: the list's columns are variables, e.g. <code>{'{{ first_name | default: "there" }}'}</code>.</p>
        </div>
        <Link className="btn primary" to="/templates/new">New template</Link>
      </div>
      {answer && "error" in answer && answer.error && <div className="alert error" role="alert">{answer.error.message}</div>}
      {answer && "ok" in answer && answer.ok && <div className="alert ok" role="status">{answer.ok}</div>}
      {!answer && deleted && <div className="alert ok" role="status">{deleted} was deleted.</div>}
      <section className="card" aria-labelledby="templates-title">
        <h2 id="templates-title">Templates</h2>
        {templates.length === 0 ? (
          <p className="empty">No templates{paged ? " here" : " yet"}.</p>
        ) : (
          <TableScroll label="Templates">
            <table aria-label="Templates">
              <thead><tr><th scope="col">Name</th><th scope="col">Subject</th><th scope="col" className="hide-sm">Variables</th><th scope="col" className="hide-sm">Changed</th><th scope="col"><span className="sr-only">Actions</span></th></tr></thead>
              <tbody>
                {templates.map((t) => (
                  <tr key={t.id} data-template={t.id}>
                    <td><Link to={`/templates/${t.id}`}>{t.name}</Link></td>
                    <td className="mono">{t.subject}</td>
                    <td className="hide-sm mono">{t.variables.join(", ")}</td>
                    <td className="hide-sm muted">{utc(t.updated_at)}</td>
                    <td>
                      <details>
                        <summary className="btn small danger" aria-label={`Delete ${t.name}`}>Delete</summary>
                        <Form method="post">
                          <input type="hidden" name="id" value={t.id} />
                          <input type="hidden" name="name" value={t.name} />
                          <button className="btn small danger" type="submit" name="intent" value="delete" aria-label={`Delete template ${t.name} for good`}>Delete it</button>
                        </Form>
                      </details>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        )}
        <div className="row">
          {paged && <Link to="/templates">← Newest</Link>}
          {nextCursor && <Link to={`/templates?cursor=${encodeURIComponent(nextCursor)}`}>Older →</Link>}
        </div>
      </section>
    </>
  );
}

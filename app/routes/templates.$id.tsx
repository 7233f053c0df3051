// The template editor (issue 23): name, subject, HTML and an optional text part, with a live
// preview as you type (templates.preview.ts renders it for a sample person, as the probe will),
// a template error shown beside its field with line and column, and the variables it reads.
// /templates/new makes one. The HTML preview is a sandboxed frame with no scripts.
import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/server-runtime";
import { redirect } from "@remix-run/server-runtime";
import { Form, Link, useActionData, useLoaderData, useNavigation, useSearchParams, type MetaFunction } from "@remix-run/react";
import { useEffect, useRef, useState } from "react";
import { MAX_HTML, MAX_SUBJECT, MAX_TEXT, type TemplateSource } from "../../core/template.ts";
import { requireViewer } from "../auth.server.ts";
import { refused, ServiceError } from "../lib/actions.server.ts";
import { optionalText, text, validated } from "../lib/forms.server.ts";
import { createTemplate, deleteTemplate, getTemplate, previewSource, templateFieldError, TemplateForm, updateTemplate, type TemplatePreview } from "../lib/templates.server.ts";
import { whereText, type TemplateFieldError } from "../lib/templates.ts";

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `${data?.template?.name ?? "New template"} · mxray` }];

/** What a new template starts from: a greeting with a default, and the unsubscribe link. */
const STARTER: TemplateSource & { name: string } = {
  name: "",
  subject: 'Hello {{ first_name | default: "there" }}',
  html: '<p>Hi {{ first_name | default: "there" }},</p>\n<p>…</p>\n<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>',
  text: null,
};

/** How long the editor waits after the last keystroke before asking for a preview. */
const PREVIEW_DEBOUNCE_MS = 300;

type PreviewAnswer = { preview: TemplatePreview } | { error: { code: string; message: string }; at: TemplateFieldError | null };

async function previewAnswer(args: LoaderFunctionArgs, source: TemplateSource): Promise<PreviewAnswer> {
  const viewer = await requireViewer(args);
  try {
    return { preview: await previewSource(args.context.services, { accountId: viewer.account.id, actor: viewer.user.id }, { source }) };
  } catch (e) {
    const at = templateFieldError(e);
    if (!at) throw e;
    return { error: { code: "template_invalid", message: (e as Error).message }, at };
  }
}

export async function loader(args: LoaderFunctionArgs) {
  const viewer = await requireViewer(args);
  const id = args.params.id!;
  if (id === "new") return { template: null, source: STARTER, initial: await previewAnswer(args, STARTER) };
  const template = await getTemplate(args.context.services, { accountId: viewer.account.id, actor: viewer.user.id }, id).catch((e: unknown) => {
    if (e instanceof ServiceError && e.code === "not_found") throw new Response("No such template in this account.", { status: 404 });
    throw e;
  });
  const source = { name: template.name, subject: template.subject, html: template.html, text: template.text };
  return { template, source, initial: await previewAnswer(args, source) };
}

export async function action(args: ActionFunctionArgs) {
  const viewer = await requireViewer(args);
  const { services } = args.context;
  const who = { accountId: viewer.account.id, actor: viewer.user.id };
  const id = args.params.id!;
  const form = await args.request.formData();
  try {
    if (form.get("intent") === "delete" && id !== "new") {
      const { name } = await getTemplate(services, who, id);
      await deleteTemplate(services, who, { id });
      return redirect(`/templates?${new URLSearchParams({ deleted: name })}`);
    }
    if (form.get("intent") !== "save") return { error: { code: "bad_request", message: "Unknown request." }, at: null };
    // The text part is optional: blank makes it from the HTML.
    const fields = { name: text(form, "name"), subject: String(form.get("subject") ?? ""), html: String(form.get("html") ?? ""), text: optionalText(form, "text") === null ? null : String(form.get("text")) };
    if (id === "new") {
      const made = await createTemplate(services, who, validated(TemplateForm, fields));
      return redirect(`/templates/${made.id}?created=1`);
    }
    const saved = await updateTemplate(services, who, { id, patch: validated(TemplateForm, fields) });
    return { ok: `${saved.name} was saved.`, at: null };
  } catch (e) {
    return { ...refused(e), at: templateFieldError(e) };
  }
}

/** The preview of the source as it is now: asked for a moment after the last change, older answers dropped. */
function useLivePreview(source: TemplateSource, initial: PreviewAnswer) {
  const [answer, setAnswer] = useState<PreviewAnswer>(initial);
  const [pending, setPending] = useState(false);
  const first = useRef(true);
  const { subject, html, text: textPart } = source;
  useEffect(() => {
    // The server rendered the first preview with the page.
    if (first.current) {
      first.current = false;
      return;
    }
    const abort = new AbortController();
    setPending(true);
    const timer = setTimeout(() => {
      fetch("/templates/preview", { method: "POST", body: JSON.stringify({ subject, html, text: textPart }), headers: { "content-type": "application/json", accept: "application/json" }, signal: abort.signal })
        .then(async (res) => {
          const body = (await res.json()) as PreviewAnswer;
          setAnswer("preview" in body || body.at ? body : { error: body.error, at: null });
          setPending(false);
        })
        .catch((e: unknown) => {
          if (abort.signal.aborted) return;
          setAnswer({ error: { code: "network", message: `The preview could not be fetched (${e instanceof Error ? e.message : String(e)})` }, at: null });
          setPending(false);
        });
    }, PREVIEW_DEBOUNCE_MS);
    return () => {
      clearTimeout(timer);
      abort.abort();
    };
  }, [subject, html, textPart]);
  return { answer, pending };
}

/** A field's error beside it: "Line 2, column 4: …". */
function FieldError({ id, error }: { id: string; error: TemplateFieldError | null }) {
  if (!error) return null;
  return <p className="field-error" id={id}>{whereText(error)}</p>;
}

export default function TemplatePage() {
  const { template } = useLoaderData<typeof loader>();
  // Another template is another editor: nothing typed in one carries into the next.
  return <TemplateEditor key={template?.id ?? "new"} />;
}

function TemplateEditor() {
  const { template, source, initial } = useLoaderData<typeof loader>();
  const answer = useActionData<typeof action>();
  const busy = useNavigation().state === "submitting";
  const [params] = useSearchParams();
  const [name, setName] = useState(source.name);
  const [subject, setSubject] = useState(source.subject);
  const [html, setHtml] = useState(source.html);
  const [textPart, setTextPart] = useState(source.text ?? "");
  const live = useLivePreview({ subject, html, text: textPart === "" ? null : textPart }, initial);
  // The last preview that rendered stays on screen while the source has an error.
  const [shown, setShown] = useState<TemplatePreview | null>("preview" in initial ? initial.preview : null);
  useEffect(() => {
    if ("preview" in live.answer) setShown(live.answer.preview);
  }, [live.answer]);
  const error = "error" in live.answer ? live.answer.at : null;
  const errorOf = (field: TemplateFieldError["field"]) => (error?.field === field ? error : null);
  const described = (field: TemplateFieldError["field"]) => (errorOf(field) ? { "aria-invalid": true, "aria-describedby": `template-${field}-error` } : {});
  const variables = "preview" in live.answer ? live.answer.preview.variables : (shown?.variables ?? []);
  return (
    <>
      <div className="page-head">
        <div>
          <p><Link to="/templates">← All templates</Link></p>
          <h1>{template ? template.name : "New template"}</h1>
          <p>Liquid runs no code: <code>{"{{ column }}"}</code> reads a column of the list (its header, or its snake_case form), <code>{'| default: "…"'}</code> fills a blank one. Without <code>{"{{ unsubscribe_url }}"}</code>, a footer holding it is added.</p>
        </div>
      </div>
      {answer && "error" in answer && answer.error && <div className="alert error" role="alert">{answer.error.message}</div>}
      {answer && "ok" in answer && answer.ok && <div className="alert ok" role="status">{answer.ok}</div>}
      {!answer && params.get("created") && <div className="alert ok" role="status">The template was created.</div>}
      <div className="editor">
        <Form method="post" className="card" aria-label="Template">
          <div className="field">
            <label htmlFor="template-name">Name</label>
            <input id="template-name" name="name" type="text" required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} placeholder="Spring launch" />
          </div>
          <div className="field">
            <label htmlFor="template-subject">Subject</label>
            <input id="template-subject" name="subject" type="text" required maxLength={MAX_SUBJECT} value={subject} onChange={(e) => setSubject(e.target.value)} className="mono" {...described("subject")} />
            <FieldError id="template-subject-error" error={errorOf("subject")} />
          </div>
          <div className="field">
            <label htmlFor="template-html">HTML</label>
            <textarea id="template-html" name="html" required maxLength={MAX_HTML} rows={14} value={html} onChange={(e) => setHtml(e.target.value)} className="mono" spellCheck={false} {...described("html")} />
            <FieldError id="template-html-error" error={errorOf("html")} />
          </div>
          <div className="field">
            <label htmlFor="template-text">Text (optional)</label>
            <textarea id="template-text" name="text" maxLength={MAX_TEXT} rows={6} value={textPart} onChange={(e) => setTextPart(e.target.value)} className="mono" spellCheck={false} placeholder="Blank: made from the HTML" {...described("text")} />
            <FieldError id="template-text-error" error={errorOf("text")} />
          </div>
          <div className="row">
            <button className="btn primary" type="submit" name="intent" value="save" disabled={busy}>{template ? "Save" : "Create template"}</button>
          </div>
        </Form>
        <section className="card preview" aria-labelledby="preview-title" aria-busy={live.pending}>
          <h2 id="preview-title">Preview</h2>
          <p className="muted">For a sample person (first_name Ada, last_name Lovelace, email ada@example.com, company Analytical Engines); the unsubscribe link here unsubscribes nobody.</p>
          {error && <p className="muted">The template has an error; this is the last version that rendered.</p>}
          {"error" in live.answer && !live.answer.at && <div className="alert error" role="alert">{live.answer.error.message}</div>}
          {shown && (
            <>
              <dl className="evidence">
                <dt>Subject</dt><dd data-testid="preview-subject">{shown.subject}</dd>
              </dl>
              {/* No scripts, no forms, no same-origin access: a template's HTML is the customer's, shown here as mail clients show it. */}
              <iframe title="HTML preview" sandbox="" srcDoc={shown.html} referrerPolicy="no-referrer" />
              <h3>Text</h3>
              <pre aria-label="Text preview" className="text-preview">{shown.text}</pre>
            </>
          )}
          <h3>Variables it reads</h3>
          {variables.length === 0 ? <p className="muted">None.</p> : (
            <ul aria-label="Variables" className="variables">
              {variables.map((v) => <li key={v} className="mono">{v}</li>)}
            </ul>
          )}
        </section>
      </div>
      {template && (
        <details className="card">
          <summary className="btn small danger" aria-label={`Delete ${template.name}`}>Delete this template</summary>
          <Form method="post" style={{ marginTop: ".6rem" }}>
            <button className="btn small danger" type="submit" name="intent" value="delete" aria-label={`Delete template ${template.name} for good`}>Delete it</button>
            <span className="muted"> A template a campaign still uses cannot be deleted.</span>
          </Form>
        </details>
      )}
    </>
  );
}

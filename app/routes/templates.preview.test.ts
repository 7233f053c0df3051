// The template editor's server side against a real sqld: the live preview renders what is typed
// (saved or not) for the sample person, answers a template error with its field, line and column
// (as data, 200, for the page to show beside the field), and the editor's save refuses the same
// template with the same place and creates nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listTemplates } from "../../edge/templates/templates.ts";
import { post, startPageTestbed, type PageTestbed } from "../testing.ts";
import { action as editorAction } from "./templates.$id.tsx";
import { action as previewAction } from "./templates.preview.ts";

let bed: PageTestbed;
beforeAll(async () => {
  bed = await startPageTestbed("templates");
}, 60_000);
afterAll(async () => {
  await bed?.stop();
});

async function preview(cookie: string, source: unknown): Promise<[number, Record<string, unknown>]> {
  const res = (await post(previewAction, bed, "/templates/preview", cookie, { json: source })) as Response;
  return [res.status, (await res.json()) as Record<string, unknown>];
}

describe("POST /templates/preview", () => {
  it("renders the template as typed for the sample person, with the unsubscribe footer it lacks", async () => {
    const { cookie } = await bed.person("writer");
    const [status, body] = await preview(cookie, { subject: "Hi {{ first_name }}", html: "<p>{{ company | upcase }}</p>", text: null });
    expect(status).toBe(200);
    expect(body).toEqual({
      preview: {
        subject: "Hi Ada",
        html: expect.stringContaining("<p>ANALYTICAL ENGINES</p>"),
        text: expect.stringContaining("ANALYTICAL ENGINES"),
        variables: ["company", "first_name", "unsubscribe_url"],
      },
    });
    // No {{ unsubscribe_url }}: the footer holding it was added, pointing at a page that unsubscribes nobody.
    expect((body.preview as { html: string }).html).toContain('href="http://127.0.0.1:8787/u/preview"');
  });

  it("answers a template error with its field, line and column", async () => {
    const { cookie } = await bed.person("writer");
    const [status, body] = await preview(cookie, { subject: "Hi", html: "<p>fine</p>\n<p>{{ company | shout }}</p>", text: null });
    expect(status).toBe(200);
    expect(body).toEqual({ error: { code: "template_invalid", message: expect.stringMatching(/^html line 2, column \d+: .*shout/) }, at: { field: "html", line: 2, column: expect.any(Number), detail: expect.stringContaining("shout") } });
    const [, inText] = await preview(cookie, { subject: "Hi", html: "<p>fine</p>", text: "Hello\n\n{% if first_name %}unclosed" });
    expect(inText.at).toMatchObject({ field: "text", line: 3 });
  });

  it("refuses a body that is not a template", async () => {
    const { cookie } = await bed.person("writer");
    const [status, body] = await preview(cookie, { subject: "Hi", html: 42, text: null });
    expect([status, (body.error as { code: string }).code]).toEqual([400, "validation_failed"]);
  });
});

describe("the template editor's save", () => {
  it("refuses a template that does not parse, naming where, and creates nothing; a fixed one is created", async () => {
    const { cookie, accountId } = await bed.person("writer");
    const form = { intent: "save", name: "Welcome", subject: "Hello", html: "<p>Hi</p>\n<p>{{ company | shout }}</p>", text: "" };
    expect(await post(editorAction, bed, "/templates/new", cookie, form, { id: "new" })).toEqual({
      error: { code: "template_invalid", message: expect.stringMatching(/^html line 2, column/) },
      at: { field: "html", line: 2, column: expect.any(Number), detail: expect.any(String) },
    });
    const who = { accountId, actor: "templates.test" };
    expect((await listTemplates(bed.context.services, who, { limit: 10 })).data).toEqual([]);
    const created = (await post(editorAction, bed, "/templates/new", cookie, { ...form, html: "<p>Hi {{ company }}</p>" }, { id: "new" })) as Response;
    const [made] = (await listTemplates(bed.context.services, who, { limit: 10 })).data;
    expect([created.status, created.headers.get("location")]).toEqual([302, `/templates/${made!.id}?created=1`]);
    expect(made).toMatchObject({ name: "Welcome", text: null, variables: ["company", "unsubscribe_url"] });
  });
});

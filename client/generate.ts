// `npm run client:generate`: writes client/openapi.json (the document the Worker serves) and
// client/schema.d.ts (its types), which client/document.test.ts holds to the routes.
import { writeFileSync } from "node:fs";
import { register } from "node:module";

// workerd's `cloudflare:workers` is only needed by the JobHub class, never by the document.
register(
  `data:text/javascript,${encodeURIComponent(
    `export async function resolve(s, c, next) { return s === "cloudflare:workers" ? { url: "data:text/javascript,export class DurableObject {}", shortCircuit: true } : next(s, c); }`,
  )}`,
);
const { DOCUMENT_PATH, TYPES_PATH, schemaTypes, servedDocumentText } = await import("./document.ts");
const text = await servedDocumentText();
writeFileSync(DOCUMENT_PATH, text);
writeFileSync(TYPES_PATH, await schemaTypes(text));
process.stdout.write(`wrote ${DOCUMENT_PATH} and ${TYPES_PATH}\n`);

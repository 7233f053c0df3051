// The API reference inside the web app (/docs/reference): the same HTML as /api/v1/docs, from the
// same OpenAPI document (edge/api/docs.ts), so the two cannot drift apart.
export { referenceHtml } from "../../edge/api/docs.ts";

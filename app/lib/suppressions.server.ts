// The edge's suppressions capability as the pages use it: list (by reason, one address), add,
// remove, import a CSV and export the list.
export { addSuppression, exportSuppressions, listSuppressions, removeSuppression } from "../../edge/suppressions/suppressions.ts";
export type { SuppressionView } from "../../edge/suppressions/suppressions.ts";
export { importSuppressions, MAX_IMPORT_ROWS, type ImportCounts } from "../../edge/suppressions/import.ts";

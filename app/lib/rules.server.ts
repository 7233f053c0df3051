// The edge's rules capability as the pages use it (/rules, the job page): the account's rules,
// changing them, and what they would do to the latest list.
export { getRules, putRules, validRules } from "../../edge/rules/rules.ts";
export { previewRules, type RulesPreview } from "../../edge/rules/preview.ts";

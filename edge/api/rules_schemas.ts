// Schemas of the rules operations (edge/api/v1_account_rules_*.ts): core/rules.ts's schema, named
// in the document. Every field may be left out of a PUT (it takes its default); an unknown field
// is refused, so a misspelt rule never passes as the default.
import { DEFAULT_RULES, RulesSchema } from "../../core/rules.ts";

export const RulesOpenApiSchema = RulesSchema.openapi("Rules", {
  description:
    "What `safe_to_send` means for this account. `undeliverable` and `unknown` are never safe to send; a result is safe when its verdict is " +
    "`deliverable` (or `risky`, where allowed) and no rule refuses it.",
  example: { ...DEFAULT_RULES, free: "refuse", min_score: 50 },
});

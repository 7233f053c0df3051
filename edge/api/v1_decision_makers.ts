// POST /api/v1/decision-makers: a domain's founders and heads (People Data Labs or Apollo, when
// configured), each one's address found by our finder. Without a provider it is a 501
// `people_data_off`. Sends `dm.enriched` to subscribed webhooks.
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import { FindAnswerSchema } from "../../core/contracts.ts";
import { DEFAULT_TITLES } from "../adapters/peopledata.ts";
import { findPerson } from "../finder/find.ts";
import { whoOf } from "./auth.ts";
import { requestId } from "./errors.ts";
import { spendAccountAllowance } from "./middleware.ts";
import { DEFAULT_DECISION_MAKERS, findDecisionMakers, MAX_DECISION_MAKERS, peopleDataOn, type Finder } from "../finder/decisionmakers.ts";
import type { AppEnv } from "./app.ts";
import { COMMON_ERRORS, errorResponse } from "./schemas.ts";

const RequestSchema = z
  .object({
    domain: z.string().min(1).max(2_048).openapi({ example: "example.com", description: "A domain, or the company's website URL" }),
    titles: z
      .array(z.string().min(1).max(100))
      .max(20)
      .optional()
      .openapi({ example: ["ceo", "head of sales"], description: `Job titles to look for; default: ${DEFAULT_TITLES.join(", ")}` }),
    limit: z
      .number()
      .int()
      .min(1)
      .max(MAX_DECISION_MAKERS)
      .optional()
      .openapi({ example: DEFAULT_DECISION_MAKERS, description: `People at most (≤ ${MAX_DECISION_MAKERS}; default ${DEFAULT_DECISION_MAKERS})` }),
  })
  .openapi("DecisionMakersRequest");

const DecisionMakersSchema = z
  .object({
    domain: z.string().openapi({ example: "example.com" }),
    provider: z.enum(["pdl", "apollo"]).openapi({ description: "Who listed the people: People Data Labs or Apollo" }),
    people: z.array(
      z.object({
        full_name: z.string(),
        first_name: z.string(),
        last_name: z.string(),
        title: z.string().nullable(),
        seniority: z.string().nullable(),
        linkedin_url: z.string().nullable(),
        provider_email: z.string().nullable().openapi({
          description: "The provider's address for the person, as the provider gave it, shown only when this person's find was paid (`find.email` is set); our finder asks it first, and `find` is our answer",
        }),
        find: FindAnswerSchema.nullable().openapi({ description: "The address found, as `POST /api/v1/find` answers it; null when not looked for" }),
        find_error: z
          .object({ code: z.string(), message: z.string() })
          .nullable()
          .openapi({ description: "Why `find` is null (e.g. `insufficient_credits`: the rest were not looked for)" }),
      }),
    ),
  })
  .openapi("DecisionMakers");

const route = createRoute({
  method: "post",
  path: "/api/v1/decision-makers",
  operationId: "findDecisionMakers",
  summary: "A domain's decision makers, with their addresses",
  description:
    "Lists the people of a domain with decision-making titles from the people-data provider configured here (People Data Labs, " +
    "else Apollo), then finds each one's address as `POST /api/v1/find` does. Each address found costs what a find costs; the " +
    "listing itself costs nothing but needs a balance of at least one credit, and lists at most as many people as the balance " +
    "could pay finds for. `provider_email` is shown only beside a paid find. Each account may ask the provider a limited number " +
    "of new questions a UTC day. Counts `limit` requests against the account's shared rate limit. Sends `dm.enriched` to " +
    "subscribed webhooks.",
  tags: ["Decision makers"],
  security: [{ bearer: [] }],
  request: { body: { required: true, content: { "application/json": { schema: RequestSchema } } } },
  responses: {
    200: { description: "The people, each with the address found or why none was", content: { "application/json": { schema: DecisionMakersSchema } } },
    400: errorResponse("`invalid_json` or `validation_failed` (no domain, a bad limit)"),
    402: errorResponse("No credits left (`insufficient_credits`): the provider was not asked"),
    501: errorResponse("No people-data provider is configured here (`people_data_off`)"),
    503: errorResponse("The provider failed or limited us (`people_data_unavailable`, with Retry-After)"),
    ...COMMON_ERRORS,
    429: errorResponse(
      "Rate limited (`rate_limited`, see RateLimit-* headers; this request counts `limit` against the account's limit), or the account's lookups of the provider for the UTC day are used " +
        "(`people_data_limit`, MXRAY_PEOPLE_DATA_PER_DAY; a question already answered today is still free); see Retry-After",
    ),
  },
});

export function registerDecisionMakers(api: OpenAPIHono<AppEnv>): void {
  api.openapi(route, async (c) => {
    const body = c.req.valid("json");
    // One find per person asked for: the request's own unit was counted by the middleware.
    if (peopleDataOn(c.var.services)) await spendAccountAllowance(c, Math.min(body.limit ?? DEFAULT_DECISION_MAKERS, MAX_DECISION_MAKERS) - 1);
    // Each person's find is charged under its own key: one request finds many addresses.
    const who = whoOf(c);
    const finder: Finder = (person, key) => findPerson(c.var.services, who, { find: person, chargeKey: `${requestId(c)}:${key}` });
    return c.json(await findDecisionMakers(c.var.services, who, body, finder), 200);
  });
}

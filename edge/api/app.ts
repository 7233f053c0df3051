// The Hono environment every route shares: bindings, and what middleware puts on the context.
import { OpenAPIHono } from "@hono/zod-openapi";
import type { Services } from "../context.ts";
import { ApiError } from "./errors.ts";

export interface AppVars {
  services: Services;
  requestId: string;
  /** Set by requireApiKey (or a live token on /ws). */
  accountId: string;
  keyId: string | null;
  /** Set when a publishable key made the request (edge/api/publishable.ts): the page's origin. */
  publishableOrigin?: string;
}

export type AppEnv = { Bindings: Env; Variables: AppVars };

/** The API's router: every /api/v1 operation registers here, so one document describes them. */
export function createApi(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        const issues = result.error.issues.map((i) => `${i.path.map(String).join(".") || "body"}: ${i.message}`).join("; ");
        throw new ApiError("validation_failed", issues);
      }
    },
  });
}

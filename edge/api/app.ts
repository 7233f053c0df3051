// The Hono environment every route shares: bindings, and what middleware puts on the context.
import type { AuthVars } from "./auth.ts";

export type AppEnv = { Bindings: Env; Variables: AuthVars };

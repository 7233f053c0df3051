// GET /internal/meter (local runs only): the cost counters (edge/meter.ts) for the cost-model
// benchmark; POST resets them. Needs the dev key, which only local mode honours.
import type { Hono } from "hono";
import { hashApiKey } from "../../core/apikeys.ts";
import { meter, resetMeter } from "../meter.ts";
import { isDevKeyHash } from "../identity/keys.ts";
import type { AppEnv } from "./app.ts";
import { ApiError } from "./errors.ts";

export function registerMeter(app: Hono<AppEnv>): void {
  app.on(["GET", "POST"], "/internal/meter", async (c) => {
    const bearer = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "")?.[1];
    if (!bearer || !(await isDevKeyHash(c.var.services.config, await hashApiKey(bearer)))) throw new ApiError("not_found", "No route for this request");
    if (c.req.method === "POST") resetMeter();
    return c.json({ ...meter });
  });
}

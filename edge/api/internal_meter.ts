// GET /internal/meter (local runs only): the cost counters (edge/meter.ts) for the cost-model
// benchmark; POST resets them. Needs the local dev key; absent in production (no dev key set).
import type { Hono } from "hono";
import { meter, resetMeter } from "../meter.ts";
import type { AppEnv } from "./app.ts";
import { ApiError } from "./errors.ts";

export function registerMeter(app: Hono<AppEnv>): void {
  app.on(["GET", "POST"], "/internal/meter", (c) => {
    const devKey = c.var.services.config.MXRAY_DEV_API_KEY;
    if (!devKey || c.req.header("authorization") !== `Bearer ${devKey}`) throw new ApiError("not_found", "No route for this request");
    if (c.req.method === "POST") resetMeter();
    return c.json({ ...meter });
  });
}

// GET /internal/metrics: Prometheus text for operators (issue 13), behind a bearer token
// (MXRAY_METRICS_TOKEN, compared in constant time). Without the token configured it does not
// answer at all. GET /healthz says whether the database answers (503 when it does not).
import type { Hono } from "hono";
import { constantTimeEqual } from "../../core/signing.ts";
import { collectMetrics, databaseReachable, renderMetrics } from "../admin/metrics.ts";
import type { AppEnv } from "./app.ts";
import { ApiError } from "./errors.ts";

export function registerMetrics(app: Hono<AppEnv>): void {
  app.get("/internal/metrics", async (c) => {
    const token = c.var.services.config.MXRAY_METRICS_TOKEN;
    if (!token) throw new ApiError("not_configured", "Metrics are off here (MXRAY_METRICS_TOKEN)");
    const bearer = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "")?.[1] ?? "";
    if (!constantTimeEqual(bearer, token)) throw new ApiError("unauthorized", "A bearer token is required (MXRAY_METRICS_TOKEN)");
    return c.body(renderMetrics(await collectMetrics(c.var.services)), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8", "cache-control": "no-store" });
  });

  app.get("/healthz", async (c) => {
    const database = await databaseReachable(c.var.services);
    return c.json({ ok: database, service: "mxray-edge", database: database ? "ok" : "unreachable" }, database ? 200 : 503);
  });
}

import { exports } from "cloudflare:workers";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { ServiceError } from "../errors.ts";
import { ApiError, installErrorHandling } from "./errors.ts";

type Envelope = { error: { code: string; message: string; requestId: string } };

describe("error envelope", () => {
  it("answers unknown routes of the Worker with not_found", async () => {
    const res = await exports.default.fetch("http://edge.test/internal/nope");
    expect(res.status).toBe(404);
    const body = (await res.json()) as Envelope;
    expect(body.error.code).toBe("not_found");
    expect(body.error.requestId).toMatch(/^req_/);
    expect(res.headers.get("x-request-id")).toBe(body.error.requestId);
  });

  it("maps thrown ApiErrors to their status with headers, and hides bugs behind internal", async () => {
    const app = new Hono();
    app.get("/limited", () => {
      throw new ApiError("rate_limited", "Slow down", { "retry-after": "7" });
    });
    app.get("/bug", () => {
      throw new TypeError("x is undefined");
    });
    installErrorHandling(app);
    const limited = await app.request("/limited");
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("7");
    expect(((await limited.json()) as Envelope).error).toMatchObject({ code: "rate_limited", message: "Slow down" });
    const bug = await app.request("/bug");
    expect(bug.status).toBe(500);
    const body = (await bug.json()) as Envelope;
    expect(body.error.code).toBe("internal");
    expect(body.error.message).not.toMatch(/undefined/);
  });

  it("maps a service's error by its code, found through wrappers (drizzle's Failed query), with Retry-After", async () => {
    const app = new Hono();
    app.get("/down", () => {
      const cause = new ServiceError("unavailable", "The database is not answering", 5, { cause: new TypeError("fetch failed") });
      throw new Error("Failed query: select 1", { cause });
    });
    app.get("/missing", () => {
      throw new ServiceError("not_found", "No job job_x");
    });
    installErrorHandling(app);
    const down = await app.request("/down");
    expect([down.status, down.headers.get("retry-after")]).toEqual([503, "5"]);
    expect(((await down.json()) as Envelope).error.code).toBe("unavailable");
    const missing = await app.request("/missing");
    expect([missing.status, ((await missing.json()) as Envelope).error.code, missing.headers.get("retry-after")]).toEqual([404, "not_found", null]);
  });
});

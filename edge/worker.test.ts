// Runs inside workerd (the Workers runtime) through @cloudflare/vitest-pool-workers.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

describe("worker", () => {
  it("answers /healthz from inside workerd", async () => {
    const res = await exports.default.fetch("http://edge.test/healthz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, service: "mxray-edge", database: "ok" });
  });

  it("sends the browser-hardening headers on every answer, errors included", async () => {
    for (const url of ["http://edge.test/healthz", "http://edge.test/api/v1/jobs", "https://edge.test/api/v1/nope"]) {
      const res = await exports.default.fetch(url);
      expect(res.headers.get("x-frame-options"), url).toBe("DENY");
      expect(res.headers.get("content-security-policy"), url).toContain("frame-ancestors 'none'");
      expect(res.headers.get("x-content-type-options"), url).toBe("nosniff");
      expect(res.headers.get("referrer-policy"), url).toBe("strict-origin-when-cross-origin");
    }
    expect((await exports.default.fetch("https://edge.test/healthz")).headers.get("strict-transport-security")).toBe("max-age=31536000");
    expect((await exports.default.fetch("http://edge.test/healthz")).headers.get("strict-transport-security")).toBeNull();
  });
});

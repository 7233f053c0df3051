// Runs inside workerd (the Workers runtime) through @cloudflare/vitest-pool-workers.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

describe("worker", () => {
  it("answers /healthz from inside workerd", async () => {
    const res = await exports.default.fetch("http://edge.test/healthz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, service: "mxray-edge" });
  });
});

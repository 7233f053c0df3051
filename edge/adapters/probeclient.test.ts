// The real probe client inside workerd against a scripted stand-in probe on loopback
// (e2e/standin-probe.ts, started by vitest.workers.config.ts): every failure is a value.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { lazyBody } from "../../core/testing.ts";
import { createHttpProbeClient, MAX_PROBE_ANSWER_BYTES } from "./probeclient.ts";

const client = createHttpProbeClient({ secret: env.PROBE_SECRET });
const at = (mode: string) => ({ id: `prb_${mode}`, url: `${env.STANDIN_PROBE_URL}/${mode}/prb_${mode}/` });
const calls = async (email: string) => ((await (await fetch(`${env.STANDIN_PROBE_URL}/calls?email=${encodeURIComponent(email)}`)).json()) as { count: number }).count;

describe("createHttpProbeClient", () => {
  it("sends a signed check with the budget and returns the probe's result", async () => {
    const answer = await client.verify(at("ok"), { email: "gone.pc@example.com" }, 3_000);
    expect(answer).toMatchObject({ ok: true, result: { email: "gone.pc@example.com", verdict: "undeliverable", reason: "mailbox_not_found" } });
    expect(await calls("gone.pc@example.com")).toBe(1);
  });

  it("returns an error status, a body that is not a result and a refused signature as failures", async () => {
    expect(await client.verify(at("error"), { email: "a.pc@example.com" }, 3_000)).toMatchObject({ ok: false, error: "http_status", status: 503 });
    expect(await client.verify(at("garbage"), { email: "a.pc@example.com" }, 3_000)).toMatchObject({ ok: false, error: "bad_body" });
    const forged = createHttpProbeClient({ secret: "not-the-probe-secret-at-all" });
    expect(await forged.verify(at("ok"), { email: "b.pc@example.com" }, 3_000)).toMatchObject({ ok: false, error: "http_status", status: 401 });
    expect(await calls("b.pc@example.com")).toBe(0);
    // Signed for the probe asked: a probe whose id is not the one signed for refuses it.
    const misnamed = { id: "prb_someone_else", url: `${env.STANDIN_PROBE_URL}/ok/prb_ok/` };
    expect(await client.verify(misnamed, { email: "c.pc@example.com" }, 3_000)).toMatchObject({ ok: false, error: "http_status", status: 401 });
    expect(await calls("c.pc@example.com")).toBe(0);
  });

  it("gives up on a probe that never answers after its budget and the slack", async () => {
    // The probe holds the request open for ever, so only the client's own deadline can end it.
    const impatient = createHttpProbeClient({ secret: env.PROBE_SECRET, slackMs: 50 });
    expect(await impatient.verify(at("hang"), { email: "c.pc@example.com" }, 1)).toMatchObject({ ok: false, error: "timeout" });
  });

  it("returns a probe that cannot be reached as a failure", async () => {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    expect(await client.verify({ id: "prb_gone", url: "http://127.0.0.1:1" }, { email: "d.pc@example.com" }, 3_000)).toMatchObject({ ok: false, error: "unreachable" });
  });

  it("cuts off an answer longer than any result, before it fills the Worker's memory", async () => {
    const { stream, state } = lazyBody(200 * 1024 * 1024, 64 * 1024);
    const flooding = createHttpProbeClient({ secret: env.PROBE_SECRET, fetch: async () => new Response(stream, { status: 200 }) });
    expect(await flooding.verify(at("ok"), { email: "e.pc@example.com" }, 3_000)).toMatchObject({ ok: false, error: "bad_body" });
    expect(state.pulled).toBeLessThanOrEqual(MAX_PROBE_ANSWER_BYTES + 64 * 1024);
    expect(state.cancelled).toBe(true);
  });
});

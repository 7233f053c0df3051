// A scripted stand-in for a probe's POST /v1/verify on loopback, for the Worker's tests in workerd
// (started on the Node side by vitest.workers.config.ts). It checks the signature as a real probe
// does, and behaves as the first path segment says, so one server is a fleet of probes; the second
// is the probe's id, which a real probe knows as PROBE_ID and the signature must name:
//   /ok/<id>/v1/verify       answers a result: "unknown.…" → unknown, "gone.…" → undeliverable, else deliverable
//   /error/<id>/v1/verify    503, as a probe draining or failing does
//   /garbage/<id>/v1/verify  200 with a body that is not a result
//   /hang/<id>/v1/verify     never answers (the client's timeout must end it)
// GET /calls?email=… says how many signed checks of that address reached it, any path.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { VerifyRequestSchema, type Result } from "../core/contracts.ts";
import { buildResult } from "../core/result.ts";
import { SIGNATURE_HEADER, verifySignature } from "../core/signing.ts";
import type { Facts } from "../core/verdict.ts";

export const STANDIN_PROBE_MODES = ["ok", "error", "garbage", "hang"] as const;
export type StandInProbeMode = (typeof STANDIN_PROBE_MODES)[number];

const MX = "mx.standin.test";

function resultFor(email: string): Result {
  const local = email.split("@")[0] ?? "";
  const base: Omit<Facts, "smtp"> = { syntax: { ok: true }, disposable: false, role: false, free: false, dns: { kind: "mx", hosts: [MX] }, catchAll: false };
  const smtp: Facts["smtp"] = local.startsWith("unknown.")
    ? { kind: "timeout", mx: MX, phase: "rcpt" }
    : local.startsWith("gone.")
      ? { kind: "reply", rcpt: "mailbox_not_found", mx: MX, reply: { code: 550, enhanced: "5.1.1", message: "No such user" } }
      : { kind: "reply", rcpt: "accepted", mx: MX, reply: { code: 250, enhanced: "2.1.5", message: "Ok" } };
  return buildResult({ email, normalized: email.toLowerCase(), facts: { ...base, smtp }, mx: MX, smtp: smtp.kind === "reply" ? smtp.reply : null });
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

export async function startStandInProbe(opts: { secret: string }): Promise<{ url: string; close(): Promise<void> }> {
  const calls = new Map<string, number>();
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://standin");
    if (req.method === "GET" && url.pathname === "/calls") return send(res, 200, { count: calls.get(url.searchParams.get("email") ?? "") ?? 0 });
    const [, mode, probeId, ...rest] = url.pathname.split("/");
    if (req.method !== "POST" || !probeId || rest.join("/") !== "v1/verify" || !STANDIN_PROBE_MODES.includes(mode as StandInProbeMode)) return send(res, 404, { error: "not_found" });
    const body = await readBody(req);
    // Signed for the probe's own route and for this probe: the prefix is this stand-in's, as a proxy's would be.
    const signed = await verifySignature([opts.secret], req.headers[SIGNATURE_HEADER] as string | undefined, { method: "POST", path: "/v1/verify", audience: probeId }, body);
    if (!signed.ok) return send(res, 401, { error: "bad_signature" });
    const parsed = VerifyRequestSchema.safeParse(JSON.parse(body));
    if (!parsed.success) return send(res, 400, { error: "invalid_request" });
    calls.set(parsed.data.email, (calls.get(parsed.data.email) ?? 0) + 1);
    switch (mode as StandInProbeMode) {
      case "ok":
        return send(res, 200, resultFor(parsed.data.email));
      case "error":
        return send(res, 503, { error: "draining" });
      case "garbage":
        return send(res, 200, { verdict: "maybe" });
      case "hang":
        return; // the connection stays open until the client gives up or the server closes
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  server.unref(); // like sqld here: never keeps the test runner alive
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

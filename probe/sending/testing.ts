// Test helpers for sending (no production code imports it): a stand-in for the edge's claim
// endpoint, and relays pointing at a relay sink with their passwords sealed as the edge seals them.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { RelayWire, SendClaim } from "../../core/contracts.ts";
import { probeTransportKey, seal } from "../../core/secrets.ts";
import { SIGNATURE_HEADER, verifySignature } from "../../core/signing.ts";
import type { RelaySink } from "../../e2e/relay-sink.ts";
import { SEND_CLAIM_PATH } from "./sendbatch.ts";

/**
 * The edge's claim endpoint as far as a probe can tell: it takes only requests signed with the
 * probe secret for its path, and grants each id once, ever. `stopAt`: from that claim on, it
 * answers `stop: "paused"` (the campaign was paused).
 */
export async function startClaimEdge(secret: string, opts: { stopAt?: number } = {}) {
  const granted = new Set<number>();
  const claims: SendClaim[] = [];
  let refusedSignatures = 0;
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", async () => {
      const checked = await verifySignature([secret], req.headers[SIGNATURE_HEADER] as string | undefined, { method: "POST", path: req.url ?? "" }, body);
      if (!checked.ok || req.url !== SEND_CLAIM_PATH) {
        refusedSignatures++;
        return res.writeHead(401).end();
      }
      const claim = JSON.parse(body) as SendClaim;
      claims.push(claim);
      const stop = opts.stopAt !== undefined && claims.length >= opts.stopAt ? "paused" : null;
      const claimed = stop ? [] : claim.ids.filter((id) => !granted.has(id));
      for (const id of claimed) granted.add(id);
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ claimed, stop }));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    claims,
    refusedSignatures: () => refusedSignatures,
    close: () => new Promise<void>((r) => (server.close(() => r()), server.closeAllConnections())),
  };
}

/** A relay at the sink (or any relay on loopback), its password sealed under the probe transport key for its id. */
export async function sinkRelay(sink: Pick<RelaySink, "host" | "port">, secret: string, id: string, user: string, password: string, over: Partial<RelayWire> = {}): Promise<RelayWire> {
  const sealed = await seal(await probeTransportKey(secret), { purpose: "relay.password", recordId: id }, password);
  return { id, host: sink.host, port: sink.port, security: "starttls", username: user, password: sealed, max_per_minute: 10_000, max_per_day: 1_000_000, ...over };
}

// A webhook receiver on loopback for the Worker's tests (started on the Node side by
// vitest.workers.config.ts, and by e2e/webhooks.test.ts). It records every POST and answers as
// the path says:
//   /ok/…            200
//   /status/NNN/…    NNN (e.g. /status/410/… for Gone, /status/500/… for a failure)
//   /redirect/…      302 to /ok/… (a redirect must count as a failure, not be followed)
// GET /_log?prefix=/ok/abc lists what was received under that path prefix, oldest first.
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedWebhook {
  path: string;
  headers: Record<string, string>;
  body: string;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export async function startStandInReceiver(): Promise<{ url: string; received: ReceivedWebhook[]; close(): Promise<void> }> {
  const received: ReceivedWebhook[] = [];
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://receiver");
    if (req.method === "GET" && url.pathname === "/_log") {
      const prefix = url.searchParams.get("prefix") ?? "/";
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(JSON.stringify(received.filter((r) => r.path.startsWith(prefix))));
    }
    const body = await readBody(req);
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : (v ?? "")]));
    received.push({ path: url.pathname, headers, body });
    const [, mode, code] = url.pathname.split("/");
    if (mode === "status" && /^\d{3}$/.test(code ?? "")) {
      res.writeHead(Number(code), { "content-type": "text/plain" });
      return res.end(`answered ${code}`);
    }
    if (mode === "redirect") {
      res.writeHead(302, { location: url.pathname.replace(/^\/redirect\//, "/ok/") });
      return res.end();
    }
    res.writeHead(mode === "ok" ? 200 : 404, { "content-type": "application/json" });
    res.end(JSON.stringify({ received: true, filler: "x".repeat(400) }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  server.unref();
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

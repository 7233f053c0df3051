// What the hubs share (edge/jobhub.ts, edge/campaignhub.ts): one Durable Object per thing watched,
// whose `fetch` only accepts a WebSocket and whose messages go to every socket, each in its own
// try/catch. Hibernation-friendly: sockets are the runtime's.
import { DurableObject } from "cloudflare:workers";

export abstract class LiveHub<Message> extends DurableObject<Env> {
  /** Accepts the upgrade; `first` (where the thing stands, if known) goes to this socket alone. */
  protected async accept(request: Request, first: () => Promise<Message | null>): Promise<Response> {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("expected a WebSocket upgrade", { status: 426 });
    }
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    this.ctx.acceptWebSocket(server);
    const message = await first();
    if (message) server.send(JSON.stringify(message));
    return new Response(null, { status: 101, webSocket: client });
  }

  protected broadcast(message: Message): void {
    const text = JSON.stringify(message);
    for (const ws of this.ctx.getWebSockets()) {
      try {
        ws.send(text);
      } catch {
        // a socket that went away; the runtime closes it
      }
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    // 1005/1006 are reserved: they may not be sent back (STACK.md note 11).
    ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
  }
}

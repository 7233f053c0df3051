// Connections to the probe's HTTP server that have not shown a valid signature yet, capped per
// source address (issue 21). The edge and QStash present their signature in the first request's
// headers, within milliseconds of connecting; an attacker who holds no key never does. So each
// source may keep at most MAX_UNAUTHENTICATED_PER_SOURCE connections that have not signed, and a
// newcomer beyond that closes the oldest of them instead of being refused: a legitimate caller
// behind the same address (the edge behind a NAT, or on loopback in tests and `npm start`) always
// gets its turn to sign, while a source that never signs holds at most that many sockets. Once a
// request on a connection has signed, the connection no longer counts (keep-alive reuse is free).
import type { Server } from "node:http";
import type { Socket } from "node:net";

/** Connections one address may hold open before any of them has signed. */
export const MAX_UNAUTHENTICATED_PER_SOURCE = 8;

export interface ConnectionGuard {
  /** The socket's request carried a valid signature: it leaves its source's count. */
  authenticated(socket: Socket): void;
  /** Connections from this address (as the socket reports it) that have not signed. */
  unauthenticated(source: string): number;
}

/** "::ffff:1.2.3.4" and "1.2.3.4" are the same sender. */
function sourceOf(socket: Socket): string {
  const address = socket.remoteAddress ?? "unknown";
  return address.startsWith("::ffff:") ? address.slice("::ffff:".length) : address;
}

export function guardConnections(server: Server, perSource = MAX_UNAUTHENTICATED_PER_SOURCE): ConnectionGuard {
  // Oldest first, per source; a socket leaves when it signs or closes.
  const pending = new Map<string, Socket[]>();
  const sources = new WeakMap<Socket, string>();

  function forget(socket: Socket): void {
    const source = sources.get(socket);
    if (source === undefined) return;
    sources.delete(socket);
    const list = pending.get(source);
    if (!list) return;
    const i = list.indexOf(socket);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) pending.delete(source);
  }

  server.on("connection", (socket: Socket) => {
    const source = sourceOf(socket);
    const list = pending.get(source) ?? [];
    pending.set(source, list);
    list.push(socket);
    sources.set(socket, source);
    socket.once("close", () => forget(socket));
    while (list.length > perSource) {
      const oldest = list[0]!;
      forget(oldest);
      oldest.destroy();
    }
  });

  return {
    authenticated: forget,
    unauthenticated: (source) => pending.get(source)?.length ?? 0,
  };
}

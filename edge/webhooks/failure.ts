// Why an attempt got no answer, in words a customer can act on (issue 26). workerd's fetch reports
// a refused connection, a reset and a connection dropped before the answer alike, as
// "Network connection lost." (its kj log holds "connect(): Connection refused", the Error does not),
// so on that message a bare TCP connect to the same host and port tells refused from lost.
// cloudflare:sockets is imported when needed: Node tools (the OpenAPI generator) load this module's graph.

/** How long the diagnostic connect may take: it only runs after a failure, and the attempt is already over. */
const PROBE_CONNECT_MS = 3_000;

const portOf = (url: URL) => Number(url.port || (url.protocol === "https:" ? 443 : 80));

/** Whether a TCP connection to host:port opens (true), is refused or unreachable (false). */
async function accepts(host: string, port: number): Promise<boolean> {
  let socket: Socket | null = null;
  try {
    const { connect } = await import("cloudflare:sockets");
    socket = connect({ hostname: host, port });
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error("timeout")), PROBE_CONNECT_MS));
    await Promise.race([socket.opened, timeout]);
    return true;
  } catch {
    return false;
  } finally {
    socket?.close().catch(() => {});
  }
}

/**
 * The attempt's error text for a fetch that threw: "timed out after 10 s", "Connection refused by
 * host:port", "TLS failed: …", "connection lost before an answer from host:port", or the message.
 */
export async function describeFetchFailure(error: unknown, url: URL, timeoutMs: number): Promise<string> {
  const name = error instanceof Error ? error.name : "";
  const message = error instanceof Error ? error.message : String(error);
  const where = `${url.hostname}:${portOf(url)}`;
  if (name === "TimeoutError" || name === "AbortError") return `timed out after ${timeoutMs / 1000} s: no answer from ${where}`;
  if (/\b(tls|ssl|certificate|handshake)\b/i.test(message)) return `TLS failed with ${where}: ${message}`;
  if (/network connection lost/i.test(message)) {
    return (await accepts(url.hostname, portOf(url))) ? `connection lost before an answer from ${where}` : `Connection refused by ${where}`;
  }
  if (/^internal error/i.test(message)) return `could not connect to ${where} (DNS lookup or connection failed)`;
  return `request failed: ${message}`;
}

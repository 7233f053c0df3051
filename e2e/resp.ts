// A minimal RESP2 client (https://redis.io/docs/latest/develop/reference/protocol-spec/) for the
// local Redis: the bridge and the start-up check need only "send these commands on one
// connection, in order, and give me the replies", which is all this does.
import net from "node:net";

/** A Redis error reply (`-ERR …`): a value, since a pipeline answers errors and results side by side. */
export class RespError {
  constructor(readonly message: string) {}
}

/** Status replies are strings, bulk strings Buffers (binary-safe), nil is null. */
export type RespValue = string | number | Buffer | null | RespError | RespValue[];

/** Parses one reply at `at`; undefined while the buffer holds only part of it. */
function parseReply(buf: Buffer, at: number): [RespValue, number] | undefined {
  const eol = buf.indexOf("\r\n", at);
  if (eol < 0) return undefined;
  const line = buf.toString("utf8", at + 1, eol);
  const next = eol + 2;
  switch (buf[at]) {
    case 0x2b: // +
      return [line, next];
    case 0x2d: // -
      return [new RespError(line), next];
    case 0x3a: // :
      return [Number(line), next];
    case 0x24: { // $
      const n = Number(line);
      if (n < 0) return [null, next];
      if (buf.length < next + n + 2) return undefined;
      return [buf.subarray(next, next + n), next + n + 2];
    }
    case 0x2a: { // *
      const n = Number(line);
      if (n < 0) return [null, next];
      const items: RespValue[] = [];
      let pos = next;
      for (let i = 0; i < n; i++) {
        const item = parseReply(buf, pos);
        if (!item) return undefined;
        items.push(item[0]);
        pos = item[1];
      }
      return [items, pos];
    }
    default:
      throw new Error(`unexpected RESP reply type ${JSON.stringify(String.fromCharCode(buf[at]!))}`);
  }
}

function encodeCommand(args: readonly (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = typeof arg === "string" ? Buffer.from(arg) : arg;
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from("\r\n"));
  }
  return Buffer.concat(parts);
}

export interface RespConnection {
  /** Sends the commands pipelined and resolves with their replies in order. */
  send(commands: readonly (readonly (string | Buffer)[])[]): Promise<RespValue[]>;
  /** False once the socket failed or closed: the connection must not be reused. */
  readonly usable: boolean;
  close(): void;
}

export async function connectResp(opts: { port: number; password?: string }): Promise<RespConnection> {
  const socket = net.connect({ host: "127.0.0.1", port: opts.port });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  let usable = true;
  let buffered = Buffer.alloc(0);
  const waiting: { resolve(v: RespValue): void; reject(e: Error): void }[] = [];
  const fail = (e: Error) => {
    usable = false;
    for (const w of waiting.splice(0)) w.reject(e);
    socket.destroy();
  };
  socket.on("data", (chunk) => {
    buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
    let pos = 0;
    try {
      for (let reply = parseReply(buffered, pos); reply; reply = parseReply(buffered, pos)) {
        pos = reply[1];
        const w = waiting.shift();
        if (!w) throw new Error("a reply nobody asked for");
        w.resolve(reply[0]);
      }
    } catch (e) {
      return fail(e as Error);
    }
    buffered = buffered.subarray(pos);
    if (waiting.length === 0) socket.unref();
  });
  socket.on("error", fail);
  socket.on("close", () => fail(new Error("the Redis connection closed")));

  const connection: RespConnection = {
    send(commands) {
      if (!usable) return Promise.reject(new Error("the Redis connection is closed"));
      const replies = commands.map(() => new Promise<RespValue>((resolve, reject) => waiting.push({ resolve, reject })));
      socket.ref(); // an idle connection (a pooled one) never keeps the process alive; a waiting one does
      socket.write(Buffer.concat(commands.map(encodeCommand)));
      return Promise.all(replies);
    },
    get usable() {
      return usable;
    },
    close() {
      usable = false;
      socket.end();
    },
  };
  if (opts.password !== undefined) {
    const [auth] = await connection.send([["AUTH", opts.password]]);
    if (auth instanceof RespError) {
      connection.close();
      throw new Error(`Redis refused the password: ${auth.message}`);
    }
  }
  return connection;
}

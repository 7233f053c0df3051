// Issue 21's contract on the local stack: while 32 unsigned connections trickle bodies to a probe
// (each announcing a 2 MiB batch, then a byte at a time), a single check through the edge
// (`POST /api/v1/verify`) still gets its answer. Before the fix, sixteen such sockets took the
// probe's whole 32 MiB body budget before any signature was looked at, and every later batch and
// check answered `429 busy` for Node's five-minute request timeout. The attackers and the edge
// both connect from 127.0.0.1 here, so this also shows the per-source cap on unsigned
// connections (probe/connections.ts) lets the edge's signed connection through.
import { connect, type Socket } from "node:net";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createDb } from "../db/client.ts";
import { probes } from "../db/schema.ts";
import { scratchDir } from "./scratch.ts";
import { startStack, type Stack } from "./stack.ts";
import { startWorld, type World } from "./world/index.ts";

const ATTACKERS = 32;
const ANNOUNCED_BYTES = 2 * 1024 * 1024;
/** How often each attacker sends its next byte (the attack's pace, not a synchronisation). */
const TRICKLE_MS = 200;

let world: World;
let stack: Stack;

beforeAll(async () => {
  world = await startWorld({ greylistDelayMs: 1000 });
  stack = await startStack({ dataDir: scratchDir("slowclients"), world, probes: 1 });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await world?.stop();
});

/** Polls a condition with a deadline (not a sleep). */
async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Attacker {
  socket: Socket;
  answer: string;
  closed: boolean;
  timer: NodeJS.Timeout;
}

/** An unsigned batch that announces 2 MiB and sends it a byte at a time. */
async function trickle(port: number): Promise<Attacker> {
  const socket = connect(port, "127.0.0.1");
  const attacker: Attacker = { socket, answer: "", closed: false, timer: setInterval(() => socket.writable && socket.write("a"), TRICKLE_MS) };
  socket.on("data", (d) => (attacker.answer += d.toString("latin1")));
  socket.on("close", () => {
    attacker.closed = true;
    clearInterval(attacker.timer);
  });
  socket.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  const head = `POST /v1/batches HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: ${ANNOUNCED_BYTES}\r\n\r\n{`;
  await new Promise<void>((resolve) => socket.write(head, () => resolve()));
  return attacker;
}

it("answers a single check through the edge while 32 unsigned connections trickle bodies to the probe", async () => {
  const probe = stack.probes[0]!;
  const { db, client } = createDb({ url: stack.sqld.url });
  try {
    // The edge knows the probe once its first heartbeat is in.
    await until("the probe's heartbeat reaching the edge", async () => (await db.select().from(probes).where(eq(probes.id, probe.id))).some((p) => p.status === "active"), 30_000);
  } finally {
    client.close();
  }

  const attackers = await Promise.all(Array.from({ length: ATTACKERS }, () => trickle(Number(new URL(probe.url).port))));
  try {
    const email = world.addresses.find((a) => world.truth.get(a)!.reason === "mailbox_not_found")!;
    const res = await fetch(`${stack.url}/api/v1/verify`, {
      method: "POST",
      body: JSON.stringify({ email }),
      headers: { authorization: `Bearer ${stack.devApiKey}`, "content-type": "application/json" },
    });
    const body = await res.json();
    expect([res.status, body]).toMatchObject([200, { email, verdict: "undeliverable", reason: "mailbox_not_found" }]);
    expect(res.headers.get("x-mxray-cache")).toBe("miss");

    // None of them holds the probe: each was refused (401) before its body, or its connection
    // dropped as the oldest unsigned one of its address, while it was still sending.
    await until("the probe closing every unsigned connection", () => attackers.every((a) => a.closed), 10_000);
    for (const a of attackers) expect(a.answer === "" || a.answer.startsWith("HTTP/1.1 401 ")).toBe(true);
    expect(attackers.some((a) => a.answer.includes('"code":"bad_signature"'))).toBe(true);
  } finally {
    for (const a of attackers) {
      clearInterval(a.timer);
      a.socket.destroy();
    }
  }
}, 60_000);

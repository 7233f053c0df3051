// What the tests' own daemons (Postfix, Dovecot) share: waiting for a greeting, and stopping a
// process group within a bound.
import net from "node:net";

/** Resolves once no process of the group is left; after the bound, kills what is. */
export async function groupGone(pgid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      process.kill(-pgid, 0);
    } catch {
      return; // ESRCH: none left
    }
    if (Date.now() > deadline) {
      try {
        process.kill(-pgid, "SIGKILL");
      } catch {
        // gone meanwhile
      }
      return;
    }
    await new Promise((r) => setTimeout(r, 20)); // polling a shutdown, not synchronising tests
  }
}

/** Whether a server on the loopback port greets with `okPrefix` ("220 ", "* OK"); says `goodbye` and closes. */
export async function greets(port: number, goodbye: string, okPrefix: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    let got = "";
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2_000, () => done(false));
    socket.on("error", () => done(false));
    socket.on("data", (d) => {
      got += d.toString("latin1");
      if (got.includes("\n")) {
        socket.write(goodbye);
        done(got.startsWith(okPrefix));
      }
    });
  });
}

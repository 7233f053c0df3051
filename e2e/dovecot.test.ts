// The private Dovecot the bounce tests use: IMAP over implicit TLS with the test CA's certificate,
// STARTTLS offered on the plain port, users added while it runs, delivery into any folder with
// flags, and nothing left behind when it stops.
import { readFileSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";
import { describe, expect, it } from "vitest";
import { startDovecot } from "./dovecot.ts";

/** The first line the server sends on a plain connection. */
function greeting(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.once("error", reject);
    socket.once("data", (d) => {
      socket.destroy();
      resolve(d.toString("latin1"));
    });
  });
}

/** Whether a TLS handshake on the port verifies against the CA as 127.0.0.1. */
function tlsHandshake(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port, ca }, () => {
      socket.once("data", (d) => {
        socket.destroy();
        resolve(d.toString("latin1"));
      });
    });
    socket.once("error", reject);
  });
}

describe("startDovecot", () => {
  it("serves IMAP over implicit TLS and with STARTTLS, delivers with flags, and leaves nothing when stopped", async () => {
    const dovecot = await startDovecot({ users: { gina: "pw-gina" } });
    try {
      expect(await greeting(dovecot.port)).toMatch(/^\* OK \[CAPABILITY [^\]]*STARTTLS/);
      expect(await tlsHandshake(dovecot.tlsPort, readFileSync(dovecot.caFile, "utf8"))).toMatch(/^\* OK /);

      const uids = await dovecot.deliverMany("gina", ["Subject: one\r\n\r\n1\r\n", "Subject: two\r\n\r\n2\r\n"], { flags: ["\\Seen"] });
      const other = await dovecot.deliver("gina", "Subject: three\r\nMessage-ID: <three@test>\r\n\r\n3\r\n", { folder: "Archive" });
      expect(await dovecot.messages("gina")).toEqual([
        { uid: uids[0], flags: ["\\Seen"], messageId: null, subject: "one" },
        { uid: uids[1], flags: ["\\Seen"], messageId: null, subject: "two" },
      ]);
      expect(await dovecot.messages("gina", "Archive")).toEqual([{ uid: other, flags: [], messageId: "<three@test>", subject: "three" }]);
      expect(await dovecot.messages("gina", "Missing")).toEqual([]);

      // A user added now logs in at once.
      dovecot.addUser("hank", "pw-hank");
      expect(await dovecot.deliver("hank", "Subject: hi\r\n\r\nhi\r\n")).toBe(1);
      expect(() => dovecot.addUser("hank", "other")).toThrow("exists already");
      expect(dovecot.log()).toContain("Login: user=<hank>");
    } finally {
      await dovecot.stop();
    }
    await expect(greeting(dovecot.port)).rejects.toThrow(/ECONNREFUSED/);
    // Its files went with it (the log was one of them).
    expect(dovecot.log()).toBe("");
  });
});

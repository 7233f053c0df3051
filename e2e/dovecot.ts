// Debian's Dovecot as a real IMAP server for the bounce monitor's tests (issue 24: "a real IMAP
// server in the tests"). Each test gets a private instance: its own configuration, runtime and
// state directories and Maildirs under a scratch directory, listening on two free loopback ports:
// plain IMAP that offers STARTTLS (RFC 9051 §6.2.1; `security: "starttls"` or "none") and IMAP
// over implicit TLS (RFC 8314; `security: "tls"`), both with the relay sink's test certificate for
// 127.0.0.1 (e2e/relay-sink, trusted through MXRAY_RELAY_CA_FILE). Users and passwords come from
// its own passwd-file; every user's mail is stored as the one mail user (nobody when root).
//
// Installed by the project itself when missing and root (e2e/apt.ts), as Postfix is. The
// package's own instance is stopped and disabled right after the install: only the instances
// started here run.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import net from "node:net";
import { userInfo } from "node:os";
import { join } from "node:path";
import { ImapFlow } from "imapflow";
import { freePort } from "../db/sqld.ts";
import { aptInstall } from "./apt.ts";
import { greets, groupGone } from "./daemon.ts";
import { RELAY_SINK_CA_FILE, RELAY_SINK_DIR } from "./relay-sink.ts";
import { removeScratch, scratchDir } from "./scratch.ts";

const DOVECOT = "/usr/sbin/dovecot";
export const DOVECOT_PACKAGES = ["dovecot-imapd"];
const STARTUP_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;

export function ensureDovecot(log: (line: string) => void = console.log): void {
  const installedNow = aptInstall({
    packages: DOVECOT_PACKAGES,
    installed: () => existsSync(DOVECOT) && existsSync("/usr/lib/dovecot/imap"),
    purpose: "the bounce monitor's tests run their own Dovecot instances; the package's own one is stopped and disabled",
    log,
  });
  if (!installedNow) return;
  // The package starts its own instance (ports 143 and 993 on every interface): stop it and keep
  // it from starting again (systemd, or the SysV links where there is none).
  for (const [cmd, args] of [
    ["systemctl", ["disable", "--now", "--quiet", "dovecot.service", "dovecot.socket"]],
    ["service", ["dovecot", "stop"]],
    ["update-rc.d", ["dovecot", "disable"]],
  ] as const) {
    try {
      execFileSync(cmd, args, { stdio: "ignore" });
    } catch {
      // no such init system here, or nothing running
    }
  }
}

export interface DovecotOptions {
  /** IMAP users (username → password). More with addUser. */
  users?: Record<string, string>;
  /**
   * Replaces the CAPABILITY Dovecot announces after login (its `imap_capability`), e.g. without
   * MOVE or UIDPLUS, to test a client's fallbacks against a server that lacks them.
   */
  capability?: string;
  /** The plain port and the implicit-TLS port (0 or unset: any free port); `npm start` keeps its own, so a mailbox saved for it works after a restart. */
  port?: number;
  tlsPort?: number;
  log?: (line: string) => void;
}

export interface DeliverOptions {
  /** Default INBOX; created when missing. */
  folder?: string;
  /** Flags the message is stored with, e.g. ["\\Seen"] or ["\\Deleted"]. */
  flags?: string[];
}

/** A message as the folder holds it now, read without changing anything (EXAMINE). */
export interface StoredMessage {
  uid: number;
  flags: string[];
  messageId: string | null;
  subject: string | null;
}

export interface RunningDovecot {
  host: "127.0.0.1";
  /** Plain IMAP; STARTTLS offered. */
  port: number;
  /** IMAP over implicit TLS. */
  tlsPort: number;
  /** The CA that signed its certificate (for 127.0.0.1 and localhost). */
  caFile: string;
  users: Record<string, string>;
  addUser(user: string, password: string): void;
  /** Stores a message with IMAP APPEND (as a mail server's delivery would); resolves to its uid. */
  deliver(user: string, raw: string | Buffer, opts?: DeliverOptions): Promise<number>;
  /** Many messages on one connection, in order; their uids. */
  deliverMany(user: string, raws: (string | Buffer)[], opts?: DeliverOptions): Promise<number[]>;
  /** The folder's messages and their flags, read-only; [] when the folder does not exist. */
  messages(user: string, folder?: string): Promise<StoredMessage[]>;
  /** Dovecot's log (log_path): the logins, the commands that failed. */
  log(): string;
  stop(): Promise<void>;
}

/** Who owns and reads the Maildirs: Dovecot never runs a mail process as root. */
function mailUser(): { uid: number; gid: number; name: string } {
  const me = userInfo();
  if (me.uid !== 0) return { uid: me.uid, gid: me.gid, name: me.username };
  const [, , uid, gid] = execFileSync("getent", ["passwd", "nobody"], { encoding: "utf8" }).trim().split(":");
  return { uid: Number(uid), gid: Number(gid), name: "nobody" };
}

function dovecotConf(dir: string, ports: { port: number; tlsPort: number }, mail: { uid: number; gid: number }, opts: DovecotOptions): string {
  const root = process.getuid?.() === 0;
  const me = userInfo().username;
  return `# A private instance for one test (e2e/dovecot.ts); nothing here is shared with the system's.
instance_name = mxray-dovecot-${ports.port}
base_dir = ${join(dir, "run")}
state_dir = ${join(dir, "state")}
log_path = ${join(dir, "dovecot.log")}
info_log_path = ${join(dir, "dovecot.log")}
protocols = imap
listen = 127.0.0.1
shutdown_clients = yes
${root ? "" : `default_internal_user = ${me}\ndefault_login_user = ${me}\n`}
ssl = yes
ssl_cert = <${join(RELAY_SINK_DIR, "cert.pem")}
ssl_key = <${join(RELAY_SINK_DIR, "key.pem")}
ssl_min_protocol = TLSv1.2

# LOGIN and AUTHENTICATE PLAIN on the plain port too: the tests of security "none".
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_verbose = yes
# A wrong password is answered at once: the tests of refused logins need no 2 s wait.
auth_failure_delay = 0
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${join(dir, "users")}/%u
}
userdb {
  driver = static
  args = uid=${mail.uid} gid=${mail.gid} home=${join(dir, "mail")}/%u
}
first_valid_uid = ${Math.min(mail.uid, 1)}
mail_location = maildir:${join(dir, "mail")}/%u
${opts.capability ? `imap_capability = ${opts.capability}\n` : ""}
# Processes started ahead (a login or a session each spawns one otherwise: most of a short session's time).
service imap-login {
  chroot =
  service_count = 0
  process_min_avail = 1
  inet_listener imap {
    port = ${ports.port}
  }
  inet_listener imaps {
    port = ${ports.tlsPort}
    ssl = yes
  }
}
service imap {
  process_min_avail = 2
}
service anvil {
  chroot =
  # No auth penalty (delays of up to 15 s for logins from an address that failed before): every
  # test logs in from 127.0.0.1, and some fail on purpose.
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
`;
}

/** Starts a private Dovecot on two loopback ports (free ones unless given); `stop` ends it and removes its files. */
export async function startDovecot(opts: DovecotOptions = {}): Promise<RunningDovecot> {
  ensureDovecot(opts.log);
  const port = opts.port || (await freePort());
  let tlsPort = opts.tlsPort || (await freePort());
  while (tlsPort === port) tlsPort = await freePort();
  const dir = scratchDir("dovecot");
  // Its login and mail processes run as other users and must reach their files below it.
  chmodSync(dir, 0o755);
  const mail = mailUser();
  mkdirSync(join(dir, "mail"));
  chownSync(join(dir, "mail"), mail.uid, mail.gid);
  const users: Record<string, string> = { ...opts.users };
  // One passwd-file per user: Dovecot looks at a file again at most once a second, so a user
  // added to a shared file just after a login would not be found for up to a second.
  mkdirSync(join(dir, "users"));
  const writeUser = (user: string, password: string) => {
    if (!/^[A-Za-z0-9._-]+$/.test(user) || /[\r\n]/.test(password)) throw new Error(`dovecot: unusable user or password for ${JSON.stringify(user)}`);
    const file = join(dir, "users", user);
    writeFileSync(`${file}.new`, `${user}:{PLAIN}${password}\n`, { mode: 0o644 });
    renameSync(`${file}.new`, file);
  };
  for (const [user, password] of Object.entries(users)) writeUser(user, password);
  const conf = join(dir, "dovecot.conf");
  writeFileSync(conf, dovecotConf(dir, { port, tlsPort }, mail, opts));
  const logFile = join(dir, "dovecot.log");
  const log = () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : "");

  // The master in the foreground (-F), as our child: SIGTERM ends it and its processes.
  const child: ChildProcess = spawn(DOVECOT, ["-F", "-c", conf], { stdio: ["ignore", "ignore", "pipe"], detached: true });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => void (stderr += d.toString()));
  // The instance must not keep a test runner alive; callers stop it (or it dies with the parent).
  child.unref();
  (child.stderr as net.Socket).unref();
  const killOnExit = () => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, "SIGTERM");
    } catch {
      // already gone
    }
  };
  process.once("exit", killOnExit);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.off("exit", killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.ref(); // waiting for its exit must keep the event loop alive
      // The whole group at once (it leads one: spawned detached): the master alone would end its
      // processes one after the other and wait a second for its log process.
      killOnExit();
      await exited;
    }
    // Its files go once its processes have.
    if (child.pid !== undefined) await groupGone(child.pid, STOP_TIMEOUT_MS);
    removeScratch(dir);
  };

  const connect = async (user: string): Promise<ImapFlow> => {
    const password = users[user];
    if (password === undefined) throw new Error(`dovecot: no user ${user}`);
    const client = new ImapFlow({ host: "127.0.0.1", port, secure: false, doSTARTTLS: false, auth: { user, pass: password }, logger: false, disableAutoIdle: true });
    await client.connect();
    return client;
  };

  const deliverMany = async (user: string, raws: (string | Buffer)[], o: DeliverOptions = {}): Promise<number[]> => {
    const folder = o.folder ?? "INBOX";
    const client = await connect(user);
    try {
      if (folder.toUpperCase() !== "INBOX") await client.mailboxCreate(folder).catch(() => {}); // exists already
      const uids: number[] = [];
      for (const raw of raws) {
        const appended = await client.append(folder, raw, o.flags ?? []);
        if (!appended || appended.uid === undefined) throw new Error(`dovecot: APPEND to ${folder} failed: ${log().slice(-1_000)}`);
        uids.push(appended.uid);
      }
      return uids;
    } finally {
      await client.logout();
    }
  };

  const messages = async (user: string, folder = "INBOX"): Promise<StoredMessage[]> => {
    const client = await connect(user);
    try {
      const exists = (await client.list()).some((m) => m.path === folder);
      if (!exists) return [];
      await client.mailboxOpen(folder, { readOnly: true });
      const out: StoredMessage[] = [];
      for await (const m of client.fetch("1:*", { uid: true, flags: true, envelope: true }, { uid: true })) {
        out.push({ uid: m.uid, flags: [...(m.flags ?? [])].filter((f) => f !== "\\Recent").sort(), messageId: m.envelope?.messageId ?? null, subject: m.envelope?.subject ?? null });
      }
      return out.sort((a, b) => a.uid - b.uid);
    } finally {
      await client.logout();
    }
  };

  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) {
      const why = `dovecot exited with ${child.exitCode}: ${stderr.trim()} ${log().slice(-2_000)}`;
      await stop();
      throw new Error(why);
    }
    if (await greets(port, "a LOGOUT\r\n", "* OK")) break;
    if (Date.now() > deadline) {
      const why = `dovecot did not greet on 127.0.0.1:${port} within ${STARTUP_TIMEOUT_MS / 1_000} s: ${stderr.trim()} ${log().slice(-2_000)}`;
      await stop();
      throw new Error(why);
    }
    await new Promise((r) => setTimeout(r, 50)); // polling a process start-up, not synchronising tests
  }
  return {
    host: "127.0.0.1",
    port,
    tlsPort,
    caFile: RELAY_SINK_CA_FILE,
    users,
    addUser(user, password) {
      if (users[user] !== undefined) throw new Error(`dovecot: ${user} exists already (a changed password may not be seen for a second)`);
      writeUser(user, password);
      users[user] = password;
    },
    deliver: async (user, raw, o) => (await deliverMany(user, [raw], o))[0]!,
    deliverMany,
    messages,
    log,
    stop,
  };
}

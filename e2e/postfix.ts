// Debian's Postfix as a real MTA for the campaign tests (issue 23: sending is tested through the
// relay sink "and through at least one real MTA"). Each test gets a private instance: its own
// config, queue and data directories under a scratch directory, listening on one free loopback
// port, with STARTTLS (the relay sink's test certificate) and Cyrus SASL AUTH (PLAIN/LOGIN from
// its own sasldb). It delivers nothing itself: no local domains, no DNS, and every message it
// accepts goes to one relayhost on loopback (a relay sink the test starts), never anywhere else.
//
// Installed by the project itself when missing and root (e2e/apt.ts), as redis-server is. The
// package's own instance never starts: debconf's "No configuration" leaves /etc/postfix/main.cf
// absent (Debian's unit and init script start nothing without it), and its service is disabled.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { freePort } from "../db/sqld.ts";
import { aptInstall } from "./apt.ts";
import { greets, groupGone } from "./daemon.ts";
import { RELAY_SINK_DIR } from "./relay-sink.ts";
import { removeScratch, scratchDir } from "./scratch.ts";

const MASTER = "/usr/lib/postfix/sbin/master";
const SASLPASSWD2 = "/usr/sbin/saslpasswd2";
/** Which directories Postfix needs, with their owners and modes (Debian's meta_directory). */
const POSTFIX_FILES = "/etc/postfix/postfix-files";
/** PLAIN and LOGIN for smtpd come from libsasl2-modules; saslpasswd2 (sasl2-bin) writes the sasldb. */
export const POSTFIX_PACKAGES = ["postfix", "sasl2-bin", "libsasl2-modules"];
/** The instance's name for itself (EHLO, Received:); not the machine's, so the relay sink is never "myself". */
const POSTFIX_HOSTNAME = "postfix.mxray.test";

function installed(): boolean {
  try {
    const states = execFileSync("dpkg-query", ["-W", "-f", "${db:Status-Status}\\n", ...POSTFIX_PACKAGES], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    return states.split("\n").filter((s) => s === "installed").length === POSTFIX_PACKAGES.length;
  } catch {
    return false; // dpkg-query exits 1 when a package is unknown
  }
}

export function ensurePostfix(log: (line: string) => void = console.log): void {
  const installedNow = aptInstall({
    packages: POSTFIX_PACKAGES,
    installed,
    purpose: "the campaign tests run their own Postfix instances; the package's own one stays unconfigured",
    // "No configuration": no /etc/postfix/main.cf, so the package's own instance never starts (nor binds port 25).
    debconf: ["postfix postfix/main_mailer_type select No configuration"],
    log,
  });
  if (!installedNow || existsSync("/etc/postfix/main.cf")) return;
  // Nor is it left enabled as a system service (systemd, or the SysV links where there is none).
  for (const [cmd, args] of [["systemctl", ["disable", "--quiet", "postfix.service"]], ["update-rc.d", ["postfix", "disable"]]] as const) {
    try {
      execFileSync(cmd, args, { stdio: "ignore" });
    } catch {
      // no such init system here
    }
  }
}

export interface PostfixOptions {
  /** Where every accepted message goes (`relayhost`): a relay sink on loopback, plain SMTP. */
  relayTo: { host: string; port: number };
  /** SASL users (username → password): only a client that authenticated as one may relay. */
  users: Record<string, string>;
  /** Per recipient address, an access(5) action for RCPT: "550 5.1.1 …" refuses it, "450 4.2.1 …" defers it. */
  recipientAccess?: Record<string, string>;
  log?: (line: string) => void;
}

export interface RunningPostfix {
  host: "127.0.0.1";
  port: number;
  /** Postfix's own log (maillog_file): the queue ids, each relay to the sink. */
  maillog(): string;
  stop(): Promise<void>;
}

const STARTUP_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;
/** No test keeps an instance this long. */
const MAX_LIFETIME_S = 15 * 60;

/** Every service runs unchrooted: the instance's files live in its scratch directory, not under a chroot. */
function masterCf(port: number): string {
  const services = [
    `127.0.0.1:${port} inet n - n - - smtpd`,
    "pickup unix n - n 60 1 pickup",
    "cleanup unix n - n - 0 cleanup",
    "qmgr unix n - n 300 1 qmgr",
    "tlsmgr unix - - n 1000? 1 tlsmgr",
    "rewrite unix - - n - - trivial-rewrite",
    "bounce unix - - n - 0 bounce",
    "defer unix - - n - 0 bounce",
    "trace unix - - n - 0 bounce",
    "verify unix - - n - 1 verify",
    "flush unix n - n 1000? 0 flush",
    "proxymap unix - - n - - proxymap",
    "proxywrite unix - - n - 1 proxymap",
    "smtp unix - - n - - smtp",
    "relay unix - - n - - smtp",
    "showq unix n - n - - showq",
    "error unix - - n - - error",
    "retry unix - - n - - error",
    "discard unix - - n - - discard",
    "anvil unix - - n - 1 anvil",
    "scache unix - - n - 1 scache",
    "postlog unix-dgram n - n - 1 postlogd",
  ];
  return `${services.join("\n")}\n`;
}

function mainCf(dir: string, port: number, opts: PostfixOptions): string {
  const settings: Record<string, string> = {
    compatibility_level: "3.6",
    queue_directory: join(dir, "spool"),
    data_directory: join(dir, "data"),
    maillog_file: join(dir, "maillog"),
    maillog_file_prefixes: dir,
    syslog_name: `postfix-mxray-${port}`,
    myhostname: POSTFIX_HOSTNAME,
    mydomain: "mxray.test",
    myorigin: "$myhostname",
    inet_interfaces: "loopback-only",
    inet_protocols: "ipv4",
    // Nothing is delivered here: no local domains, no aliases, no local delivery.
    mydestination: "",
    relay_domains: "",
    local_recipient_maps: "",
    alias_maps: "",
    alias_database: "",
    local_transport: "error:local delivery is disabled",
    // Everything goes to the relay sink, by its address: never a DNS lookup, never the internet.
    relayhost: `[${opts.relayTo.host}]:${opts.relayTo.port}`,
    default_transport: "smtp",
    relay_transport: "smtp",
    smtp_dns_support_level: "disabled",
    smtp_tls_security_level: "none",
    // STARTTLS offered (RFC 3207), with the relay sink's certificate for 127.0.0.1 (signed by its test CA).
    smtpd_tls_security_level: "may",
    smtpd_tls_cert_file: join(RELAY_SINK_DIR, "cert.pem"),
    smtpd_tls_key_file: join(RELAY_SINK_DIR, "key.pem"),
    // A submission relay: only an authenticated client relays (not "any loopback client").
    smtpd_relay_restrictions: "permit_sasl_authenticated, reject",
    smtpd_recipient_restrictions: `check_recipient_access texthash:${join(dir, "etc", "recipient_access")}`,
    // Cyrus SASL with the instance's own sasldb (etc/sasl/smtpd.conf), PLAIN and LOGIN.
    smtpd_sasl_auth_enable: "yes",
    smtpd_sasl_type: "cyrus",
    smtpd_sasl_path: "smtpd",
    cyrus_sasl_config_path: join(dir, "etc", "sasl"),
    smtpd_sasl_local_domain: POSTFIX_HOSTNAME,
    // AUTH only after STARTTLS (RFC 4954 §4): a password never crosses in clear.
    smtpd_tls_auth_only: "yes",
    biff: "no",
    append_dot_mydomain: "no",
  };
  return Object.entries(settings)
    .map(([k, v]) => `${k} = ${v}`)
    .join("\n")
    .concat("\n");
}

/** The package's user and group: its daemons run as the first; the second owns the queue's public doors. */
function postfixIds(): { mailOwner: number; setgidGroup: number } {
  const mailOwner = Number(execFileSync("id", ["-u", "postfix"], { encoding: "utf8" }).trim());
  const setgidGroup = Number(execFileSync("getent", ["group", "postdrop"], { encoding: "utf8" }).split(":")[2]);
  return { mailOwner, setgidGroup };
}

/**
 * The queue and data directories with the owners and modes Postfix's own list gives them
 * ($meta_directory/postfix-files), as `postfix check` makes them, without its seconds of
 * postconf runs (a test's start-up).
 */
function makeQueueDirectories(queueDir: string, dataDir: string, ids: { mailOwner: number; setgidGroup: number }): void {
  const idOf = (name: string) => (name === "$mail_owner" ? ids.mailOwner : name === "$setgid_group" ? ids.setgidGroup : 0); // root, or "-": left as made
  for (const line of readFileSync(POSTFIX_FILES, "utf8").split("\n")) {
    const [path = "", type, owner = "", group = "", mode = ""] = line.split(":");
    const m = /^\$(queue|data)_directory(\/.*)?$/.exec(path);
    if (type !== "d" || !m) continue;
    const full = `${m[1] === "queue" ? queueDir : dataDir}${m[2] ?? ""}`;
    mkdirSync(full, { recursive: true });
    chownSync(full, idOf(owner), idOf(group));
    chmodSync(full, parseInt(mode, 8));
  }
}

/** Starts a private Postfix instance on a free loopback port; `stop` ends it and removes its files. */
export async function startPostfix(opts: PostfixOptions): Promise<RunningPostfix> {
  if (Object.keys(opts.users).length === 0) throw new Error("startPostfix: give at least one SASL user");
  ensurePostfix(opts.log);
  const port = await freePort();
  const dir = scratchDir("postfix");
  // Its daemons run as the postfix user and must reach their files below it.
  chmodSync(dir, 0o755);
  const etc = join(dir, "etc");
  mkdirSync(join(etc, "sasl"), { recursive: true });
  const ids = postfixIds();
  makeQueueDirectories(join(dir, "spool"), join(dir, "data"), ids);
  writeFileSync(join(etc, "main.cf"), mainCf(dir, port, opts));
  writeFileSync(join(etc, "master.cf"), masterCf(port));
  writeFileSync(join(etc, "recipient_access"), Object.entries(opts.recipientAccess ?? {}).map(([address, action]) => `${address} ${action}\n`).join(""));
  const sasldb = join(dir, "sasldb2");
  writeFileSync(join(etc, "sasl", "smtpd.conf"), `pwcheck_method: auxprop\nauxprop_plugin: sasldb\nsasldb_path: ${sasldb}\nmech_list: PLAIN LOGIN\n`);
  for (const [user, password] of Object.entries(opts.users)) {
    execFileSync(SASLPASSWD2, ["-f", sasldb, "-p", "-c", "-u", POSTFIX_HOSTNAME, user], { input: password });
  }
  // smtpd reads it after dropping to the postfix user.
  chownSync(sasldb, ids.mailOwner, 0);
  chmodSync(sasldb, 0o600);
  const env = { ...process.env, MAIL_CONFIG: etc };
  const maillog = () => (existsSync(join(dir, "maillog")) ? readFileSync(join(dir, "maillog"), "utf8") : "");

  // The master in the foreground, as our child (without -w it does not detach); SIGTERM ends it
  // and it passes the signal on to its daemons. Vitest ends its workers without an exit event, so
  // an instance a crashed test file never stopped ends itself after MAX_LIFETIME_S (-e).
  const child: ChildProcess = spawn(MASTER, ["-c", etc, "-e", String(MAX_LIFETIME_S)], { env, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => void (stderr += d.toString()));
  // The instance must not keep a test runner alive; callers stop it (or it dies with the parent).
  child.unref();
  (child.stderr as net.Socket).unref();
  const killOnExit = () => child.kill("SIGTERM");
  process.once("exit", killOnExit);
  const stop = async () => {
    process.off("exit", killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.ref(); // waiting for its exit must keep the event loop alive
      child.kill("SIGTERM");
      await exited;
    }
    // Its daemons (its process group: the master is a session leader) end on the signal it passed on; their files go after them.
    if (child.pid !== undefined) await groupGone(child.pid, STOP_TIMEOUT_MS);
    removeScratch(dir);
  };

  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) {
      const why = `postfix master exited with ${child.exitCode}: ${stderr.trim()} ${maillog().slice(-2_000)}`;
      await stop();
      throw new Error(why);
    }
    if (await greets(port, "QUIT\r\n", "220 ")) return { host: "127.0.0.1", port, maillog, stop };
    if (Date.now() > deadline) {
      const why = `postfix did not greet on 127.0.0.1:${port} within ${STARTUP_TIMEOUT_MS / 1_000} s: ${maillog().slice(-2_000)}`;
      await stop();
      throw new Error(why);
    }
    await new Promise((r) => setTimeout(r, 50)); // polling a process start-up, not synchronising tests
  }
}

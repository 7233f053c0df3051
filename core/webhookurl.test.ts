import { describe, expect, it } from "vitest";
import { checkWebhookUrl, MAX_WEBHOOK_URL_LENGTH, type WebhookUrlRule } from "./webhookurl.ts";

const rule = (url: string, local = false): WebhookUrlRule | "ok" => {
  const c = checkWebhookUrl(url, { local });
  return c.ok ? "ok" : c.rule;
};

describe("checkWebhookUrl", () => {
  it("accepts https to public hosts on port 443, and refuses other schemes", () => {
    expect(rule("https://hooks.example.com/mxray?x=1")).toBe("ok");
    expect(rule("https://hooks.example.com:443/in")).toBe("ok");
    expect(rule("https://93.184.215.14/in")).toBe("ok");
    expect(rule("https://[2606:4700::1111]/in")).toBe("ok");
    expect(rule("http://hooks.example.com/")).toBe("scheme");
    expect(rule("ftp://hooks.example.com/")).toBe("scheme");
    expect(rule("javascript:alert(1)")).toBe("scheme");
    expect(rule("/relative")).toBe("not_a_url");
    expect(rule(`https://example.com/${"a".repeat(MAX_WEBHOOK_URL_LENGTH)}`)).toBe("too_long");
  });

  it("refuses credentials in the URL, including the userinfo trick", () => {
    expect(rule("https://user:pw@hooks.example.com/")).toBe("credentials");
    expect(rule("https://good.com@127.0.0.1/")).toBe("credentials");
    expect(rule("https://:pw@hooks.example.com/")).toBe("credentials");
  });

  it.each([
    ["https://127.0.0.1/", "loopback"],
    ["https://2130706433/", "decimal IPv4"],
    ["http://2130706433/", "decimal IPv4 over http"],
    ["https://0177.0.0.1/", "octal IPv4"],
    ["https://0x7f.0.0.1/", "hex IPv4"],
    ["https://0x7f000001/", "hex IPv4, one part"],
    ["https://127.1/", "short IPv4"],
    ["https://127.0.0.1./", "trailing dot"],
    ["https://0.0.0.0/", "unspecified"],
    ["https://[::]/", "unspecified v6"],
    ["https://[::1]/", "loopback v6"],
    ["https://[::ffff:127.0.0.1]/", "IPv4-mapped loopback"],
    ["https://[::ffff:169.254.169.254]/", "IPv4-mapped metadata"],
    ["https://[64:ff9b::a00:1]/", "NAT64 of a private address"],
    ["https://10.0.0.1/", "RFC 1918"],
    ["https://172.16.5.4/", "RFC 1918"],
    ["https://192.168.1.1/", "RFC 1918"],
    ["https://100.64.0.1/", "CGNAT"],
    ["https://169.254.169.254/latest/meta-data/", "link-local metadata"],
    ["https://[fe80::1]/", "link-local v6"],
    ["https://[fd00:ec2::254]/", "ULA (AWS metadata v6)"],
    ["https://224.0.0.1/", "multicast"],
    ["https://255.255.255.255/", "broadcast"],
  ])("refuses %s (%s)", (url) => {
    expect(rule(url)).toBe(url.startsWith("http:") ? "scheme" : "address_not_public");
  });

  it("refuses internal host names outside local mode, trailing dots and case included", () => {
    for (const url of ["https://localhost/", "https://LOCALHOST./", "https://api.localhost/", "https://metadata.google.internal/", "https://db.internal./", "https://metadata/", "https://router.home.arpa/", "https://1.0.0.127.in-addr.arpa/"]) {
      expect(rule(url), url).toBe("internal_host");
    }
  });

  it.each([
    ["https://example.com:6379/", "Redis"],
    ["https://example.com:25/", "SMTP"],
    ["https://example.com:8443/in", "another https port"],
    ["https://example.com:80/", "http's port"],
    ["https://93.184.215.14:8080/", "a public address on another port"],
    ["https://[2606:4700::1111]:6379/", "a public v6 address on another port"],
  ])("refuses port other than 443: %s (%s)", (url) => {
    expect(rule(url)).toBe("port");
  });

  it.each([
    ["https://instance-data/", "single label (EC2's metadata name)"],
    ["https://instance-data./", "single label, trailing dot"],
    ["https://intranet/hook", "single label"],
    ["https://co.uk/", "a public suffix alone"],
    ["https://com/", "a top-level domain alone"],
    ["https://co.uk./", "a public suffix alone, trailing dot"],
    ["https://xn--fiqs8s/", "an IDN top-level domain alone"],
    ["https://中国/", "the same, as Unicode"],
    ["https://printer.local/", "mDNS"],
    ["https://nas.lan/", "an unlisted suffix"],
    ["https://git.corp/", "an unlisted suffix"],
    ["https://app.test/", "a reserved test suffix"],
  ])("refuses a name that is not under a registrable domain: %s (%s)", (url) => {
    expect(rule(url)).toBe("not_registrable");
  });

  it.each([
    "https://hooks.example.co.uk/in",
    "https://example.com./in", // trailing dot: the same host
    "https://EXAMPLE.com/in",
    "https://münchen.de/hook", // IDN: the parser makes it xn--mnchen-3ya.de
    "https://xn--mnchen-3ya.de/hook",
    "https://食狮.中国/hook",
    "https://my-app.github.io/hook",
    "https://x.workers.dev/hook",
  ])("accepts a name under a registrable domain: %s", (url) => {
    expect(rule(url)).toBe("ok");
  });

  it("allows http and https to loopback in local mode only, and nothing else private", () => {
    expect(rule("http://127.0.0.1:8788/hook", true)).toBe("ok");
    expect(rule("https://127.0.0.1:6379/hook", true)).toBe("ok"); // any port: the receiver is the tester's own
    expect(rule("http://localhost:8788/hook", true)).toBe("ok");
    expect(rule("http://[::1]:8788/hook", true)).toBe("ok");
    expect(rule("https://2130706433/", true)).toBe("ok");
    expect(rule("http://127.0.0.1:8788/hook")).toBe("scheme");
    expect(rule("http://10.0.0.1/", true)).toBe("scheme");
    expect(rule("https://10.0.0.1/", true)).toBe("address_not_public");
    expect(rule("https://169.254.169.254/", true)).toBe("address_not_public");
    expect(rule("http://user:pw@127.0.0.1/", true)).toBe("credentials");
    expect(rule("file:///etc/passwd", true)).toBe("scheme");
    // Local mode widens loopback only: other hosts keep every rule.
    expect(rule("https://example.com:6379/", true)).toBe("port");
    expect(rule("https://instance-data/", true)).toBe("not_registrable");
  });
});

// The bulk-sender checklist against the simulated world's DNS (e2e/world/scenario.ts: sender.test
// meets the rules, weak.test does not, twospf.test has two SPF records), through the probe's resolver.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SenderCheckAnswer } from "../../core/contracts.ts";
import { startDns } from "../../e2e/world/dns.ts";
import { buildScenario } from "../../e2e/world/scenario.ts";
import { createResolver, type Resolver } from "../dns.ts";
import { checkSender } from "./sendercheck.ts";

let dns: Awaited<ReturnType<typeof startDns>>;
let resolver: Resolver;
beforeAll(async () => {
  const scenario = buildScenario({ greylistDelayMs: 1_000 });
  dns = await startDns({ zone: scenario.zone, servfail: new Set([...scenario.servfail, "servfail.sender.test"]) }, 0);
  resolver = createResolver({ servers: [`127.0.0.1:${dns.port}`], timeoutMs: 1_000, attempts: 1 });
});
afterAll(async () => {
  await dns?.close();
});

const byCheck = (a: SenderCheckAnswer) => Object.fromEntries(a.items.map((i) => [i.check, i]));

describe("checkSender", () => {
  it("passes a domain with SPF, a DKIM key at its selector, DMARC p=quarantine and a bounce MX, showing what it saw", async () => {
    const items = byCheck(await checkSender(resolver, { domain: "Sender.test", dkim_selector: "mx1", bounce_domain: "bounce.sender.test" }));
    expect(items.spf).toMatchObject({ status: "pass", name: "sender.test", seen: ["v=spf1 include:_spf.relay.test -all", "sender-site-verification=4f1c2a"] });
    expect(items.dkim).toMatchObject({ status: "pass", name: "mx1._domainkey.sender.test" });
    expect(items.dkim!.seen[0]).toMatch(/^v=DKIM1; k=rsa; p=MIGf/);
    expect(items.dmarc).toMatchObject({ status: "pass", name: "_dmarc.sender.test", seen: ["v=DMARC1; p=quarantine; rua=mailto:dmarc@sender.test"], detail: "DMARC policy p=quarantine" });
    expect(items.bounce_mx).toMatchObject({ status: "pass", name: "bounce.sender.test", seen: ["10 mx.bounce.sender.test"] });
  });

  it("flags a weak domain: no SPF, DMARC p=none, a revoked DKIM key, no bounce MX", async () => {
    const items = byCheck(await checkSender(resolver, { domain: "weak.test", dkim_selector: "revoked", bounce_domain: "weak.test" }));
    expect(items.spf).toMatchObject({ status: "fail", seen: ["weak-site-verification=9a7b"], detail: expect.stringContaining("no SPF record") });
    expect(items.dkim).toMatchObject({ status: "fail", name: "revoked._domainkey.weak.test", detail: expect.stringContaining("revoked") });
    expect(items.dmarc).toMatchObject({ status: "warn", detail: expect.stringContaining("protects nothing") });
    expect(items.bounce_mx).toMatchObject({ status: "fail", name: "weak.test", seen: [] });
  });

  it("asks for a DKIM selector when none is named, and fails a missing one", async () => {
    expect(byCheck(await checkSender(resolver, { domain: "sender.test", dkim_selector: null, bounce_domain: "bounce.sender.test" })).dkim).toMatchObject({ status: "warn", detail: expect.stringContaining("name your selector") });
    expect(byCheck(await checkSender(resolver, { domain: "sender.test", dkim_selector: "s2", bounce_domain: "bounce.sender.test" })).dkim).toMatchObject({ status: "fail", name: "s2._domainkey.sender.test", seen: [] });
  });

  it("fails two SPF records, a missing DMARC record, a null MX and a domain that does not exist", async () => {
    const two = byCheck(await checkSender(resolver, { domain: "twospf.test", dkim_selector: null, bounce_domain: "nullmx.test" }));
    expect(two.spf).toMatchObject({ status: "fail", detail: expect.stringContaining("2 SPF records") });
    expect(two.dmarc).toMatchObject({ status: "fail", name: "_dmarc.twospf.test" });
    expect(two.bounce_mx).toMatchObject({ status: "fail", detail: expect.stringContaining("null MX") });
    const none = byCheck(await checkSender(resolver, { domain: "nxdomain.test", dkim_selector: null, bounce_domain: "nxdomain.test" }));
    expect(none.spf).toMatchObject({ status: "fail", detail: "the name does not exist" });
  });

  it("uses the organizational domain's DMARC policy for a subdomain without its own (RFC 7489 §6.6.3)", async () => {
    const items = byCheck(await checkSender(resolver, { domain: "news.sender.test", dkim_selector: null, bounce_domain: "bounce.sender.test" }));
    expect(items.dmarc).toMatchObject({ status: "pass", name: "_dmarc.sender.test" });
  });

  it("says when DNS could not tell", async () => {
    const items = byCheck(await checkSender(resolver, { domain: "servfail.sender.test", dkim_selector: null, bounce_domain: "servfail.sender.test" }));
    expect(items.spf).toMatchObject({ status: "fail", detail: expect.stringContaining("the DNS lookup failed") });
    expect(items.bounce_mx!.detail).toContain("the DNS lookup failed");
  });
});

import { describe, expect, it } from "vitest";
import { addressScope, isPublicAddress, parseIPv6, type AddressScope } from "./netaddr.ts";

describe("addressScope", () => {
  const cases: [string, AddressScope][] = [
    // IPv4
    ["8.8.8.8", "public"],
    ["142.250.102.27", "public"], // a Gmail MX
    ["1.1.1.1", "public"],
    ["0.0.0.0", "unspecified"],
    ["0.1.2.3", "unspecified"],
    ["10.0.0.1", "private"],
    ["10.255.255.255", "private"],
    ["100.64.0.1", "shared"],
    ["100.127.255.254", "shared"],
    ["100.128.0.1", "public"],
    ["100.63.255.255", "public"],
    ["127.0.0.1", "loopback"],
    ["127.53.0.9", "loopback"],
    ["169.254.169.254", "link_local"], // cloud metadata
    ["172.16.0.1", "private"],
    ["172.31.255.255", "private"],
    ["172.32.0.1", "public"],
    ["172.15.255.255", "public"],
    ["192.0.0.8", "reserved"],
    ["192.0.2.1", "documentation"],
    ["192.88.99.1", "reserved"],
    ["192.168.1.1", "private"],
    ["198.18.0.1", "reserved"],
    ["198.19.255.255", "reserved"],
    ["198.20.0.1", "public"],
    ["198.51.100.7", "documentation"],
    ["203.0.113.7", "documentation"],
    ["224.0.0.1", "multicast"],
    ["239.255.255.250", "multicast"],
    ["240.0.0.1", "reserved"],
    ["255.255.255.255", "reserved"],
    // IPv6
    ["2a00:1450:400c:c0b::1b", "public"], // a Gmail MX
    ["2606:4700:4700::1111", "public"],
    ["::", "unspecified"],
    ["::1", "loopback"],
    ["0:0:0:0:0:0:0:1", "loopback"],
    ["fe80::1", "link_local"],
    ["fe80::1%eth0", "link_local"],
    ["febf::1", "link_local"],
    ["fec0::1", "reserved"], // deprecated site-local
    ["fc00::1", "private"],
    ["fd12:3456::1", "private"],
    ["fd00:ec2::254", "private"], // AWS metadata over IPv6
    ["ff02::1", "multicast"],
    ["2001:db8::1", "documentation"],
    ["3fff::1", "documentation"],
    ["2001::1", "reserved"], // Teredo
    ["2001:1ff::1", "reserved"],
    ["2001:200::1", "public"],
    ["100::1", "reserved"], // discard-only
    ["::1.2.3.4", "reserved"], // deprecated IPv4-compatible
    ["64:ff9b:1::a00:1", "reserved"], // NAT64 local use
    ["4000::1", "reserved"],
    // IPv6 carrying IPv4: as public as what it carries
    ["::ffff:127.0.0.1", "loopback"],
    ["::ffff:7f00:1", "loopback"],
    ["::FFFF:169.254.169.254", "link_local"],
    ["::ffff:10.1.2.3", "private"],
    ["::ffff:8.8.8.8", "public"],
    ["64:ff9b::127.0.0.1", "loopback"],
    ["64:ff9b::808:808", "public"],
    ["2002:7f00:1::1", "loopback"], // 6to4 of 127.0.0.1
    ["2002:c0a8:101::1", "private"],
    ["2002:808:808::1", "public"],
    // not addresses
    ["localhost", "invalid"],
    ["mx.example.com", "invalid"],
    ["", "invalid"],
    ["127.1", "invalid"],
    ["0x7f.0.0.1", "invalid"],
    ["010.0.0.1", "invalid"],
    ["256.1.1.1", "invalid"],
    ["1.2.3.4.5", "invalid"],
    ["1:2:3:4:5:6:7:8:9", "invalid"],
    ["1::2::3", "invalid"],
    [":::", "invalid"],
    ["12345::1", "invalid"],
    ["::ffff:1.2.3", "invalid"],
    ["[::1]", "invalid"],
  ];
  it.each(cases)("%s is %s", (ip, scope) => {
    expect(addressScope(ip)).toBe(scope);
  });

  it("only public addresses are public", () => {
    for (const [ip, scope] of cases) expect(isPublicAddress(ip)).toBe(scope === "public");
  });
});

describe("parseIPv6", () => {
  it("expands '::' and a trailing dotted quad", () => {
    expect(Array.from(parseIPv6("1::ffff:1.2.3.4")!)).toEqual([0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4]);
    expect(Array.from(parseIPv6("1:2:3:4:5:6:7::")!)).toEqual([0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 0]);
  });
});

import { describe, expect, it } from "vitest";
import { MAX_KEY_ORIGINS, originAllowed, parseAllowedOrigin, parseAllowedOrigins } from "./origins.ts";

const ok = (s: string) => {
  const got = parseAllowedOrigin(s);
  return got.ok ? got.origin : `refused: ${got.message}`;
};

describe("an allowed origin", () => {
  it("is https://host[:port], normalised as a browser sends it", () => {
    expect(ok("https://www.example.com")).toBe("https://www.example.com");
    expect(ok("  HTTPS://Shop.Example.COM/ ")).toBe("https://shop.example.com");
    expect(ok("https://example.com:443")).toBe("https://example.com");
    expect(ok("https://example.com:8443")).toBe("https://example.com:8443");
    expect(ok("https://bücher.example")).toBe("https://xn--bcher-kva.example");
  });

  it("is http:// only for localhost and loopback addresses", () => {
    expect(ok("http://localhost:3000")).toBe("http://localhost:3000");
    expect(ok("http://127.0.0.1:5173")).toBe("http://127.0.0.1:5173");
    expect(ok("http://[::1]:8080")).toBe("http://[::1]:8080");
    expect(ok("http://app.localhost")).toBe("http://app.localhost");
    expect(ok("http://www.example.com")).toMatch(/^refused: .*http: is allowed for localhost/);
    expect(ok("http://10.0.0.5")).toMatch(/^refused: .*localhost/);
  });

  it("has no path, query, fragment or user name, and no other scheme", () => {
    for (const bad of ["https://example.com/signup", "https://example.com/?a=1", "https://example.com#x", "https://user@example.com", "ftp://example.com", "example.com", "", "https://"]) {
      expect(ok(bad), bad).toMatch(/^refused: /);
    }
  });

  it("may be a leading *. over a registrable domain, https only, never over a public suffix", () => {
    expect(ok("https://*.example.com")).toBe("https://*.example.com");
    expect(ok("https://*.Example.co.uk:8443")).toBe("https://*.example.co.uk:8443");
    for (const bad of ["https://*.co.uk", "https://*.com", "https://*.github.io", "http://*.localhost", "https://*", "*", "https://a.*.example.com", "https://*example.com", "https://*.127.0.0.1"]) {
      expect(ok(bad), bad).toMatch(/^refused: /);
    }
  });

  it("lists are split on lines, commas or spaces, deduplicated, at least one and at most the cap", () => {
    expect(parseAllowedOrigins("https://a.example\nhttps://A.example/, http://localhost:3000")).toEqual({ ok: true, origins: ["https://a.example", "http://localhost:3000"] });
    expect(parseAllowedOrigins(["https://a.example"])).toEqual({ ok: true, origins: ["https://a.example"] });
    expect(parseAllowedOrigins(" \n ").ok).toBe(false);
    const refused = parseAllowedOrigins("https://a.example\nhttps://a.example/path");
    expect(refused).toEqual({ ok: false, message: expect.stringContaining("https://a.example/path") });
    const many = Array.from({ length: MAX_KEY_ORIGINS + 1 }, (_, i) => `https://s${i}.example`);
    expect(parseAllowedOrigins(many).ok).toBe(false);
    expect(parseAllowedOrigins(many.slice(1)).ok).toBe(true);
  });
});

describe("a request's Origin", () => {
  const list = ["https://shop.example", "http://127.0.0.1:4000", "https://*.brand.example"];
  it("matches an entry exactly, or a subdomain of a *. entry at the same port", () => {
    expect(originAllowed(list, "https://shop.example")).toBe(true);
    expect(originAllowed(list, "http://127.0.0.1:4000")).toBe(true);
    expect(originAllowed(list, "https://eu.brand.example")).toBe(true);
    expect(originAllowed(list, "https://a.b.brand.example")).toBe(true);
  });
  it("refuses anything else: another scheme, port or host, the *. domain itself, look-alikes, null and none", () => {
    for (const o of ["http://shop.example", "https://shop.example:8443", "https://evil.example", "https://brand.example", "https://evilbrand.example",
      "https://eu.brand.example:444", "http://eu.brand.example", "http://127.0.0.1:4001", "https://shop.example.evil.test", "https://shop.example/", "null", "", null, undefined]) {
      expect(originAllowed(list, o), String(o)).toBe(false);
    }
  });
});

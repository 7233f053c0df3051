import { describe, expect, it } from "vitest";
import { crossSiteWrite } from "./csrf.ts";

const post = (headers: Record<string, string>, url = "http://127.0.0.1:8787/keys") => new Request(url, { method: "POST", headers });

describe("crossSiteWrite", () => {
  it("lets our own pages post, and any method that changes nothing", () => {
    expect(crossSiteWrite(post({ origin: "http://127.0.0.1:8787", "sec-fetch-site": "same-origin" }))).toBe(false);
    expect(crossSiteWrite(new Request("http://127.0.0.1:8787/keys", { headers: { origin: "https://evil.test" } }))).toBe(false);
    expect(crossSiteWrite(post({ origin: "https://app.mxray.dev" }, "http://internal:8787/keys"), "https://app.mxray.dev")).toBe(false);
  });

  it("refuses a post from another site, by Origin or by Sec-Fetch-Site", () => {
    expect(crossSiteWrite(post({ origin: "https://evil.test" }))).toBe(true);
    expect(crossSiteWrite(post({ origin: "null" }))).toBe(true);
    expect(crossSiteWrite(post({ origin: "http://127.0.0.1:9999" }))).toBe(true);
    expect(crossSiteWrite(post({ "sec-fetch-site": "cross-site" }))).toBe(true);
    expect(crossSiteWrite(post({ "sec-fetch-site": "same-site" }))).toBe(true);
  });

  it("leaves non-browser clients alone (they carry no ambient cookie)", () => {
    expect(crossSiteWrite(post({}))).toBe(false);
  });
});

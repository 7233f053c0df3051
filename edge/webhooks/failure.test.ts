// The words an attempt's error is recorded in (what the deliveries page shows).
import { describe, expect, it } from "vitest";
import { describeFetchFailure } from "./failure.ts";

const url = new URL("https://hooks.example.test/in");
const named = (name: string, message = "x") => Object.assign(new Error(message), { name });

describe("describeFetchFailure", () => {
  it("names a timeout, a TLS failure, a failed lookup and anything else", async () => {
    expect(await describeFetchFailure(named("TimeoutError"), url, 10_000)).toBe("timed out after 10 s: no answer from hooks.example.test:443");
    expect(await describeFetchFailure(new Error("TLS peer's certificate is not trusted"), url, 10_000)).toBe("TLS failed with hooks.example.test:443: TLS peer's certificate is not trusted");
    expect(await describeFetchFailure(new Error("internal error; reference = abc"), url, 10_000)).toBe("could not connect to hooks.example.test:443 (DNS lookup or connection failed)");
    expect(await describeFetchFailure("boom", url, 10_000)).toBe("request failed: boom");
  });

  it("tells a refused connection from one lost after it opened", async () => {
    expect(await describeFetchFailure(new Error("Network connection lost."), new URL("http://127.0.0.1:9/x"), 10_000)).toBe("Connection refused by 127.0.0.1:9");
  });
});

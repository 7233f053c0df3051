// A single real-time check: syntax here, then a probe within a budget; fresh answers come from
// the shared cache. A verdict is data: a bad address is a 200 with "undeliverable".
import { parseAddress } from "../../core/address.ts";
import { ResultSchema, type Result } from "../../core/contracts.ts";
import { invalidSyntaxResult } from "../../core/result.ts";
import { sign, SIGNATURE_HEADER } from "../../core/signing.ts";
import { ServiceError } from "../errors.ts";
import type { Services } from "./context.ts";
import { chargeCheck, creditBalance } from "./credits.ts";
import { liveProbes } from "./dispatch.ts";

export const DEFAULT_CHECK_BUDGET_MS = 15_000;
/** Time allowed beyond the probe's budget for the round trip. */
const TRANSPORT_SLACK_MS = 5_000;

export interface CheckOutcome {
  result: Result;
  cached: boolean;
}

export async function checkAddress(
  s: Services,
  accountId: string,
  requestId: string,
  req: { email: string; budget_ms?: number | undefined; trace?: boolean | undefined },
): Promise<CheckOutcome> {
  const email = req.email.trim();
  const parsed = parseAddress(email);
  if (!parsed.ok) return { result: invalidSyntaxResult(email), cached: false };
  const cacheKey = `verify:${parsed.normalized}`;
  if (!req.trace) {
    const hit = await s.cache.get<Result>(cacheKey);
    if (hit) return { result: { ...hit, email }, cached: true };
  }
  if ((await creditBalance(s.db, accountId)) < 1) throw new ServiceError("insufficient_credits", "A check needs one credit");
  const probes = (await liveProbes(s)).sort((a, b) => a.inFlight / Math.max(1, a.capacity) - b.inFlight / Math.max(1, b.capacity));
  if (probes.length === 0) throw new ServiceError("probe_unavailable", "No verification probe is online; try again shortly", 30);
  const budget = req.budget_ms ?? DEFAULT_CHECK_BUDGET_MS;
  const body = JSON.stringify({ email, budget_ms: budget, ...(req.trace ? { trace: true } : {}) });
  let result: Result | null = null;
  for (const probe of probes.slice(0, 2)) {
    try {
      const res = await fetch(`${probe.url}/v1/verify`, {
        method: "POST",
        body,
        headers: { "content-type": "application/json", [SIGNATURE_HEADER]: await sign(s.config.PROBE_SECRET, body) },
        signal: AbortSignal.timeout(budget + TRANSPORT_SLACK_MS),
      });
      if (!res.ok) {
        await res.body?.cancel();
        continue;
      }
      const got = ResultSchema.safeParse(await res.json());
      if (got.success) {
        result = got.data;
        break;
      }
    } catch {
      // this probe failed; the next one may answer
    }
  }
  if (!result) throw new ServiceError("probe_unavailable", "No probe answered in time; try again", 30);
  if (result.verdict !== "unknown") {
    await chargeCheck(s.db, accountId, requestId);
    if (s.config.MXRAY_VERIFY_CACHE_S > 0) {
      const { trace: _t, ...cacheable } = result;
      s.waitUntil(s.cache.set(cacheKey, cacheable, s.config.MXRAY_VERIFY_CACHE_S));
    }
  }
  return { result, cached: false };
}

// A single real-time check: syntax here, then a probe within a budget; fresh answers come from
// the shared cache. A verdict is data: a bad address is a 200 with "undeliverable".
import { parseAddress } from "../../core/address.ts";
import type { Result } from "../../core/contracts.ts";
import { invalidSyntaxResult } from "../../core/result.ts";
import { ServiceError } from "../errors.ts";
import type { Services } from "./context.ts";
import { chargeCheck, creditBalance } from "./credits.ts";
import { liveProbes } from "./dispatch.ts";

export const DEFAULT_CHECK_BUDGET_MS = 15_000;
/** Probes asked before giving up: a second chance, still within a synchronous request. */
export const PROBES_PER_CHECK = 2;
const PROBE_UNAVAILABLE_RETRY_S = 30;

export interface CheckRequest {
  email: string;
  budget_ms?: number | undefined;
  trace?: boolean | undefined;
}

export interface CheckOutcome {
  result: Result;
  cached: boolean;
}

export async function checkAddress(s: Services, accountId: string, requestId: string, req: CheckRequest): Promise<CheckOutcome> {
  return check(s, accountId, requestId, req);
}

/** One check, charged under `chargeKey` (the request id). */
async function check(s: Services, accountId: string, chargeKey: string, req: CheckRequest): Promise<CheckOutcome> {
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
  if (probes.length === 0) throw new ServiceError("probe_unavailable", "No verification probe is online; try again shortly", PROBE_UNAVAILABLE_RETRY_S);
  const budget = req.budget_ms ?? DEFAULT_CHECK_BUDGET_MS;
  let result: Result | null = null;
  for (const probe of probes.slice(0, PROBES_PER_CHECK)) {
    const answer = await s.probeClient.verify(probe, { email, ...(req.trace ? { trace: true } : {}) }, budget);
    if (answer.ok) {
      result = answer.result;
      break;
    }
    console.log(JSON.stringify({ msg: "probe failed a check", probe_id: probe.id, error: answer.error, detail: answer.detail }));
  }
  if (!result) throw new ServiceError("probe_unavailable", "No probe answered in time; try again", PROBE_UNAVAILABLE_RETRY_S);
  if (result.verdict !== "unknown") {
    await chargeCheck(s.db, accountId, chargeKey);
    if (s.config.MXRAY_VERIFY_CACHE_S > 0) {
      const { trace: _t, ...cacheable } = result;
      s.waitUntil(s.cache.set(cacheKey, cacheable, s.config.MXRAY_VERIFY_CACHE_S));
    }
  }
  return { result, cached: false };
}

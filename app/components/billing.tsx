// Billing pieces shown outside /billing: the balance notice (low, empty, or free credits running out), and a refusal that offers to buy
// credits when the balance is what refused the work (issue 11).
import { Link } from "@remix-run/react";
import type { BalanceNotice as BalanceNoticeValue } from "../../core/billing.ts";
import { fmt } from "./ui.tsx";

/**
 * What the balance means for this account (core/billing.ts balanceNotice): a warning when it is
 * empty, or below what a paying account uses; a calm note when free credits would not cover the
 * account's usual list; nothing otherwise (issue 26: not on a new account after its first test).
 */
export function BalanceNotice({ notice }: { notice: BalanceNoticeValue }) {
  if (!notice) return null;
  if (notice.kind === "free") {
    return (
      <div className="alert" role="note" aria-label="Free credits">
        {fmt(notice.balance)} free credits left, fewer than your lists use. <Link to="/billing">Buy credits</Link> before they run out.
      </div>
    );
  }
  return (
    <div className="alert warn" role="note" aria-label="Low balance">
      {notice.kind === "empty"
        ? notice.balance < 0
          ? <>The balance is {fmt(notice.balance)} credits after a refund or dispute: uploads are refused until it is above zero. </>
          : <>No credits left: uploads and checks are refused until credits are added. </>
        : <>Only {fmt(notice.balance)} credits left, {NEED_WORDS[notice.because](notice.need)}. </>}
      <Link to="/billing">Buy credits</Link>
    </div>
  );
}

const NEED_WORDS: Record<Extract<BalanceNoticeValue, { kind: "low" }>["because"], (need: number) => string> = {
  auto_topup: (n) => `below your auto top-up threshold of ${fmt(n)}`,
  last_job: (n) => `fewer than your last list needed (${fmt(n)})`,
  week: (n) => `less than a week of your use (${fmt(n)})`,
  floor: (n) => `fewer than ${fmt(n)}`,
};

/** An action's refusal; `insufficient_credits` adds where to get credits, by role. */
export function RefusedAlert({ error, canBuy }: { error: { code?: string | undefined; message: string }; canBuy: boolean }) {
  return (
    <div className="alert error" role="alert">
      {error.message}
      {error.code === "insufficient_credits" &&
        (canBuy ? <> <Link to="/billing">Buy credits</Link></> : " Ask an owner or admin of this account to buy credits.")}
    </div>
  );
}

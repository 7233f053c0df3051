// Billing pieces shown outside /billing: the low-balance banner, and a refusal that offers to buy
// credits when the balance is what refused the work (issue 11).
import { Link } from "@remix-run/react";
import { fmt } from "./ui.tsx";

/** Below this, owners and admins are told before an upload is refused. */
export const LOW_BALANCE = 100;

export function LowBalanceBanner({ credits }: { credits: number }) {
  if (credits >= LOW_BALANCE) return null;
  return (
    <div className="alert warn" role="note" aria-label="Low balance">
      {credits < 0
        ? <>The balance is {fmt(credits)} credits after a refund or dispute: uploads are refused until it is above zero. </>
        : <>Only {fmt(credits)} credits left. </>}
      <Link to="/billing">Buy credits</Link>
    </div>
  );
}

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

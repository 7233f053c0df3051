// The edge's credit ledger as /billing and its CSV export read it, and the balance's standing
// that every page's low-balance notice is decided from.
export { balanceStanding, listLedger } from "../../edge/credits/account.ts";

// The edge's credit ledger as /billing and its CSV export read it.
export { listLedger } from "../../edge/credits/ledger.ts";

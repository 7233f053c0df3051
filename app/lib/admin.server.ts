// The edge's operations console as /admin uses it: the probe fleet, jobs in flight, retried
// batches, accounts, held Stripe events, and our measured accuracy across accounts.
export {
  adjustCredits, fleet, heldStripeEvents, jobsInFlight, retriedBatches, retryStripeEvent, searchAccounts, setAccountDisabled, setProbeState,
} from "../../edge/admin/admin.ts";
export { operatorAccuracy } from "../../edge/bounces/accuracy.ts";

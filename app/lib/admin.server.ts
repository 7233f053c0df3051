// The edge's operations console as /admin uses it: the probe fleet, jobs in flight, retried
// batches, accounts and held Stripe events.
export {
  adjustCredits, fleet, heldStripeEvents, jobsInFlight, retriedBatches, retryStripeEvent, searchAccounts, setAccountDisabled, setProbeState,
} from "../../edge/admin/admin.ts";

// The edge's billing capability as /billing uses it: the overview, Stripe Checkout and the
// Customer Portal, auto top-up; and the account's measured accuracy (what its credits bought).
export { billingOverview, openPortal, setAutoTopUp, startCheckout } from "../../edge/billing/billing.ts";
export { accountAccuracy } from "../../edge/bounces/accuracy.ts";

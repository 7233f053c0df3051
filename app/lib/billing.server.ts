// The edge's billing capability as /billing uses it: the overview, Stripe Checkout and the
// Customer Portal, auto top-up.
export { billingOverview, openPortal, setAutoTopUp, startCheckout } from "../../edge/billing/billing.ts";

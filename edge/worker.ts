// The Worker without its web pages: Hono for the API, the callbacks (probes, Stripe) and the job
// and campaign WebSockets; their Durable Objects (JobHub, CampaignHub); scheduled() for the
// sweeper. edge/entry.ts (wrangler.toml's main) adds Remix for every other path; tests in workerd
// run this module, which needs no app build.
import type { Context } from "hono";
import { requireApiKey } from "./api/auth.ts";
import { createApi, type AppEnv } from "./api/app.ts";
import { registerDocs } from "./api/docs.ts";
import { installErrorHandling } from "./api/errors.ts";
import { securityHeaders } from "./api/headers.ts";
import { registerMeter } from "./api/internal_meter.ts";
import { registerProbeHeartbeat } from "./api/internal_probes_heartbeat.ts";
import { registerProbeResults } from "./api/internal_probes_results.ts";
import { registerProbeSendsClaim } from "./api/internal_probes_sends_claim.ts";
import { registerProbeSendsResults } from "./api/internal_probes_sends_results.ts";
import { capApiBody, initServices, rateLimit } from "./api/middleware.ts";
import { publishableKeys } from "./api/publishable.ts";
import { registerStripeWebhook } from "./api/stripe_webhook.ts";
import { registerClerkWebhook } from "./api/clerk_webhook.ts";
import { registerAccountGet } from "./api/v1_account_get.ts";
import { registerMetrics } from "./api/internal_metrics.ts";
import { registerAuditList } from "./api/v1_audit_list.ts";
import { registerCreditsLedger } from "./api/v1_credits_ledger.ts";
import { registerJobsCreate } from "./api/v1_jobs_create.ts";
import { registerJobsDelete } from "./api/v1_jobs_delete.ts";
import { registerJobsGet } from "./api/v1_jobs_get.ts";
import { registerJobsList } from "./api/v1_jobs_list.ts";
import { registerJobsLiveToken } from "./api/v1_jobs_live_token.ts";
import { registerJobsResults } from "./api/v1_jobs_results.ts";
import { registerVerify } from "./api/v1_verify.ts";
import { registerFind } from "./api/v1_find.ts";
import { registerDecisionMakers } from "./api/v1_decision_makers.ts";
import { registerWsJobs } from "./api/ws_jobs.ts";
import { registerWebhooksCreate } from "./api/v1_webhooks_create.ts";
import { registerWebhooksList } from "./api/v1_webhooks_list.ts";
import { registerWebhooksGet } from "./api/v1_webhooks_get.ts";
import { registerWebhooksUpdate } from "./api/v1_webhooks_update.ts";
import { registerWebhooksDelete } from "./api/v1_webhooks_delete.ts";
import { registerWebhooksRotateSecret } from "./api/v1_webhooks_rotate_secret.ts";
import { registerWebhooksTestSend } from "./api/v1_webhooks_test_send.ts";
import { registerWebhooksDeliveries } from "./api/v1_webhooks_deliveries.ts";
import { registerWebhooksReplay } from "./api/v1_webhooks_replay.ts";
import { registerHooksSubscribe } from "./api/v1_hooks_subscribe.ts";
import { registerHooksUnsubscribe } from "./api/v1_hooks_unsubscribe.ts";
import { registerHooksSamples } from "./api/v1_hooks_samples.ts";
import { registerWebhookCallbacks } from "./api/internal_webhooks.ts";
import { registerSuppressionsList } from "./api/v1_suppressions_list.ts";
import { registerSuppressionsAdd } from "./api/v1_suppressions_add.ts";
import { registerSuppressionsDelete } from "./api/v1_suppressions_delete.ts";
import { registerSuppressionsImport } from "./api/v1_suppressions_import.ts";
import { registerSuppressionsExport } from "./api/v1_suppressions_export.ts";
import { registerUnsubscribe } from "./api/unsubscribe.ts";
import { registerRelaysCreate } from "./api/v1_relays_create.ts";
import { registerRelaysList } from "./api/v1_relays_list.ts";
import { registerRelaysGet } from "./api/v1_relays_get.ts";
import { registerRelaysUpdate } from "./api/v1_relays_update.ts";
import { registerRelaysDelete } from "./api/v1_relays_delete.ts";
import { registerRelaysTest } from "./api/v1_relays_test.ts";
import { registerBounceMailboxesCreate } from "./api/v1_bounce_mailboxes_create.ts";
import { registerBounceMailboxesList } from "./api/v1_bounce_mailboxes_list.ts";
import { registerBounceMailboxesGet } from "./api/v1_bounce_mailboxes_get.ts";
import { registerBounceMailboxesUpdate } from "./api/v1_bounce_mailboxes_update.ts";
import { registerBounceMailboxesDelete } from "./api/v1_bounce_mailboxes_delete.ts";
import { registerBounceMailboxesTest } from "./api/v1_bounce_mailboxes_test.ts";
import { registerBounceMailboxesPoll } from "./api/v1_bounce_mailboxes_poll.ts";
import { registerSendersCreate } from "./api/v1_senders_create.ts";
import { registerSendersList } from "./api/v1_senders_list.ts";
import { registerSendersGet } from "./api/v1_senders_get.ts";
import { registerSendersDelete } from "./api/v1_senders_delete.ts";
import { registerSendersCheck } from "./api/v1_senders_check.ts";
import { registerSendersResendConfirmation } from "./api/v1_senders_resend_confirmation.ts";
import { registerSenderConfirm } from "./api/senders_confirm.ts";
import { registerTemplatesCreate } from "./api/v1_templates_create.ts";
import { registerTemplatesList } from "./api/v1_templates_list.ts";
import { registerTemplatesGet } from "./api/v1_templates_get.ts";
import { registerTemplatesUpdate } from "./api/v1_templates_update.ts";
import { registerTemplatesDelete } from "./api/v1_templates_delete.ts";
import { registerTemplatesPreview } from "./api/v1_templates_preview.ts";
import { registerCampaignsCreate } from "./api/v1_campaigns_create.ts";
import { registerCampaignsList } from "./api/v1_campaigns_list.ts";
import { registerCampaignsGet } from "./api/v1_campaigns_get.ts";
import { registerCampaignsStart } from "./api/v1_campaigns_start.ts";
import { registerCampaignsPause } from "./api/v1_campaigns_pause.ts";
import { registerCampaignsResume } from "./api/v1_campaigns_resume.ts";
import { registerCampaignsCancel } from "./api/v1_campaigns_cancel.ts";
import { registerCampaignsRecipients } from "./api/v1_campaigns_recipients.ts";
import { registerCampaignsLiveToken } from "./api/v1_campaigns_live_token.ts";
import { registerWsCampaigns } from "./api/ws_campaigns.ts";
import { registerBouncesCreate } from "./api/v1_bounces_create.ts";
import { registerBouncesList } from "./api/v1_bounces_list.ts";
import { registerBouncesGet } from "./api/v1_bounces_get.ts";
import { registerBounceSettingsGet } from "./api/v1_bounce_settings_get.ts";
import { registerBounceSettingsUpdate } from "./api/v1_bounce_settings_update.ts";
import { registerAccountAccuracy } from "./api/v1_account_accuracy.ts";
import { registerProbeBounces } from "./api/internal_probes_bounces.ts";
import { registerAccountRulesGet } from "./api/v1_account_rules_get.ts";
import { registerAccountRulesPut } from "./api/v1_account_rules_put.ts";
import { registerAccountUpdate } from "./api/v1_account_update.ts";
import { registerErasureCreate } from "./api/v1_erasure_create.ts";
import { CampaignHub } from "./campaignhub.ts";
import { JobHub } from "./jobhub.ts";
import { buildServices, UNKNOWN_ORIGIN } from "./context.ts";
import { sweepAutoTopUps } from "./billing/billing.ts";
import { sweep } from "./dispatch/sweep.ts";
import { sweepCampaigns } from "./campaigns/sweep.ts";
import { purgeExpiredSessions } from "./identity/session.ts";
import { sweepWebhooks } from "./webhooks/sweep.ts";
import { movedAnything, sweepRetention } from "./privacy/retention.ts";

export { CampaignHub, JobHub };

const PUBLIC_API_PATHS = new Set(["/api/v1/openapi.json", "/api/v1/docs"]);

const app = createApi();
app.use(securityHeaders);
app.use(initServices);
// Before every route: a publishable key (mx_pk_…) reaches the single check and nothing else.
app.use(publishableKeys);
app.use("/api/v1/*", async (c, next) => {
  if (PUBLIC_API_PATHS.has(c.req.path)) {
    await next();
    return;
  }
  // Already known and limited by publishableKeys.
  if (c.var.publishableOrigin) {
    await capApiBody(c, next);
    return;
  }
  await requireApiKey(c, async () => {
    await rateLimit(c, async () => {
      await capApiBody(c, next);
    });
  });
});
registerMetrics(app);

registerVerify(app);
registerFind(app);
registerDecisionMakers(app);
registerJobsCreate(app);
registerJobsList(app);
registerJobsGet(app);
registerJobsResults(app);
registerJobsDelete(app);
registerJobsLiveToken(app);
registerAccountGet(app);
registerCreditsLedger(app);
registerAuditList(app);
registerWebhooksCreate(app);
registerWebhooksList(app);
registerWebhooksGet(app);
registerWebhooksUpdate(app);
registerWebhooksDelete(app);
registerWebhooksRotateSecret(app);
registerWebhooksTestSend(app);
registerWebhooksDeliveries(app);
registerWebhooksReplay(app);
registerHooksSubscribe(app);
registerHooksUnsubscribe(app);
registerHooksSamples(app);
registerSuppressionsList(app);
registerSuppressionsAdd(app);
registerSuppressionsDelete(app);
registerSuppressionsImport(app);
registerSuppressionsExport(app);
registerRelaysCreate(app);
registerRelaysList(app);
registerRelaysGet(app);
registerRelaysUpdate(app);
registerRelaysDelete(app);
registerRelaysTest(app);
registerBounceMailboxesCreate(app);
registerBounceMailboxesList(app);
registerBounceMailboxesGet(app);
registerBounceMailboxesUpdate(app);
registerBounceMailboxesDelete(app);
registerBounceMailboxesTest(app);
registerBounceMailboxesPoll(app);
registerSendersCreate(app);
registerSendersList(app);
registerSendersGet(app);
registerSendersDelete(app);
registerSendersCheck(app);
registerSendersResendConfirmation(app);
registerTemplatesCreate(app);
registerTemplatesList(app);
registerTemplatesGet(app);
registerTemplatesUpdate(app);
registerTemplatesDelete(app);
registerTemplatesPreview(app);
registerCampaignsCreate(app);
registerCampaignsList(app);
registerCampaignsGet(app);
registerCampaignsStart(app);
registerCampaignsPause(app);
registerCampaignsResume(app);
registerCampaignsCancel(app);
registerCampaignsRecipients(app);
registerCampaignsLiveToken(app);
registerBouncesCreate(app);
registerBouncesList(app);
registerBouncesGet(app);
registerBounceSettingsGet(app);
registerBounceSettingsUpdate(app);
registerAccountAccuracy(app);
registerAccountRulesGet(app);
registerAccountRulesPut(app);
registerAccountUpdate(app);
registerErasureCreate(app);
registerDocs(app, app);
registerWsJobs(app);
registerWsCampaigns(app);
registerProbeHeartbeat(app);
registerProbeResults(app);
registerProbeSendsClaim(app);
registerProbeSendsResults(app);
registerProbeBounces(app);
registerMeter(app);
registerStripeWebhook(app);
registerClerkWebhook(app);
registerWebhookCallbacks(app);
// The unsubscribe links of campaign mail: no key, cookie or CSRF check (the token is the authority).
registerUnsubscribe(app);
registerSenderConfirm(app);

/** Hono's routes first; `fallback` answers every other path (Remix, in edge/entry.ts). */
export function createWorker(fallback?: (c: Context<AppEnv>) => Response | Promise<Response>) {
  if (fallback) app.all("*", (c) => (["/api/", "/internal/", "/webhooks/"].some((p) => c.req.path.startsWith(p)) ? c.notFound() : fallback(c)));
  installErrorHandling(app);
  return app;
}

export async function scheduled(_controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> {
  const services = buildServices(env, ctx, env.MXRAY_PUBLIC_URL ?? UNKNOWN_ORIGIN);
  const outcome = await sweep(services);
  const expiredSessions = await purgeExpiredSessions(services);
  const autoTopUps = await sweepAutoTopUps(services);
  const webhooks = await sweepWebhooks(services);
  // After the fleet's sweep: probes it found dead have their send batches taken back here.
  const campaigns = await sweepCampaigns(services);
  const campaignsMoved = Object.values(campaigns).some((n) => n > 0);
  const retention = await sweepRetention(services);
  if (outcome.stalledJobs || outcome.deadProbes || outcome.reclaimed || outcome.givenUp || expiredSessions || autoTopUps || webhooks.fannedOut || webhooks.attempted || webhooks.sealedSecrets || campaignsMoved || movedAnything(retention)) {
    console.log(JSON.stringify({ msg: "sweep", ...outcome, expiredSessions, autoTopUps, webhooks, campaigns, retention }));
  }
}

export default { fetch: createWorker().fetch, scheduled } satisfies ExportedHandler<Env>;

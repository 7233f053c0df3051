// Services are built once per request (or scheduled run) from the bindings and read from the
// context; handlers never construct clients. Each hosted service's adapter is chosen by the
// presence of its credentials, and each stand-in announces itself once per isolate.
import { createUpstashCache, type SharedCache } from "./adapters/cache.ts";
import { createDirectDispatcher, createQstashDispatcher, type Dispatcher } from "./adapters/dispatch.ts";
import { createDirectWebhookQueue, createQstashWebhookQueue, type WebhookQueue } from "./adapters/webhookqueue.ts";
import { createHttpProbeClient, type ProbeClient } from "./adapters/probeclient.ts";
import { peopleProvider, type PeopleProvider } from "./adapters/peopledata.ts";
import { createStripeGateway, type PaymentGateway } from "./adapters/stripe.ts";
import { createUpstashRateLimiter, type RateLimiter } from "./adapters/ratelimit.ts";
import { realClock, type Clock } from "./clock.ts";
import { loadConfig, type Config } from "./config.ts";
import type { RequestMeta } from "./audit/audit.ts";
import { createEdgeDb, type EdgeDb } from "./db.ts";
import { RETRY_SCHEDULE_MS } from "./webhooks/retry.ts";

export { systemWho, type Who } from "./who.ts";

export interface Services {
  config: Config;
  db: EdgeDb;
  /** null when neither QStash nor a signing key for direct dispatch is configured. */
  dispatcher: Dispatcher | null;
  rateLimiter: RateLimiter;
  cache: SharedCache;
  /** Asks a probe for one address now (the single check); batches go through `dispatcher`. */
  probeClient: ProbeClient;
  hub(jobId: string): DurableObjectStub<import("./jobhub.ts").JobHub>;
  campaignHub(campaignId: string): DurableObjectStub<import("./campaignhub.ts").CampaignHub>;
  waitUntil(p: Promise<unknown>): void;
  /** Runs webhook delivery attempts: QStash when QSTASH_TOKEN is set, else in the background here. */
  webhookQueue: WebhookQueue;
  /** Stripe, when STRIPE_SECRET_KEY is set; null means billing is off here. */
  payments: PaymentGateway | null;
  /** People Data Labs or Apollo, when a key is set; null means decision makers are off here. */
  peopleData: PeopleProvider | null;
  /** Where the request came from, for the audit log (null fields outside a request). */
  request: RequestMeta;
  /** What waits (for a first live probe) sleep on and read the time from; tests give their own. */
  clock: Clock;
  /** Where probes post results: our public URL, else the origin of the request. */
  origin: string;
  /** Puts this request's database calls in a shared lane (edge/db.ts Gate), e.g. one per job's
   *  results; otherwise the request is a lane of its own. */
  setDbLane(lane: string): void;
}

/**
 * The origin of scheduled runs without MXRAY_PUBLIC_URL: there is no request to learn ours from.
 * Links that leave us (campaign mail's unsubscribe URL) are not made with it.
 */
export const UNKNOWN_ORIGIN = "http://localhost";

let requests = 0;
const announced = new Set<string>();
function announce(what: string): void {
  if (announced.has(what)) return;
  announced.add(what);
  console.log(JSON.stringify({ msg: "stand-in in use", what }));
}

export function buildServices(env: Env, ctx: { waitUntil(p: Promise<unknown>): void }, requestOrigin: string, request: RequestMeta = { ip: null, userAgent: null, requestId: null }): Services {
  const config = loadConfig(env);
  let dispatcher: Dispatcher | null = null;
  if (config.QSTASH_TOKEN) {
    dispatcher = createQstashDispatcher({ token: config.QSTASH_TOKEN, ...(config.QSTASH_URL ? { baseUrl: config.QSTASH_URL } : {}) });
  } else if (config.QSTASH_CURRENT_SIGNING_KEY) {
    announce("direct dispatch to probes, signed as QStash signs (no QSTASH_TOKEN)");
    dispatcher = createDirectDispatcher({ signingKey: config.QSTASH_CURRENT_SIGNING_KEY, waitUntil: (p) => ctx.waitUntil(p) });
  }
  const upstash = { url: config.UPSTASH_REDIS_REST_URL, token: config.UPSTASH_REDIS_REST_TOKEN };
  const origin = (config.MXRAY_PUBLIC_URL ?? requestOrigin).replace(/\/+$/, "");
  if (!config.QSTASH_TOKEN) announce("webhook deliveries attempted by the Worker itself, retried by the sweeper (no QSTASH_TOKEN)");
  let dbLane = `request:${requests++}`;
  const services: Services = {
    config,
    db: createEdgeDb(config, () => dbLane),
    setDbLane: (lane) => void (dbLane = lane),
    dispatcher,
    rateLimiter: createUpstashRateLimiter({
      ...upstash,
      perMinute: config.MXRAY_RATE_LIMIT_PER_MIN,
      accountPerMinute: config.MXRAY_ACCOUNT_RATE_LIMIT_PER_MIN,
      publishablePerMinute: { key: config.MXRAY_PK_RATE_PER_KEY, origin: config.MXRAY_PK_RATE_PER_ORIGIN, ip: config.MXRAY_PK_RATE_PER_IP },
    }),
    cache: createUpstashCache(upstash),
    probeClient: createHttpProbeClient({ secret: config.PROBE_SECRET }),
    payments: config.STRIPE_SECRET_KEY ? createStripeGateway({ secretKey: config.STRIPE_SECRET_KEY, ...(config.STRIPE_API_URL ? { apiUrl: config.STRIPE_API_URL } : {}) }) : null,
    peopleData: peopleProvider(config),
    hub: (jobId) => env.JOB_HUB.get(env.JOB_HUB.idFromName(jobId)),
    campaignHub: (campaignId) => env.CAMPAIGN_HUB.get(env.CAMPAIGN_HUB.idFromName(campaignId)),
    waitUntil: (p) => ctx.waitUntil(p),
    origin,
    request,
    clock: realClock,
    webhookQueue: config.QSTASH_TOKEN
      ? createQstashWebhookQueue({ token: config.QSTASH_TOKEN, ...(config.QSTASH_URL ? { baseUrl: config.QSTASH_URL } : {}), origin, retries: RETRY_SCHEDULE_MS.length, callbackSecret: config.SESSION_SECRET })
      : createDirectWebhookQueue({ waitUntil: (p) => ctx.waitUntil(p) }),
  };
  return services;
}

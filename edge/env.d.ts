// Secrets and settings the Worker reads beyond wrangler.toml's bindings (`wrangler secret put`
// in production, .dev.vars or test bindings locally). Merged into the generated Cloudflare.Env.
declare namespace Cloudflare {
  interface Env {
    TURSO_DATABASE_URL: string;
    TURSO_AUTH_TOKEN?: string;
    /** HMAC secret shared with the probes (core/signing.ts). */
    PROBE_SECRET: string;
    /** Signs session cookies and live tokens (edge/config.ts). */
    SESSION_SECRET: string;
    SESSION_SECRET_PREVIOUS?: string;
    /** Master keys of the secrets at rest, `id:base64key,…` (edge/config.ts). */
    MXRAY_ENCRYPTION_KEYS: string;
  }
}
declare namespace Cloudflare {
  interface Env {
    /** Local runs: this exact key is accepted as a bearer key of a local account with credits. */
    MXRAY_DEV_API_KEY?: string;
  }
}
declare namespace Cloudflare {
  interface Env {
    MXRAY_MODE?: string;
    MXRAY_PUBLIC_URL?: string;
    QSTASH_TOKEN?: string;
    QSTASH_URL?: string;
    QSTASH_CURRENT_SIGNING_KEY?: string;
    QSTASH_NEXT_SIGNING_KEY?: string;
    UPSTASH_REDIS_REST_URL?: string;
    UPSTASH_REDIS_REST_TOKEN?: string;
  }
}
declare namespace Cloudflare {
  interface Env {
    MXRAY_RATE_LIMIT_PER_MIN?: string;
    MXRAY_ACCOUNT_RATE_LIMIT_PER_MIN?: string;
    /** A publishable key's windows a minute (edge/api/publishable.ts). */
    MXRAY_PK_RATE_PER_KEY?: string;
    MXRAY_PK_RATE_PER_ORIGIN?: string;
    MXRAY_PK_RATE_PER_IP?: string;
    MXRAY_PEOPLE_DATA_PER_DAY?: string;
    MXRAY_BATCH_SIZE?: string;
    MXRAY_BATCH_BUDGET_MS?: string;
    MXRAY_LEASE_MS?: string;
    MXRAY_DISPATCH_ORDER?: string;
    MXRAY_PROBE_DEAD_MS?: string;
    MXRAY_PROBE_WAIT_MS?: string;
    MXRAY_MAILBOXES_PER_PROBE?: string;
    MXRAY_MAX_UPLOAD_BYTES?: string;
    MXRAY_MAX_UNZIPPED_BYTES?: string;
    MXRAY_VERIFY_CACHE_S?: string;
    /** "1": relays may name loopback and private hosts (the local relay sink, test networks). */
    MXRAY_ALLOW_PRIVATE_TARGETS?: string;
  }
}
declare namespace Cloudflare {
  interface Env {
    /** Tests only: a database of its own for the sweeper's tests (vitest.workers.config.ts). */
    FLEET_TEST_DATABASE_URL?: string;
    /** Tests only: a database of its own for the single check's tests, and its stand-in probe (e2e/standin-probe.ts). */
    VERIFY_TEST_DATABASE_URL?: string;
    STANDIN_PROBE_URL?: string;
    /** Tests only: a database of its own for the webhook sweeper's tests. */
    WEBHOOKS_TEST_DATABASE_URL?: string;
    /** Tests only: a database of its own for the operations console's tests (it changes every probe). */
    ADMIN_TEST_DATABASE_URL?: string;
    /** Tests only: databases of their own for the relay and sender tests, which ask live probes. */
    RELAYS_TEST_DATABASE_URL?: string;
    SENDERS_TEST_DATABASE_URL?: string;
    /** Tests only: a database of its own for the campaigns' dispatch and sweeper tests (they act on every send batch). */
    CAMPAIGNS_TEST_DATABASE_URL?: string;
    /** Tests only: databases of their own for the bounce mailbox tests (a heartbeat takes every unassigned mailbox). */
    BOUNCE_MAILBOXES_TEST_DATABASE_URL?: string;
    MAILBOX_ASSIGN_TEST_DATABASE_URL?: string;
    /** Tests only: a loopback webhook receiver (e2e/standin-receiver.ts). */
    STANDIN_RECEIVER_URL?: string;
    /** Tests only: a Stripe stand-in with no Prices set up (vitest.workers.config.ts). */
    STANDIN_STRIPE_BARE_URL?: string;
  }
}
declare namespace Cloudflare {
  interface Env {
    CLERK_SECRET_KEY?: string;
    CLERK_PUBLISHABLE_KEY?: string;
    CLERK_JWT_KEY?: string;
    CLERK_SIGN_IN_URL?: string;
    CLERK_WEBHOOK_SIGNING_SECRET?: string;
    MXRAY_LOCAL_SIGNIN?: string;
    MXRAY_SIGNUP_CREDITS?: string;
  }
}
declare namespace Cloudflare {
  interface Env {
    STRIPE_WEBHOOK_SECRET?: string;
    STRIPE_SECRET_KEY?: string;
    STRIPE_API_URL?: string;
    MXRAY_METRICS_TOKEN?: string;
    MXRAY_ADMIN_EMAILS?: string;
  }
}
declare namespace Cloudflare {
  interface Env {
    PDL_API_KEY?: string;
    PDL_API_URL?: string;
    APOLLO_API_KEY?: string;
    APOLLO_API_URL?: string;
    /** Tests only: the loopback stand-ins of People Data Labs and Apollo (vitest.workers.config.ts). */
    STANDIN_PDL_URL?: string;
    STANDIN_APOLLO_URL?: string;
    STANDIN_PEOPLEDATA_KEY?: string;
  }
}

// Secrets and settings the Worker reads beyond wrangler.toml's bindings (`wrangler secret put`
// in production, .dev.vars or test bindings locally). Merged into the generated Cloudflare.Env.
declare namespace Cloudflare {
  interface Env {
    TURSO_DATABASE_URL: string;
    TURSO_AUTH_TOKEN?: string;
    /** HMAC secret shared with the probes (core/signing.ts). */
    PROBE_SECRET: string;
  }
}
declare namespace Cloudflare {
  interface Env {
    /** Local runs: this exact key is accepted as a bearer key of a local account with credits. */
    MXRAY_DEV_API_KEY?: string;
  }
}

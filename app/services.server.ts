// The services the Worker puts in the load context, and the edge modules loaders and actions use.
// Loaders call services; no SQL here. (A .server module: it never reaches the browser bundle.)
import type { Services } from "../edge/services/context.ts";

declare module "@remix-run/server-runtime" {
  interface AppLoadContext {
    cloudflare: { env: Env; ctx: { waitUntil(p: Promise<unknown>): void } };
    services: Services;
    /** The API's OpenAPI 3.1 document, as /api/v1/openapi.json serves it. */
    openapi: () => ReturnType<typeof import("../edge/api/docs.ts").openApiDocument>;
  }
}

export type { Services };
export { authorize, createTeam, listMembers, setMember, type Viewer } from "../edge/services/accounts.ts";
export { browseResults, RESULTS_PAGE_SIZE } from "../edge/services/browse.ts";
export { exportResults, EXPORT_FORMATS, type ExportFormat } from "../edge/services/export.ts";
export { cancelJob, getJob, ingestJob, jobView, listJobs } from "../edge/services/jobs.ts";
export { createApiKey, listApiKeys, revokeApiKey } from "../edge/services/keys.ts";
export { mintLiveToken } from "../edge/services/livetoken.ts";
export { defaultJobName, readUpload } from "../edge/services/upload.ts";
export { checkAddress } from "../edge/services/verify.ts";
export { ApiError } from "../edge/api/errors.ts";

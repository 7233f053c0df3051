// The typed client of the mxray API: openapi-fetch over the types openapi-typescript made of
// client/openapi.json, with the key sent on every call, the API's error envelope thrown as a
// MxrayApiError, and the helpers the CLI needs (upload a list, export results, wait for a job
// over its WebSocket). Node only: the WebSocket is `ws` (Node 20 has no global one).
import createClient from "openapi-fetch";
import WebSocket from "ws";
import { isTerminal, type JobProgress, type LiveMessage } from "../core/live.ts";
import type { components, paths } from "./schema.d.ts";

export type Job = components["schemas"]["Job"];
export type Result = components["schemas"]["Result"];
export type Account = components["schemas"]["Account"];
export type Verdict = Result["verdict"];
export type Webhook = components["schemas"]["Webhook"];
export type WebhookEvent = Webhook["events"][number];
export type ResultFormat = "csv" | "json" | "jsonl" | "xlsx";
/** What a job's list holds: addresses to verify, or people whose addresses are to be found. */
export type JobKind = NonNullable<NonNullable<paths["/api/v1/jobs"]["post"]["parameters"]["query"]>["kind"]>;
export type FindPerson = components["schemas"]["FindRequest"] & { domain: string };

/** The API's `{ error: { code, message, requestId } }`, or a stand-in code when the answer was not one. */
export class MxrayApiError extends Error {
  override name = "MxrayApiError";
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    readonly requestId: string | null,
  ) {
    super(message);
  }
}

function apiError(error: unknown, response: Response): MxrayApiError {
  const envelope = (error as { error?: { code?: unknown; message?: unknown; requestId?: unknown } } | null)?.error;
  if (envelope && typeof envelope.code === "string") {
    return new MxrayApiError(envelope.code, String(envelope.message ?? envelope.code), response.status, typeof envelope.requestId === "string" ? envelope.requestId : response.headers.get("x-request-id"));
  }
  // Not our envelope: a proxy's page, or a route this server does not have (an older deployment).
  const text = typeof error === "string" ? error.slice(0, 200) : "";
  return new MxrayApiError(`http_${response.status}`, `HTTP ${response.status} ${response.statusText}${text ? `: ${text}` : ""}`, response.status, response.headers.get("x-request-id"));
}

/** openapi-fetch's answer: the data, or the error thrown. */
function unwrap<T>(r: { data?: T; error?: unknown; response: Response }): T {
  if (r.error !== undefined || !r.response.ok) throw apiError(r.error, r.response);
  return r.data as T;
}

export interface MxrayClientOptions {
  /** The service's origin, e.g. `http://127.0.0.1:8787` (the API is under /api/v1). */
  baseUrl: string;
  apiKey: string;
  fetch?: (input: Request) => Promise<Response>;
}

export interface WaitOptions {
  /** Called with each state the job reaches (from the socket, or from polling). */
  onProgress?: (job: JobProgress) => void;
  /** Polling interval when the socket cannot be used. */
  pollMs?: number;
  /** Called once when the socket fails and polling takes over, with why. */
  onFallback?: (reason: string) => void;
}

export const DEFAULT_POLL_MS = 1000;

export function createMxrayClient(opts: MxrayClientOptions) {
  const baseUrl = opts.baseUrl.replace(/\/+$/, "");
  const authorization = `Bearer ${opts.apiKey}`;
  const api = createClient<paths>({ baseUrl, headers: { authorization }, ...(opts.fetch ? { fetch: opts.fetch } : {}) });
  const doFetch = opts.fetch ?? ((req: Request) => fetch(req));

  const getJob = async (id: string): Promise<Job> => unwrap(await api.GET("/api/v1/jobs/{id}", { params: { path: { id } } }));

  /** Polls GET /jobs/:id until the job is finished. */
  async function pollJob(id: string, w: WaitOptions): Promise<Job> {
    for (;;) {
      const job = await getJob(id);
      w.onProgress?.(job);
      if (isTerminal(job.status)) return job;
      await new Promise((r) => setTimeout(r, w.pollMs ?? DEFAULT_POLL_MS)); // the polling interval, by design
    }
  }

  /** Follows the job's WebSocket until a terminal state; rejects when the socket fails first. */
  async function watchJob(id: string, w: WaitOptions): Promise<void> {
    const { url } = unwrap(await api.POST("/api/v1/jobs/{id}/live-token", { params: { path: { id } } }));
    await new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(url);
      let done = false;
      ws.on("message", (data) => {
        let msg: LiveMessage;
        try {
          msg = JSON.parse(String(data)) as LiveMessage;
        } catch {
          return; // not one of ours; the next message will do
        }
        w.onProgress?.(msg.job);
        if (msg.type === "completed" || isTerminal(msg.job.status)) {
          done = true;
          ws.close();
          resolve();
        }
      });
      ws.on("error", (e) => reject(e));
      ws.on("close", (code) => {
        if (!done) reject(new Error(`the socket closed (${code}) before the job finished`));
      });
    });
  }

  return {
    /** The typed openapi-fetch client: `api.GET("/api/v1/account")`, … */
    api,

    /**
     * A call outside the document (operations a newer server has that this client was not
     * generated with), through the same key and error handling. Answers the parsed JSON, or null
     * for an empty body.
     */
    async request(method: string, path: string, body?: unknown): Promise<unknown> {
      const headers: Record<string, string> = { authorization };
      if (body !== undefined) headers["content-type"] = "application/json";
      const res = await doFetch(new Request(`${baseUrl}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) }));
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        // kept as text for the error message
      }
      if (!res.ok) throw apiError(parsed, res);
      return parsed;
    },

    account: async (): Promise<Account> => unwrap(await api.GET("/api/v1/account")),

    verify: async (email: string): Promise<Result> => unwrap(await api.POST("/api/v1/verify", { body: { email } })),

    /** A person's address from a name and a company domain or website; `email` is null when none was found. */
    find: async (body: FindPerson) => unwrap(await api.POST("/api/v1/find", { body })),

    /** A domain's decision makers from the server's people-data provider, each with the address found (501 `people_data_off` without one). */
    decisionMakers: async (body: { domain: string; titles?: string[]; limit?: number }) => unwrap(await api.POST("/api/v1/decision-makers", { body })),

    listJobs: async (limit?: number, cursor?: string) =>
      unwrap(await api.GET("/api/v1/jobs", { params: { query: { ...(limit ? { limit } : {}), ...(cursor ? { cursor } : {}) } } })),

    getJob,

    cancelJob: async (id: string): Promise<Job> => unwrap(await api.DELETE("/api/v1/jobs/{id}", { params: { path: { id }, query: {} } })),

    /**
     * Creates a job from a raw list: `text/csv`, `text/tab-separated-values` or `text/plain`, streamed
     * when given a stream; of kind `find` the list names people (the API's default is `verify`).
     */
    async uploadList(body: string | Uint8Array | ReadableStream<Uint8Array>, contentType: string, name?: string, kind?: JobKind): Promise<Job> {
      return unwrap(
        await api.POST("/api/v1/jobs", {
          // A verify upload's URL stays as it was before kinds, which every server reads.
          params: { query: { ...(name ? { name } : {}), ...(kind && kind !== "verify" ? { kind } : {}) } },
          // A raw body: the document types it as text, but a byte stream is what large files need.
          body: body as string,
          bodySerializer: (b) => b,
          headers: { "content-type": contentType },
          ...(body instanceof ReadableStream ? { duplex: "half" } : {}),
        }),
      );
    },

    listWebhooks: async (limit?: number, cursor?: string) =>
      unwrap(await api.GET("/api/v1/webhooks", { params: { query: { ...(limit ? { limit } : {}), ...(cursor ? { cursor } : {}) } } })),

    /** A new endpoint; its `secret` is shown only in this answer. */
    createWebhook: async (body: { url: string; events: WebhookEvent[]; description?: string }) => unwrap(await api.POST("/api/v1/webhooks", { body })),

    deleteWebhook: async (id: string): Promise<void> => {
      unwrap(await api.DELETE("/api/v1/webhooks/{id}", { params: { path: { id } } }));
    },

    /** A REST hook (what Zapier subscribes): the target gets `event`'s deliveries, signed. */
    subscribeHook: async (targetUrl: string, event: WebhookEvent) => unwrap(await api.POST("/api/v1/hooks", { body: { target_url: targetUrl, event } })),

    unsubscribeHook: async (id: string): Promise<void> => {
      unwrap(await api.DELETE("/api/v1/hooks/{id}", { params: { path: { id } } }));
    },

    /** Recent real objects of the event (or one sample): what a delivery's `data` holds. */
    hookSamples: async (event: WebhookEvent) => unwrap(await api.GET("/api/v1/hooks/samples", { params: { query: { event } } })),

    /** The job's results as a byte stream, optionally only some verdicts. */
    async results(id: string, format: ResultFormat = "jsonl", verdicts: Verdict[] = []): Promise<ReadableStream<Uint8Array>> {
      const query = { format, ...(verdicts.length ? { verdict: verdicts.join(",") } : {}) };
      const body = unwrap(await api.GET("/api/v1/jobs/{id}/results", { params: { path: { id }, query }, parseAs: "stream" }));
      if (!body) throw new MxrayApiError("empty_response", "The results came with no body", 200, null);
      return body;
    },

    /**
     * Waits until the job is completed, failed or canceled, following its WebSocket (a live token
     * from the API); when the socket cannot be opened or drops, polls GET /jobs/:id instead.
     * Answers the job as GET /jobs/:id gives it at the end.
     */
    async waitForJob(id: string, w: WaitOptions = {}): Promise<Job> {
      try {
        await watchJob(id, w);
      } catch (e) {
        // A refused key or unknown job is not a socket problem: polling would fail the same way.
        if (e instanceof MxrayApiError && e.status < 500) throw e;
        w.onFallback?.((e as Error).message);
        return pollJob(id, w);
      }
      return getJob(id);
    },
  };
}

export type MxrayClient = ReturnType<typeof createMxrayClient>;

// mxray's typed client (client/index.ts) inside Zapier. Zapier wants every request to go through
// `z.request` (its logging and error display); the client wants `fetch`. This turns one into the
// other, and the API's error envelope into errors Zapier shows to the person building the zap.
import type { Bundle, HttpRequestOptions, ZObject } from "zapier-platform-core";
import { createMxrayClient, MxrayApiError, type MxrayClient } from "../../../client/index.ts";

/** Where the API is: set with `zapier env:set <version> MXRAY_API_URL=https://…` (tests set it too). */
export function apiUrl(): string {
  const url = process.env.MXRAY_API_URL;
  if (!url) throw new Error("MXRAY_API_URL is not set for this integration (zapier env:set <version> MXRAY_API_URL=https://your-mxray-host)");
  return url.replace(/\/+$/, "");
}

/** A `fetch` that runs through z.request. */
function zapierFetch(z: ZObject): (request: Request) => Promise<Response> {
  return async (request) => {
    const headers: Record<string, string> = {};
    request.headers.forEach((v, k) => (headers[k] = v));
    const body = request.body ? Buffer.from(await request.arrayBuffer()) : undefined;
    const res = await z.request({
      url: request.url,
      method: request.method as HttpRequestOptions["method"],
      headers,
      ...(body ? { body } : {}),
      raw: true,
      skipThrowForStatus: true,
    });
    const answer = new Headers();
    res.headers.forEach((v: string, k: string) => answer.append(k, v));
    return new Response(res.status === 204 ? null : new Uint8Array(await res.buffer()), { status: res.status, headers: answer });
  };
}

/**
 * Runs calls of the typed client with the person's key; what the API refuses is thrown as Zapier
 * errors (a refused key asks them to reconnect), with `notFound` answering null for a 404.
 */
export async function withApi<T>(z: ZObject, bundle: Bundle, run: (client: MxrayClient) => Promise<T>, opts: { notFound?: "null" } = {}): Promise<T> {
  const client = createMxrayClient({ baseUrl: apiUrl(), apiKey: String(bundle.authData.api_key ?? ""), fetch: zapierFetch(z) });
  try {
    return await run(client);
  } catch (e) {
    if (!(e instanceof MxrayApiError)) throw e;
    if (e.status === 404 && opts.notFound === "null") return null as T;
    if (e.status === 401) throw new z.errors.RefreshAuthError(e.message);
    throw new z.errors.Error(e.message, e.code, e.status);
  }
}

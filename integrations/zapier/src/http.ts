// mxray's API from inside Zapier. Zapier wants every request to go through `z.request` (its
// logging, retries and error display); the typed client wants `fetch`. This turns one into the
// other, and our error envelope into errors Zapier shows to the person building the zap.
import type { Bundle, HttpRequestOptions, ZObject } from "zapier-platform-core";

/** Where the API is: set with `zapier env:set <version> MXRAY_API_URL=https://…` (tests set it too). */
export function apiUrl(): string {
  const url = process.env.MXRAY_API_URL;
  if (!url) throw new Error("MXRAY_API_URL is not set for this integration (zapier env:set <version> MXRAY_API_URL=https://your-mxray-host)");
  return url.replace(/\/+$/, "");
}

/** A `fetch` that runs through z.request with the person's API key. */
export function zapierFetch(z: ZObject, bundle: Bundle): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init);
    const headers: Record<string, string> = {};
    request.headers.forEach((v, k) => (headers[k] = v));
    headers.authorization = `Bearer ${bundle.authData.api_key}`;
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

interface Envelope {
  error?: { code?: string; message?: string; requestId?: string };
}

/**
 * Calls the API and answers its JSON, or throws what the API said (code and message) for Zapier to
 * show; with `orNull`, a 404 answers null.
 */
export async function callApi<T>(z: ZObject, bundle: Bundle, path: string, init: RequestInit & { orNull?: boolean } = {}): Promise<T> {
  const { orNull, ...rest } = init;
  const res = await zapierFetch(z, bundle)(`${apiUrl()}${path}`, rest);
  if (res.status === 204) return undefined as T;
  if (orNull && res.status === 404) return null as T;
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: reported below with the status
  }
  if (!res.ok) {
    const error = (json as Envelope | null)?.error;
    const message = error?.message ?? `mxray answered ${res.status}`;
    // 401: Zapier asks the person to reconnect; anything else is shown as it is.
    if (res.status === 401) throw new z.errors.RefreshAuthError(message);
    throw new z.errors.Error(message, error?.code ?? `http_${res.status}`, res.status);
  }
  return json as T;
}

// The web app's actions are authorised by a cookie, so a state-changing request must come from
// our own pages. Browsers send Origin on every POST (and Sec-Fetch-Site); a request from another
// site is refused. Clients without either header are not browsers and carry no ambient cookie.
export function crossSiteWrite(request: Request, publicUrl?: string): boolean {
  if (request.method === "GET" || request.method === "HEAD" || request.method === "OPTIONS") return false;
  const origin = request.headers.get("origin");
  if (origin !== null) {
    const ours = new Set([new URL(request.url).origin, ...(publicUrl ? [new URL(publicUrl).origin] : [])]);
    return !ours.has(origin);
  }
  const site = request.headers.get("sec-fetch-site");
  return site !== null && site !== "same-origin" && site !== "none";
}

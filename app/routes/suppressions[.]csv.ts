// GET /suppressions.csv: the account's whole suppression list as CSV, streamed in address order,
// safe against formula injection; it imports back as it is.
import type { LoaderFunctionArgs } from "@remix-run/server-runtime";
import { requireViewer } from "../auth.server.ts";
import { exportSuppressions } from "../lib/suppressions.server.ts";

export async function loader(args: LoaderFunctionArgs) {
  const viewer = await requireViewer(args);
  const body = exportSuppressions(args.context.services, { accountId: viewer.account.id, actor: viewer.user.id });
  return new Response(body, {
    headers: { "content-type": "text/csv; charset=utf-8", "content-disposition": `attachment; filename="suppressions-${viewer.account.id}.csv"`, "cache-control": "no-store" },
  });
}

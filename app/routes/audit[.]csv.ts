// GET /audit.csv: the audit log (with the page's filter), newest first, streamed page by page.
// Owners and admins only, like /audit. Cells are CSV-injection safe (core/csvexport.ts).
import type { LoaderFunctionArgs } from "@remix-run/server-runtime";
import { requireViewer } from "../auth.server.ts";
import { authorizeOr403 } from "../lib/actions.server.ts";
import { auditFilter, describe } from "../lib/audit.ts";
import { listAudit } from "../lib/audit.server.ts";
import { csvDownload } from "../lib/csvstream.ts";
import { listMembers } from "../lib/identity.server.ts";
import { actorLabel } from "../lib/ledger.ts";

const PAGE = 500;

export async function loader(args: LoaderFunctionArgs) {
  const viewer = await requireViewer(args);
  authorizeOr403(viewer, "audit:view");
  const accountId = viewer.account.id;
  const filter = auditFilter(new URL(args.request.url).searchParams);
  const emails = new Map((await listMembers(args.context.services, viewer)).map((m) => [m.userId, m.email]));
  return csvDownload(
    `audit-${accountId}.csv`,
    ["time", "action", "description", "actor", "actor_id", "target", "ip", "user_agent", "request_id", "detail"],
    (cursor) => listAudit(args.context.services, viewer, { limit: PAGE, cursor, ...filter }),
    (e) => [e.created_at, e.action, describe(e), actorLabel(e.actor, emails), e.actor, e.target, e.ip, e.user_agent, e.request_id, e.detail ? JSON.stringify(e.detail) : null],
  );
}

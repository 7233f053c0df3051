// GET /audit.csv: the audit log (with the page's filter), newest first, streamed page by page.
// Owners and admins only, like /audit. Cells are CSV-injection safe (core/csvexport.ts).
import type { LoaderFunctionArgs } from "@remix-run/server-runtime";
import { csvRow } from "../../core/csvexport.ts";
import { listMembers } from "../../edge/services/accounts.ts";
import { listAudit } from "../../edge/services/audit.ts";
import { requireViewer } from "../auth.server.ts";
import { authorizeOr403 } from "../lib/actions.server.ts";
import { auditFilter, describe } from "../lib/audit.ts";
import { actorLabel } from "../lib/ledger.ts";

const PAGE = 500;

export async function loader(args: LoaderFunctionArgs) {
  const viewer = await requireViewer(args);
  authorizeOr403(viewer, "audit:view");
  const { db } = args.context.services;
  const accountId = viewer.account.id;
  const filter = auditFilter(new URL(args.request.url).searchParams);
  const emails = new Map((await listMembers(db, accountId)).map((m) => [m.userId, m.email]));
  const encoder = new TextEncoder();
  let cursor: string | undefined;
  let started = false;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      let out = started ? "" : csvRow(["time", "action", "description", "actor", "actor_id", "target", "ip", "user_agent", "request_id", "detail"]);
      started = true;
      const page = await listAudit(db, accountId, { limit: PAGE, cursor }, filter);
      for (const e of page.data) {
        out += csvRow([e.created_at, e.action, describe(e), actorLabel(e.actor, emails), e.actor, e.target, e.ip, e.user_agent, e.request_id, e.detail ? JSON.stringify(e.detail) : null]);
      }
      if (out) controller.enqueue(encoder.encode(out));
      if (page.next_cursor) cursor = page.next_cursor;
      else controller.close();
    },
  });
  return new Response(body, {
    headers: { "content-type": "text/csv; charset=utf-8", "content-disposition": `attachment; filename="audit-${accountId}.csv"`, "cache-control": "no-store" },
  });
}

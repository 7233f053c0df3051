// GET /billing/ledger.csv: every credit movement of the account, newest first, streamed page by
// page through the ledger's cursor pages. Owners and admins only, like /billing.
import type { LoaderFunctionArgs } from "@remix-run/server-runtime";
import { csvRow } from "../../core/csvexport.ts";
import { listMembers } from "../../edge/services/accounts.ts";
import { listLedger } from "../../edge/services/ledger.ts";
import { requireViewer } from "../auth.server.ts";
import { authorizeOr403 } from "../lib/actions.server.ts";
import { actorLabel, reasonLabel } from "../lib/ledger.ts";

const PAGE = 500;

export async function loader(args: LoaderFunctionArgs) {
  const viewer = await requireViewer(args);
  authorizeOr403(viewer, "billing:view");
  const { db } = args.context.services;
  const accountId = viewer.account.id;
  const emails = new Map((await listMembers(db, accountId)).map((m) => [m.userId, m.email]));
  const encoder = new TextEncoder();
  let cursor: string | undefined;
  let started = false;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      let out = started ? "" : csvRow(["date", "reason", "description", "credits", "actor", "actor_id", "job_id", "entry_id"]);
      started = true;
      const page = await listLedger(db, accountId, { limit: PAGE, cursor });
      for (const e of page.data) {
        out += csvRow([e.created_at, e.reason, reasonLabel(e.reason), e.delta, actorLabel(e.actor, emails), e.actor, e.job_id, e.id]);
      }
      if (out) controller.enqueue(encoder.encode(out));
      if (page.next_cursor) cursor = page.next_cursor;
      else controller.close();
    },
  });
  const slug = viewer.account.name.replace(/[^\w.-]+/g, "_").replace(/^_+|_+$/g, "").slice(0, 60) || accountId;
  return new Response(body, {
    headers: {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="${slug}-credits.csv"`,
      "cache-control": "no-store",
    },
  });
}

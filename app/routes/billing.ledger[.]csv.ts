// GET /billing/ledger.csv: every credit movement of the account, newest first, streamed page by
// page through the ledger's cursor pages. Owners and admins only, like /billing.
import type { LoaderFunctionArgs } from "@remix-run/server-runtime";
import { listMembers } from "../../edge/identity/accounts.ts";
import { listLedger } from "../../edge/credits/ledger.ts";
import { requireViewer } from "../auth.server.ts";
import { authorizeOr403 } from "../lib/actions.server.ts";
import { csvDownload } from "../lib/csvstream.ts";
import { actorLabel, reasonLabel } from "../lib/ledger.ts";

const PAGE = 500;

export async function loader(args: LoaderFunctionArgs) {
  const viewer = await requireViewer(args);
  authorizeOr403(viewer, "billing:view");
  const { db } = args.context.services;
  const accountId = viewer.account.id;
  const emails = new Map((await listMembers(args.context.services, viewer)).map((m) => [m.userId, m.email]));
  const slug = viewer.account.name.replace(/[^\w.-]+/g, "_").replace(/^_+|_+$/g, "").slice(0, 60) || accountId;
  return csvDownload(
    `${slug}-credits.csv`,
    ["date", "reason", "description", "credits", "actor", "actor_id", "job_id", "entry_id"],
    (cursor) => listLedger(db, accountId, { limit: PAGE, cursor }),
    (e) => [e.created_at, e.reason, reasonLabel(e.reason), e.delta, actorLabel(e.actor, emails), e.actor, e.job_id, e.id],
  );
}

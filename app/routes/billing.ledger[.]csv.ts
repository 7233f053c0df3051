// GET /billing/ledger.csv: every credit movement of the account, newest first, streamed page by
// page through the ledger's cursor pages. Owners and admins only, like /billing.
import type { LoaderFunctionArgs } from "@remix-run/server-runtime";
import { requireViewer } from "../auth.server.ts";
import { authorizeOr403 } from "../lib/actions.server.ts";
import { listLedger } from "../lib/credits.server.ts";
import { csvDownload } from "../lib/csvstream.ts";
import { listMembers } from "../lib/identity.server.ts";
import { actorLabel, reasonLabel } from "../lib/ledger.ts";

const PAGE = 500;

export async function loader(args: LoaderFunctionArgs) {
  const viewer = await requireViewer(args);
  authorizeOr403(viewer, "billing:view");
  const { services } = args.context;
  const { db } = services;
  const accountId = viewer.account.id;
  const emails = new Map((await listMembers(args.context.services, viewer)).map((m) => [m.userId, m.email]));
  const slug = viewer.account.name.replace(/[^\w.-]+/g, "_").replace(/^_+|_+$/g, "").slice(0, 60) || accountId;
  return csvDownload(
    `${slug}-credits.csv`,
    ["date", "reason", "description", "credits", "actor", "actor_id", "job_id", "list_name", "entry_id"],
    (cursor) => listLedger(services, { accountId, actor: viewer.user.id }, { limit: PAGE, cursor }),
    (e) => [e.created_at, e.reason, reasonLabel(e.reason), e.delta, actorLabel(e.actor, emails), e.actor, e.job_id, e.job_name, e.id],
  );
}

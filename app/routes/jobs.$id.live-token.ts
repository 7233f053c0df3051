// POST /jobs/:id/live-token: a fresh token for the job's WebSocket, for the signed-in viewer.
import type { ActionFunctionArgs } from "@remix-run/server-runtime";
import { getJob } from "../../edge/jobs/jobs.ts";
import { mintLiveToken } from "../../edge/identity/livetoken.ts";
import { requireViewer } from "../auth.server.ts";
import { jobOr404 } from "../lib/jobs.server.ts";

export async function action(args: ActionFunctionArgs) {
  const viewer = await requireViewer(args);
  const { services } = args.context;
  const job = await jobOr404(() => getJob(services, { accountId: viewer.account.id, actor: viewer.user.id }, args.params.id!));
  return Response.json(await mintLiveToken(services.config, job.id, viewer.account.id, viewer.holder));
}

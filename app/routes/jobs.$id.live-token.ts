// POST /jobs/:id/live-token: a fresh token for the job's WebSocket, for the signed-in viewer.
import type { ActionFunctionArgs } from "@remix-run/server-runtime";
import { requireViewer } from "../auth.server.ts";
import { mintLiveToken } from "../lib/identity.server.ts";
import { getJob, jobOr404 } from "../lib/jobs.server.ts";

export async function action(args: ActionFunctionArgs) {
  const viewer = await requireViewer(args);
  const { services } = args.context;
  const job = await jobOr404(() => getJob(services, viewer, args.params.id!));
  return Response.json(await mintLiveToken(services, viewer, { jobId: job.id, holder: viewer.holder }));
}

// Another account's job and a missing one look the same: 404, never a hint that the id exists.
import { ServiceError } from "../../edge/errors.ts";
import type { JobRow } from "../../edge/jobs/view.ts";

export async function jobOr404(load: () => Promise<JobRow>): Promise<JobRow> {
  try {
    return await load();
  } catch (e) {
    if (e instanceof ServiceError && e.code === "not_found") throw new Response("No such job in this account.", { status: 404 });
    throw e;
  }
}

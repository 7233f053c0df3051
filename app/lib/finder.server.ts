// The edge's finder as /find uses it (a pasted list becomes a job: jobs.server.ts).
export { findPerson } from "../../edge/finder/find.ts";

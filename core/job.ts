// A job's statuses and kinds as plain lists, for the database's columns and the job contract
// (core/contracts.ts JobSchema). No zod here: db/schema.ts loads this first thing, and a zod
// schema built before @hono/zod-openapi loads has no `.openapi()` (zod 4 copies methods onto a
// schema when it is built), which edge/api/schemas.ts needs on the contracts' schemas.

/** Every status a job can have; the database's column and the API's enum are this list. */
export const JOB_STATUSES = ["ingesting", "queued", "running", "completed", "failed", "canceled"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** verify: a list of addresses; find: a list of people whose addresses are found (issue 14). */
export const JOB_KINDS = ["verify", "find"] as const;
export type JobKind = (typeof JOB_KINDS)[number];

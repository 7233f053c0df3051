// The edge's relays capability as the pages use it: list, add, change, delete and test the
// account's SMTP relays. The password goes in and never comes back (`has_password`).
import { z } from "zod";
import { RELAY_SECURITIES } from "../../core/enums.ts";

export { createRelay, DEFAULT_PORTS, deleteRelay, listRelays, testRelay, updateRelay } from "../../edge/relays/relays.ts";
export type { RelayTestResult, RelayView } from "../../edge/relays/views.ts";

// The API's limits (edge/api/relay_schemas.ts) in plain zod: the API's schemas carry OpenAPI
// metadata that the app's bundle does not load.
const fields = {
  name: z.string().min(1).max(100),
  host: z.string().min(1).max(255),
  port: z.number().int().min(1).max(65_535),
  security: z.enum(RELAY_SECURITIES),
  username: z.string().min(1).max(256).nullable(),
  password: z.string().min(1).max(1_024).nullable(),
  max_per_minute: z.number().int().min(1).max(100_000),
  max_per_day: z.number().int().min(1).max(100_000_000),
};

export const RelayCreateForm = z.object({ ...fields, port: fields.port.optional(), username: fields.username.optional(), password: fields.password.optional() }).strict();
export const RelayUpdateForm = z.object(fields).partial().strict();

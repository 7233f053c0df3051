// The edge's retention and erasure (issue 25) as the settings page uses them.
export { getRetention, RETENTION_DAYS, updateRetention, type RetentionDays } from "../../edge/privacy/retention.ts";
export { eraseAddress, type Erasure } from "../../edge/privacy/erasure.ts";

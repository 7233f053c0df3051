// The edge's audit log as the pages use it: read by /audit and its CSV export, written by the
// local sign-in.
export { AUDIT_ACTIONS, listAudit, recordAudit, type AuditAction, type AuditFilter, type AuditView } from "../../edge/audit/audit.ts";

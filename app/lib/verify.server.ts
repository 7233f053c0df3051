// The edge's single check as /verify uses it.
export { checkAddress } from "../../edge/verify/verify.ts";

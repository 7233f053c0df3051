// The edge's identity capability as the pages use it: accounts and members, sessions and their
// cookies, the local sign-in, API keys, live tokens. (Who is asking: app/auth.server.ts.)
export { authorize, createTeam, ensurePersonalAccount, listMembers, personalAccountOf, removeMember, setMember } from "../../edge/identity/accounts.ts";
export { createApiKey, listApiKeys, MAX_ACTIVE_KEYS, revokeApiKey } from "../../edge/identity/keys.ts";
export { mintLiveToken } from "../../edge/identity/livetoken.ts";
export { accountCookie, clearAccountCookie, clearSessionCookie, endSession, startSession } from "../../edge/identity/session.ts";
export { localSignInAllowed, safeNext } from "../../edge/identity/signin.ts";

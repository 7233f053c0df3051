// `npm run secrets:rotate`: after a new master key is put first in MXRAY_ENCRYPTION_KEYS, moves
// everything still under an older one to it, so the older key can then be removed
// (docs/decisions/008-secrets-at-rest.md). Secrets are sealed under per-account data keys, so
// rewrapping the data keys is the whole rotation: no secret is decrypted or rewritten. It also
// seals any webhook secret still stored in clear (rows from before migration 0012). Safe to run
// again, and while the Worker runs: each write is conditional on the value it replaces.
//
//   MXRAY_ENCRYPTION_KEYS='k2:<new>,k1:<old>' TURSO_DATABASE_URL=… [TURSO_AUTH_TOKEN=…] npm run secrets:rotate
//
// Runs in Node through tsx, on the Worker's own database client and services (no Node imports:
// edge/ is typechecked with workerd's types).
import { parseEncryptionKeys } from "../core/secrets.ts";
import { createEdgeDb } from "./db.ts";
import { createVault, rewrapDataKeys } from "./secrets/secrets.ts";
import { sealClearWebhookSecrets } from "./webhooks/secrets.ts";

const node = (globalThis as unknown as { process: { env: Record<string, string | undefined>; exitCode?: number } }).process;

async function main(): Promise<number> {
  const raw = node.env.MXRAY_ENCRYPTION_KEYS;
  if (!raw) {
    console.error("MXRAY_ENCRYPTION_KEYS: required (`id:base64key,…`, the new key first)");
    return 2;
  }
  const keys = parseEncryptionKeys(raw);
  if (!keys.ok) {
    console.error(`MXRAY_ENCRYPTION_KEYS: ${keys.message}`);
    return 2;
  }
  const url = node.env.TURSO_DATABASE_URL ?? "http://127.0.0.1:8080";
  const vault = await createVault(createEdgeDb({ TURSO_DATABASE_URL: url, TURSO_AUTH_TOKEN: node.env.TURSO_AUTH_TOKEN }), keys.keys);
  const primary = vault.keyring.primary.id;
  const { rewrapped, remaining } = await rewrapDataKeys(vault);
  let sealed = 0;
  for (;;) {
    const n = await sealClearWebhookSecrets(vault);
    if (n === 0) break;
    sealed += n;
  }
  console.log(`${url}: ${rewrapped} data key(s) rewrapped under ${primary}, ${sealed} clear webhook secret(s) sealed`);
  if (remaining > 0) {
    console.error(`${remaining} data key(s) are still under another key (written meanwhile?): run again before removing any key`);
    return 1;
  }
  const others = keys.keys.slice(1).map((k) => k.id);
  if (others.length > 0) console.log(`nothing is under ${others.join(", ")} any more: remove it from MXRAY_ENCRYPTION_KEYS once every Worker runs with ${primary} first`);
  return 0;
}

node.exitCode = await main().catch((e: unknown) => {
  console.error(e instanceof Error ? `${e.name}: ${e.message}` : String(e));
  return 1;
});

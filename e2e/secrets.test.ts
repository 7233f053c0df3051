// `npm run secrets:rotate` (edge/secrets-rotate.ts) as an operator runs it, against a real sqld
// migrated the way production is: data keys under the old master key are rewrapped under the new
// one, webhook secrets stored in clear before migration 0012 are sealed, nothing stored is lost,
// and the old key can then go. Rows are written as the Worker writes them (core/secrets.ts).
import { execFile } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dataKeySet, importKeyring, isSealed, newDataKey, openString, seal, sealedKeyId, unwrapDataKey, type KeySpec } from "../core/secrets.ts";
import { createDb } from "../db/client.ts";
import { migrateDb } from "../db/migrate.ts";
import { startSqld, type RunningSqld } from "../db/sqld.ts";
import { WEBHOOK_SECRET_PURPOSE } from "../edge/webhooks/secrets.ts";
import { scratchDir } from "./scratch.ts";

const ROOT = join(import.meta.dirname, "..");
const key = (id: string, fill: number): KeySpec => ({ id, bytes: new Uint8Array(32).fill(fill) });
const env = (...keys: KeySpec[]) => keys.map((k) => `${k.id}:${Buffer.from(k.bytes).toString("base64")}`).join(",");
const [k1, k2, k3] = [key("k1", 1), key("k2", 2), key("k3", 3)];

let sqld: RunningSqld;
let client: ReturnType<typeof createDb>["client"];

function rotate(keys: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["--import", "tsx", join(ROOT, "edge/secrets-rotate.ts")], { cwd: ROOT, timeout: 50_000, env: { ...process.env, MXRAY_ENCRYPTION_KEYS: keys, TURSO_DATABASE_URL: sqld.url } }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function endpoint(accountId: string, id: string, secret: string): Promise<void> {
  await client.execute({ sql: "INSERT INTO accounts (id, name, kind) VALUES (?1, ?1, 'personal') ON CONFLICT DO NOTHING", args: [accountId] });
  await client.execute({
    sql: "INSERT INTO webhook_endpoints (id, account_id, kind, url, events, secret, enabled) VALUES (?1, ?2, 'endpoint', 'https://hooks.example.com/', '[\"job.completed\"]', ?3, 1)",
    args: [id, accountId, secret],
  });
}

/** The endpoint's `whsec_…` as the Worker would open it with only these master keys. */
async function openWith(keys: KeySpec[], endpointId: string): Promise<string> {
  const row = (await client.execute({ sql: "SELECT w.account_id, w.secret, d.id, d.wrapped FROM webhook_endpoints w JOIN data_keys d USING (account_id) WHERE w.id = ?1", args: [endpointId] })).rows[0]!;
  const dataKey = await unwrapDataKey(await importKeyring(keys), String(row.account_id), String(row.id), String(row.wrapped));
  return openString(dataKeySet(dataKey), { purpose: WEBHOOK_SECRET_PURPOSE, recordId: endpointId }, String(row.secret));
}

beforeAll(async () => {
  sqld = await startSqld({ dataDir: scratchDir("secrets-rotate") });
  await migrateDb(sqld.url);
  client = createDb({ url: sqld.url }).client;
}, 60_000);

afterAll(async () => {
  client?.close();
  await sqld?.stop();
});

describe("npm run secrets:rotate", () => {
  it("rewraps data keys under the first key and seals clear webhook secrets; then the old key can go", async () => {
    // An account whose data key is wrapped under k1, with a sealed webhook secret.
    const old = await newDataKey(await importKeyring([k1]), "acc_old");
    await client.execute({ sql: "INSERT INTO accounts (id, name, kind) VALUES ('acc_old', 'old', 'personal')", args: [] });
    await client.execute({ sql: "INSERT INTO data_keys (account_id, id, wrapped) VALUES ('acc_old', ?1, ?2)", args: [old.id, old.wrapped] });
    await endpoint("acc_old", "whk_old", await seal(old.key, { purpose: WEBHOOK_SECRET_PURPOSE, recordId: "whk_old" }, "whsec_sealedbefore"));
    // An endpoint from before migration 0012: its secret in clear, its account without a data key.
    const legacy = `whsec_${Buffer.from("twenty-four legacy bytes").toString("base64")}`;
    await endpoint("acc_legacy", "whk_legacy", legacy);

    const first = await rotate(env(k2, k1));
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain("1 data key(s) rewrapped under k2, 1 clear webhook secret(s) sealed");
    expect(first.stdout).toContain("nothing is under k1 any more");

    const keys = (await client.execute("SELECT account_id, id, wrapped FROM data_keys ORDER BY account_id")).rows;
    expect(keys.map((r) => [r.account_id, sealedKeyId(String(r.wrapped))])).toEqual([["acc_legacy", "k2"], ["acc_old", "k2"]]);
    expect(keys.find((r) => r.account_id === "acc_old")!.id).toBe(old.id); // the same data key, rewrapped
    const stored = (await client.execute("SELECT secret FROM webhook_endpoints WHERE id = 'whk_legacy'")).rows[0]!.secret;
    expect(isSealed(String(stored))).toBe(true);

    // k1 removed: everything still opens, to what was stored.
    expect(await openWith([k2], "whk_old")).toBe("whsec_sealedbefore");
    expect(await openWith([k2], "whk_legacy")).toBe(legacy);

    const again = await rotate(env(k2));
    expect([again.code, again.stdout]).toEqual([0, expect.stringContaining("0 data key(s) rewrapped under k2, 0 clear webhook secret(s) sealed")]);
  }, 120_000);

  it("fails naming the field or the key it lacks, and changes nothing", async () => {
    const bad = await rotate(`k1:${Buffer.alloc(16).toString("base64")}`);
    expect([bad.code, bad.stderr.trim()]).toEqual([2, "MXRAY_ENCRYPTION_KEYS: key k1 is 16 bytes; AES-256 needs 32 (e.g. openssl rand -base64 32)"]);
    // k2 dropped before its data keys moved to k3: the command stops at the first one it cannot open.
    const lost = await rotate(env(k3));
    expect(lost.code).toBe(1);
    expect(lost.stderr).toMatch(/SecretError: the data_key of acc_\w+ is sealed under key k2, which MXRAY_ENCRYPTION_KEYS does not hold/);
    const wrapped = (await client.execute("SELECT wrapped FROM data_keys")).rows.map((r) => sealedKeyId(String(r.wrapped)));
    expect(wrapped).toEqual(["k2", "k2"]);
  }, 120_000);
});

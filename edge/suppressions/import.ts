// Imports addresses into the suppression list (issue 23): a CSV or plain list (its email column
// found as an upload's is, core/emailfile.ts: a column named email, else the one holding
// addresses, the first of a one-column file), or JSON `{ "emails": [...] }`. At most 100,000 rows
// a request; every row is accounted for as added, already on the list (or repeated in the file),
// or invalid (no address in its cell, or not an address). All of it is one write. A file of our
// export imports back as it was (its defused cells are read as they were, core/csvexport.ts), its
// tombstones (`sha256:…`, erased addresses) included; an address whose tombstone is on the list
// is already there (its tombstone comes back in clear, first reason kept).
import { z } from "zod";
import { unescapeCell } from "../../core/csvexport.ts";
import { AddressListReader } from "../../core/emailfile.ts";
import { SUPPRESSION_REASONS, type SuppressionReason } from "../../core/enums.ts";
import { capBytes, readCappedText } from "../../core/limitedbody.ts";
import { isTombstone } from "../../core/tombstone.ts";
import { recordAudit } from "../audit/audit.ts";
import type { Services, Who } from "../context.ts";
import { ServiceError } from "../errors.ts";
import { hasTombstones, revealStatements, suppressionKey, withTombstones } from "./suppressions.ts";

export const MAX_IMPORT_ROWS = 100_000;
/** A JSON body is read whole; 100,000 addresses of any real length fit. */
const MAX_IMPORT_JSON_BYTES = 32 * 1024 * 1024;
/** Addresses per INSERT (one bound JSON array each), all in one batch. */
const INSERT_CHUNK = 2_000;

export type ImportSource = { kind: "emails"; emails: string[] } | { kind: "text"; stream: ReadableStream<Uint8Array> };

export interface ImportCounts {
  /** Rows read (a header and blank lines are not rows): added + already + invalid. */
  rows: number;
  added: number;
  already: number;
  invalid: number;
}

export const ImportJson = z.object({
  emails: z.array(z.string()).max(MAX_IMPORT_ROWS),
  reason: z.enum(SUPPRESSION_REASONS).optional(),
});

const TEXT_TYPES = new Set(["text/csv", "text/plain", "text/tab-separated-values", "application/csv"]);

const tooLarge = (limit: number) => () => new ServiceError("payload_too_large", `Imports are limited to ${limit} bytes; split the list`);

/** The request's body as an import: JSON is read whole (under its cap), text is streamed under `limit`. */
export async function readImport(req: Request, limit: number): Promise<{ source: ImportSource; reason?: SuppressionReason | undefined }> {
  const type = (req.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (type === "application/json") {
    const jsonLimit = Math.min(limit, MAX_IMPORT_JSON_BYTES);
    let json: unknown;
    try {
      json = JSON.parse(await readCappedText(req.body, jsonLimit, tooLarge(jsonLimit)));
    } catch (e) {
      if (e instanceof ServiceError) throw e;
      throw new ServiceError("invalid_json", "The body is not valid JSON");
    }
    const parsed = ImportJson.safeParse(json);
    if (!parsed.success) throw new ServiceError("validation_failed", parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; "));
    return { source: { kind: "emails", emails: parsed.data.emails }, reason: parsed.data.reason };
  }
  if (TEXT_TYPES.has(type)) {
    const declared = Number(req.headers.get("content-length"));
    if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit)();
    return { source: { kind: "text", stream: capBytes(req.body ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() }), limit, tooLarge(limit)) } };
  }
  throw new ServiceError("unsupported_media_type", `Send text/csv, text/plain or application/json, not "${type || "nothing"}"`);
}

/** Counts rows as they are read; the distinct keys are what gets written. */
class Tally {
  readonly keys = new Set<string>();
  rows = 0;
  already = 0;
  invalid = 0;

  private count(): void {
    if (++this.rows > MAX_IMPORT_ROWS) throw new ServiceError("validation_failed", `An import holds at most ${MAX_IMPORT_ROWS} rows; split the list (nothing was imported)`);
  }

  take(cell: string): void {
    this.count();
    const trimmed = cell.trim().toLowerCase();
    const key = isTombstone(trimmed) ? trimmed : suppressionKey(cell);
    if (!key) this.invalid++;
    else if (this.keys.has(key)) this.already++;
    else this.keys.add(key);
  }

  reject(): void {
    this.count();
    this.invalid++;
  }
}

async function readText(stream: ReadableStream<Uint8Array>, tally: Tally): Promise<void> {
  const list = new AddressListReader({ onReject: () => tally.reject() });
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
  const notUtf8 = () => new ServiceError("not_utf8", "The file is not UTF-8 text; export it as CSV UTF-8 and import again");
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      let text: string;
      try {
        text = decoder.decode(value, { stream: true });
      } catch {
        throw notUtf8();
      }
      for (const row of list.push(text)) tally.take(unescapeCell(row.email));
    }
    let tail: string;
    try {
      tail = decoder.decode();
    } catch {
      throw notUtf8();
    }
    for (const row of [...list.push(tail), ...list.end()]) tally.take(unescapeCell(row.email));
  } catch (e) {
    await reader.cancel().catch(() => {});
    throw e;
  }
}

/** Reads the whole import, then writes its new addresses in one batch; answers how every row ended. */
export async function importSuppressions(s: Services, who: Who, input: { source: ImportSource; reason?: SuppressionReason | undefined }, now = Date.now()): Promise<ImportCounts> {
  const reason = input.reason ?? "manual";
  const tally = new Tally();
  if (input.source.kind === "emails") for (const email of input.source.emails) tally.take(email);
  else await readText(input.source.stream, tally);
  if (tally.rows === 0) throw new ServiceError("empty_upload", "The import holds no rows");

  const keys = [...tally.keys];
  let added = 0;
  if (keys.length > 0) {
    const statements = [];
    if (await hasTombstones(s.db, who.accountId)) {
      const pairs = await withTombstones(keys.filter((k) => !isTombstone(k)));
      for (let i = 0; i < pairs.length; i += INSERT_CHUNK) statements.push(...revealStatements(who.accountId, pairs.slice(i, i + INSERT_CHUNK)));
    }
    const firstInsert = statements.length;
    for (let i = 0; i < keys.length; i += INSERT_CHUNK) {
      // `WHERE true` tells SQLite's parser that ON CONFLICT is the upsert's, not a join's.
      statements.push({
        sql: `INSERT INTO suppressions (account_id, email, reason, campaign_id, source, created_at)
              SELECT ?1, value, ?2, NULL, 'import', ?3 FROM json_each(?4) WHERE true ON CONFLICT DO NOTHING`,
        args: [who.accountId, reason, now, JSON.stringify(keys.slice(i, i + INSERT_CHUNK))],
      });
    }
    const results = await s.db.$client.batch(statements, "write");
    added = results.slice(firstInsert).reduce((sum, r) => sum + r.rowsAffected, 0);
  }
  const counts: ImportCounts = { rows: tally.rows, added, already: tally.already + keys.length - added, invalid: tally.invalid };
  await recordAudit(s, who, { action: "suppression.imported", detail: { reason, ...counts } }, now);
  return counts;
}

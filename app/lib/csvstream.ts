// A CSV download streamed page by page from one of the API's cursor-paged lists (the ledger,
// the audit log): a page is read only when the client pulls, so memory stays one page.
import { csvRow } from "../../core/csvexport.ts";

type Cell = Parameters<typeof csvRow>[0][number];

export function csvDownload<T>(
  filename: string,
  header: string[],
  page: (cursor: string | undefined) => Promise<{ data: T[]; next_cursor: string | null }>,
  row: (entry: T) => Cell[],
): Response {
  const encoder = new TextEncoder();
  let cursor: string | undefined;
  let started = false;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      let out = started ? "" : csvRow(header);
      started = true;
      const got = await page(cursor);
      for (const entry of got.data) out += csvRow(row(entry));
      if (out) controller.enqueue(encoder.encode(out));
      if (got.next_cursor) cursor = got.next_cursor;
      else controller.close();
    },
  });
  return new Response(body, {
    headers: { "content-type": "text/csv; charset=utf-8", "content-disposition": `attachment; filename="${filename}"`, "cache-control": "no-store" },
  });
}

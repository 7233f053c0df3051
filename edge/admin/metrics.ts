// What operators graph and alert on (issue 13), read from the database when Prometheus scrapes
// /internal/metrics: jobs by status, results processed, probe health, webhook deliveries, Stripe
// events held. A handful of grouped counts over indexed or small tables; no per-request counters
// (isolates come and go, so only the database sees the whole fleet).
import { WEBHOOK_DELIVERY_STATUSES } from "../../core/enums.ts";
import { JOB_STATUSES } from "../../core/enums.ts";
import type { Services } from "../context.ts";

interface Sample {
  labels?: Record<string, string>;
  value: number;
}

interface Metric {
  name: string;
  help: string;
  type: "gauge" | "counter";
  samples: Sample[];
}

const escapeLabel = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');

/** Prometheus's text exposition format 0.0.4. */
export function renderMetrics(metrics: Metric[]): string {
  const out: string[] = [];
  for (const m of metrics) {
    out.push(`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} ${m.type}`);
    for (const s of m.samples) {
      const labels = s.labels ? `{${Object.entries(s.labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}` : "";
      out.push(`${m.name}${labels} ${Number.isFinite(s.value) ? s.value : 0}`);
    }
  }
  return `${out.join("\n")}\n`;
}

export async function collectMetrics(s: Services, now = Date.now()): Promise<Metric[]> {
  const [jobs, processed, probes, deliveries, held] = await s.db.$client.batch(
    [
      "SELECT status, count(*) AS n FROM jobs WHERE deleted_at IS NULL GROUP BY status",
      "SELECT coalesce(sum(processed), 0) AS n FROM jobs WHERE deleted_at IS NULL",
      `SELECT p.id, p.status, p.version, p.last_heartbeat_at AS hb, p.capacity,
              (SELECT count(*) FROM batches b WHERE b.probe_id = p.id AND b.status = 'dispatched') AS in_flight
       FROM probes p WHERE p.status <> 'dead' OR p.last_heartbeat_at > ?`,
      "SELECT status, count(*) AS n FROM webhook_deliveries GROUP BY status",
      "SELECT count(*) AS n FROM stripe_events WHERE outcome = 'held'",
    ].map((sql, i) => (i === 2 ? { sql, args: [now - 24 * 3_600_000] } : { sql, args: [] })),
    "read",
  );
  const counts = (rows: ReadonlyArray<Record<string, unknown>>, statuses: readonly string[]) => {
    const by = new Map(rows.map((r) => [String(r.status), Number(r.n)]));
    return statuses.map((status) => ({ labels: { status }, value: by.get(status) ?? 0 }));
  };
  const probeRows = probes!.rows;
  return [
    { name: "mxray_jobs", help: "Jobs by status (deleted ones excluded).", type: "gauge", samples: counts(jobs!.rows, JOB_STATUSES) },
    {
      name: "mxray_results_processed",
      help: "Addresses answered across the jobs still kept; rate() of it is results per second.",
      type: "counter",
      samples: [{ value: Number(processed!.rows[0]!.n) }],
    },
    {
      name: "mxray_probe_up",
      help: "1 when the probe's heartbeat is fresh and it is active.",
      type: "gauge",
      samples: probeRows.map((p) => ({ labels: { probe: String(p.id), version: String(p.version ?? "") }, value: p.status === "active" && now - Number(p.hb) <= s.config.MXRAY_PROBE_DEAD_MS ? 1 : 0 })),
    },
    {
      name: "mxray_probe_heartbeat_age_seconds",
      help: "Seconds since the probe's last heartbeat.",
      type: "gauge",
      samples: probeRows.map((p) => ({ labels: { probe: String(p.id) }, value: Math.max(0, Math.round((now - Number(p.hb)) / 1000)) })),
    },
    {
      name: "mxray_probe_batches_in_flight",
      help: "Batches dispatched to the probe and not yet finished, beside its capacity.",
      type: "gauge",
      samples: probeRows.flatMap((p) => [
        { labels: { probe: String(p.id), of: "in_flight" }, value: Number(p.in_flight) },
        { labels: { probe: String(p.id), of: "capacity" }, value: Number(p.capacity) },
      ]),
    },
    { name: "mxray_webhook_deliveries", help: "Webhook deliveries by status.", type: "gauge", samples: counts(deliveries!.rows, WEBHOOK_DELIVERY_STATUSES) },
    { name: "mxray_stripe_events_held", help: "Stripe events that could not apply and wait for an operator.", type: "gauge", samples: [{ value: Number(held!.rows[0]!.n) }] },
  ];
}

/** The database answers a trivial query: what /healthz reports. */
export async function databaseReachable(s: Services): Promise<boolean> {
  try {
    await s.db.$client.execute("SELECT 1");
    return true;
  } catch {
    return false;
  }
}

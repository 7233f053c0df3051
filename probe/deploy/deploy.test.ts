// The operators' files in probe/deploy: every metric the alert rules and the Grafana dashboard
// use is one the probe (probe/metrics.ts) or the edge (edge/admin/metrics.ts) exports, with
// label values that exist, so a renamed metric breaks this test rather than a silent alert.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RCPT_CLASSES, VERDICTS } from "../../core/verdict.ts";

const root = join(import.meta.dirname, "..", "..");
const read = (p: string) => readFileSync(join(root, p), "utf8");
const exported = new Set([...`${read("probe/metrics.ts")}\n${read("edge/admin/metrics.ts")}`.matchAll(/name: "(mxray_[a-z_]+)"/g)].map((m) => m[1]!));

function metricsIn(text: string): string[] {
  // mxray_foo, without the _bucket/_sum/_count suffixes a histogram adds
  return [...new Set([...text.matchAll(/\b(mxray_[a-z_]+?)(?:_bucket|_sum|_count)?\b(?=[{\[\s)]|$)/gm)].map((m) => m[1]!))];
}

describe("probe/deploy", () => {
  it("alerts.yml uses only exported metrics and real label values", () => {
    const rules = read("probe/deploy/alerts.yml");
    const used = metricsIn(rules);
    expect(used.length).toBeGreaterThan(5);
    expect(used.filter((m) => !exported.has(m))).toEqual([]);
    for (const alert of ["MxrayProbeDown", "MxrayUnknownRateHigh", "MxrayOutboxGrowing", "MxrayBlocklistedProbeIp"]) expect(rules).toContain(`alert: ${alert}`);
    for (const [, v] of rules.matchAll(/verdict="(\w+)"/g)) expect(VERDICTS).toContain(v);
    for (const [, c] of rules.matchAll(/class="(\w+)"/g)) expect(RCPT_CLASSES).toContain(c);
  });

  it("the Grafana dashboard is valid JSON whose panels query exported metrics", () => {
    const dash = JSON.parse(read("probe/deploy/grafana-dashboard.json")) as { uid: string; panels: { title: string; targets: { expr: string }[] }[] };
    expect(dash.uid).toBe("mxray-fleet");
    const exprs = dash.panels.flatMap((p) => p.targets.map((t) => t.expr)).join("\n");
    expect(metricsIn(exprs).filter((m) => !exported.has(m))).toEqual([]);
    expect(dash.panels.map((p) => p.title)).toEqual(expect.arrayContaining(["Probes up", "Unknown rate", "Outbox", "Jobs by status"]));
  });
});

import { readFileSync } from "node:fs";
import path from "node:path";
import type { Registry } from "prom-client";
import { Metrics, processMetrics } from "../../src/server/metrics";

const DASHBOARD = path.join(__dirname, "..", "..", "ops", "grafana", "dashboards", "sessionhub.json");

interface Panel {
  title?: string;
  targets?: { expr?: string }[];
  panels?: Panel[];
}

/** PromQL words that look like metric names: keywords, and the aggregations' modifiers. */
const KEYWORDS = new Set(["by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset"]);

/**
 * The metric names a PromQL expression reads: what is left once strings, label matchers, ranges,
 * groupings, Grafana variables and function calls are taken out.
 */
function metricNamesIn(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, "")
    .replace(/\{[^}]*\}/g, "")
    .replace(/\[[^\]]*\]/g, "")
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "")
    .replace(/\$\w+/g, "");
  // Whole words only, and not a function's name (followed by its parenthesis).
  return [...bare.matchAll(/(?<![\w:.])[A-Za-z_:][\w:]*(?![\w:]|\s*\()/g)].map(([name]) => name).filter((name) => !KEYWORDS.has(name));
}

/** The series names a registry exports: a histogram's as `_bucket`, `_sum` and `_count`. */
async function exportedNames(registry: Registry): Promise<string[]> {
  return (await registry.getMetricsAsJSON()).flatMap(({ name, type }) =>
    String(type) === "histogram" ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : String(type) === "summary" ? [name, `${name}_sum`, `${name}_count`] : [name],
  );
}

const panelsOf = (panels: Panel[]): Panel[] => panels.flatMap((p) => [p, ...panelsOf(p.panels ?? [])]);

describe("the Grafana dashboard (ops/grafana/dashboards/sessionhub.json)", () => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, "utf8")) as { panels: Panel[]; templating: { list: { query?: unknown }[] } };
  const exprs = panelsOf(dashboard.panels).flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr ?? "" })));
  // The registries as the service builds them: the process's defaults and one App's own.
  const exported = Promise.all([exportedNames(processMetrics()), exportedNames(new Metrics().registry)]).then((lists) => new Set(lists.flat()));

  it("reads out the metric names of a query", () => {
    expect(metricNamesIn('histogram_quantile(0.99, sum by (le, field) (rate(sessionhub_operation_duration_seconds_bucket{type!="subscription", instance=~"$instance"}[$__rate_interval])))')).toEqual([
      "sessionhub_operation_duration_seconds_bucket",
    ]);
    expect(metricNamesIn("sum(rate(a_total[5m])) / sum without (x) (b)")).toEqual(["a_total", "b"]);
  });

  it("queries only metrics the service exports", async () => {
    const names = await exported;
    expect(exprs.length).toBeGreaterThan(10);
    const unknown = exprs.flatMap(({ panel, expr }) => {
      const used = metricNamesIn(expr);
      if (used.length === 0) return [`${panel}: no metric in ${expr}`];
      return used.filter((name) => !names.has(name)).map((name) => `${panel}: ${name}`);
    });
    expect(unknown).toEqual([]);
    const variables = dashboard.templating.list.map((v) => JSON.stringify(v.query ?? "")).join(" ");
    for (const [, name] of variables.matchAll(/label_values\((\w+)/g)) expect(names).toContain(name);
  });

  it("shows every sessionhub metric", async () => {
    const used = new Set(exprs.flatMap(({ expr }) => metricNamesIn(expr)).map((name) => name.replace(/_(bucket|sum|count)$/, "")));
    const own = (await new Metrics().registry.getMetricsAsJSON()).map((m) => m.name);
    expect(own.filter((name) => !used.has(name))).toEqual([]);
  });
});

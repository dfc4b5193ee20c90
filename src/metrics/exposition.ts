/**
 * Prometheus text exposition format 0.0.4, by hand (issue 11 §4: no new dependency). One family per metric
 * name: `# HELP`, `# TYPE`, then its samples. Label values escape `\`, `"` and newline; HELP text escapes `\`
 * and newline. Names are checked, and a family or a series that appears twice is an error, not a silent
 * duplicate that Prometheus would reject at scrape time.
 */
export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export type MetricType = "counter" | "gauge" | "histogram" | "summary" | "untyped";
export type Labels = Readonly<Record<string, string>>;

export interface Sample {
  /** Appended to the family name: "_bucket", "_sum", "_count" (histograms), "_total" is part of the name. */
  suffix?: string;
  labels?: Labels;
  value: number;
}

export interface MetricFamily {
  name: string;
  help: string;
  type: MetricType;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export const escapeLabelValue = (v: string): string => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
export const escapeHelp = (v: string): string => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

function renderLabels(labels: Labels | undefined): string {
  const entries = Object.entries(labels ?? {});
  if (!entries.length) return "";
  for (const [k] of entries) if (!LABEL_NAME.test(k) || k.startsWith("__")) throw new Error(`invalid label name '${k}'`);
  return `{${entries.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",")}}`;
}

export function render(families: MetricFamily[]): string {
  const names = new Set<string>();
  const lines: string[] = [];
  for (const f of families) {
    if (!METRIC_NAME.test(f.name)) throw new Error(`invalid metric name '${f.name}'`);
    if (names.has(f.name)) throw new Error(`metric family '${f.name}' appears twice`);
    names.add(f.name);
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    const series = new Set<string>();
    for (const s of f.samples) {
      const line = `${f.name}${s.suffix ?? ""}${renderLabels(s.labels)}`;
      if (series.has(line)) throw new Error(`series '${line}' appears twice`);
      series.add(line);
      lines.push(`${line} ${formatValue(s.value)}`);
    }
  }
  return lines.length ? `${lines.join("\n")}\n` : "";
}

/** Prometheus client libraries' default buckets, in seconds. */
export const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A cumulative histogram per label set, kept in memory (it restarts from zero with the process, as counters do). */
export class Histogram {
  private readonly series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: number[] = DEFAULT_BUCKETS,
  ) {}

  observe(labels: Labels, value: number): void {
    const key = JSON.stringify(Object.entries(labels).sort());
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 }));
    this.buckets.forEach((le, i) => {
      if (value <= le) s!.counts[i]!++;
    });
    s.sum += value;
    s.count++;
  }

  family(): MetricFamily {
    const samples: Sample[] = [];
    for (const s of this.series.values()) {
      this.buckets.forEach((le, i) => samples.push({ suffix: "_bucket", labels: { ...s.labels, le: formatValue(le) }, value: s.counts[i]! }));
      samples.push({ suffix: "_bucket", labels: { ...s.labels, le: "+Inf" }, value: s.count });
      samples.push({ suffix: "_sum", labels: s.labels, value: s.sum });
      samples.push({ suffix: "_count", labels: s.labels, value: s.count });
    }
    return { name: this.name, help: this.help, type: "histogram", samples };
  }
}

// Dates in <time datetime>, shown in UTC plus a relative phrase measured on the SERVER clock (portal.md §3.5, §4.3).
import { useServerNow } from "../lib/live";

export function formatUtc(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/** "5 min ago", "in 2 h", "just now". */
export function relative(ms: number, now: number): string {
  const d = ms - now;
  const a = Math.abs(d);
  if (a < 45_000) return "just now";
  const [n, unit] = a < 3_600_000 ? [Math.round(a / 60_000), "min"] : a < 172_800_000 ? [Math.round(a / 3_600_000), "h"] : [Math.round(a / 86_400_000), "d"];
  return d < 0 ? `${n} ${unit} ago` : `in ${n} ${unit}`;
}

export function Time({ ms, relative: rel = true }: { ms: number | string | undefined; relative?: boolean }) {
  const now = useServerNow();
  const t = typeof ms === "string" ? Date.parse(ms) : ms;
  if (t === undefined || !Number.isFinite(t)) return <span>—</span>;
  return (
    <time dateTime={new Date(t).toISOString()}>
      {formatUtc(t)}
      {rel && now ? <span class="muted"> ({relative(t, now)})</span> : null}
    </time>
  );
}

// State in Azure's own words (portal.md §4.4), with an icon and text, never colour alone (§4.3).
type Tone = "ok" | "bad" | "warn" | "neutral";
const TONES: Record<string, Tone> = {
  online: "ok", available: "ok", enabled: "ok", succeeded: "ok", ready: "ok", active: "ok", healthy: "ok", delivered: "ok", resolved: "ok", completed: "ok",
  inaccessible: "bad", unavailable: "bad", failed: "bad", offline: "bad", deleted: "bad", fired: "bad", error: "bad",
  degraded: "warn", creating: "warn", updating: "warn", deleting: "warn", inprogress: "warn", accepted: "warn", restoring: "warn", pending: "warn", expired: "warn",
  disabled: "neutral", unknown: "neutral", paused: "neutral",
};
const ICONS: Record<Tone, string> = { ok: "✓", bad: "✕", warn: "!", neutral: "–" };

export function StatusBadge({ state }: { state: string | undefined }) {
  const word = state || "Unknown";
  const tone = TONES[word.toLowerCase().replace(/\s+/g, "")] ?? "neutral";
  return (
    <span class={`badge badge-${tone}`}>
      <span class="badge-icon" aria-hidden="true">
        {ICONS[tone]}
      </span>
      {word}
    </span>
  );
}

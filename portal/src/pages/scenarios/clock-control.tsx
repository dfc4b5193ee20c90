import { useRef, useState } from "preact/hooks";
import { ApiError, tdekv, toApiError } from "../../lib/api";
import { useLoad } from "../../lib/hooks";
import { useServerNow } from "../../lib/live";
import { Button } from "../../components/button";
import { ErrorBox } from "../../components/error-box";
import { formatUtc } from "../../components/time";

/**
 * tdekv's clock (`GET /_tdekv/clock`, `POST /_tdekv/clock/advance`) and "Run probe now" (`POST /_tdekv/health/probe`),
 * src/health/admin-routes.ts. The 30-minute auto-heal window runs on this clock, so a drill can jump it.
 */
interface ProbePass {
  failing?: { server: string; code: string }[];
  [k: string]: unknown;
}

export function ClockControl() {
  const clock = useLoad<{ now: string; mode: string; autohealWindowSeconds?: number }>("clock", () => tdekv("GET", "/_tdekv/clock"), [], { match: (h) => h.type === "clock" });
  const now = useServerNow();
  const [error, setError] = useState<ApiError | undefined>();
  const [note, setNote] = useState("");
  // Numbered, so the same outcome twice still reads as a new announcement (and a test can tell passes apart).
  const passes = useRef(0);
  const advance = async (by: string, label: string) => {
    setError(undefined);
    try {
      const r = await tdekv<{ now: string }>("POST", "/_tdekv/clock/advance", { by });
      setNote(`Advanced the clock ${label}: it is now ${formatUtc(Date.parse(r.now))}.`);
      clock.reload();
    } catch (err) {
      setError(toApiError(err));
    }
  };
  const probe = async () => {
    setError(undefined);
    try {
      const r = await tdekv<ProbePass>("POST", "/_tdekv/health/probe", {});
      const failing = r.failing ?? [];
      const n = ++passes.current;
      setNote(failing.length ? `Probe ${n} done: ${failing.map((f) => `${f.server} failing with ${f.code}`).join("; ")}.` : `Probe ${n} done: every key is reachable.`);
    } catch (err) {
      setError(toApiError(err));
    }
  };
  const serverMs = now || (clock.data ? Date.parse(clock.data.now) : undefined);
  return (
    <section aria-labelledby="clock-h">
      <h2 id="clock-h">Clock</h2>
      <p>
        Server time: {serverMs ? <time dateTime={new Date(serverMs).toISOString()}>{formatUtc(serverMs)}</time> : "…"}
        {clock.data ? ` (${clock.data.mode === "manual" ? "manual clock: it moves only when advanced" : "system clock"}; auto-heal window ${Math.round((clock.data.autohealWindowSeconds ?? 1800) / 60)} min)` : ""}
      </p>
      <div class="actions">
        <Button onClick={() => advance("1m", "by 1 minute")}>Advance +1 min</Button>
        <Button onClick={() => advance("10m", "by 10 minutes")}>Advance +10 min</Button>
        <Button onClick={() => advance("30m", "by 30 minutes")}>Advance +30 min</Button>
        <Button kind="primary" onClick={probe} busyText="Probing…">
          Run probe now
        </Button>
      </div>
      <p role="status" class="muted">{note}</p>
      {error && <ErrorBox error={error} />}
    </section>
  );
}

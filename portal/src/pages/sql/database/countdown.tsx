import { useEffect, useRef, useState } from "preact/hooks";
import { useServerNow } from "../../../lib/live";
import { windowOf } from "../incident/timeline";
import { mmss } from "../sql-api";

/**
 * The 30-minute auto-heal window (seed "Introduction"; portal.md §4.1): mm:ss from the SERVER's clock
 * (useServerNow), never the browser's, measured from MakeDatabaseInaccessible Started. role=timer is
 * aria-live=off; a separate polite region speaks only at 10, 5 and 1 minutes left. At zero it becomes
 * "Auto-heal window closed — revalidate the key after fixing access".
 */
const MARKS = [10, 5, 1];
const LEVEL_TEXT = { neutral: "Within the window: restoring access heals the database by itself.", warning: "Less than 10 minutes left.", critical: "Less than 2 minutes left." } as const;

export const WINDOW_CLOSED = "Auto-heal window closed — revalidate the key after fixing access";

export function Countdown({ lostAt, windowMs, closedAt }: { lostAt: number; windowMs: number; closedAt?: number }) {
  const now = useServerNow();
  const w = windowOf(lostAt, windowMs, now, closedAt);
  const [said, setSaid] = useState("");
  const lastMark = useRef<number | undefined>(undefined);
  useEffect(() => {
    if (!now || w.level === "closed") return;
    const mins = w.left / 60_000;
    const mark = MARKS.filter((m) => mins <= m).pop();
    // Speak once per mark crossed while watching; a page opened at 7:00 stays quiet until 5:00.
    if (lastMark.current === undefined) lastMark.current = mark ?? Infinity;
    else if (mark !== undefined && mark < lastMark.current) {
      lastMark.current = mark;
      setSaid(`${mark} ${mark === 1 ? "minute" : "minutes"} left in the auto-heal window`);
    }
  }, [now, w.left, w.level]);
  if (!now) return <p class="muted">Reading tdekv's clock…</p>;
  if (w.level === "closed") {
    return (
      <div class="countdown countdown-closed">
        <p class="countdown-closed-text">
          <span aria-hidden="true">✕ </span>
          {WINDOW_CLOSED}
        </p>
      </div>
    );
  }
  const pct = Math.max(0, Math.min(100, (w.left / windowMs) * 100));
  return (
    <div class={`countdown countdown-${w.level}`}>
      <h3 id="countdown-label">Time left to auto-heal</h3>
      <p class="countdown-time" role="timer" aria-live="off" aria-labelledby="countdown-label">
        {mmss(w.left)}
      </p>
      <div class="countdown-bar" aria-hidden="true">
        <span style={{ width: `${pct}%` }} />
      </div>
      <p class="countdown-level">
        {LEVEL_TEXT[w.level]} Deadline: <time dateTime={new Date(w.deadline).toISOString()}>{new Date(w.deadline).toISOString().slice(11, 19)} UTC</time> (server clock).
      </p>
      <p class="sr-only" role="status" aria-live="polite">
        {said}
      </p>
    </div>
  );
}

import { armListAll, tdekv } from "../../../lib/api";
import { useArm, useLoad } from "../../../lib/hooks";
import { serverNow, useServerNow } from "../../../lib/live";
import type { Hint } from "../../../lib/types";
import { type DoctorSeen, buildIncident } from "../incident/timeline";
import { remember } from "../incident/settings-memory";
import { type ActivityEvent, type ClockInfo, type Notification, SEED_WINDOW_MS, type SqlDatabase, api, eventsPath } from "../sql-api";

/**
 * Everything a database page needs to tell its incident: the database (ARM), its Activity Log, the
 * notifications sent about it, tdekv's auto-heal window and the server's clock. Re-read on every live hint
 * about the database (issue 9 §4); the story itself is computed (incident/timeline.ts).
 */

/** The first doctor finding this tab saw per database during an incident (for the timeline's "Doctor finding"). */
const doctorSeen = new Map<string, DoctorSeen>();
export function noteDoctorFinding(dbId: string, seen: DoctorSeen): void {
  const key = dbId.toLowerCase();
  const prev = doctorSeen.get(key);
  if (!prev || prev.code !== seen.code) doctorSeen.set(key, seen);
}

const about = (id: string) => (h: Hint) => h.type === "clock" || !h.resourceId || h.resourceId.toLowerCase().startsWith(id.toLowerCase()) || id.toLowerCase().startsWith(h.resourceId.toLowerCase());

export function useWindowMs(): number {
  const clock = useLoad<ClockInfo | undefined>("/_tdekv/clock", () => tdekv<ClockInfo>("GET", "/_tdekv/clock").catch(() => undefined), [], { live: false });
  return clock.data?.autohealWindowSeconds ? clock.data.autohealWindowSeconds * 1000 : SEED_WINDOW_MS;
}

export function useStory(dbId: string) {
  const match = about(dbId);
  const db = useArm<SqlDatabase>(api(dbId), [], { match });
  const events = useLoad<ActivityEvent[]>(`events:${dbId}`, () => armListAll<ActivityEvent>(eventsPath(dbId, serverNow() || Date.now())), [], { match });
  const outbox = useLoad<Notification[]>(
    `outbox:${dbId}`,
    () => tdekv<{ value: Notification[] }>("GET", `/_tdekv/alerts/outbox?resourceId=${encodeURIComponent(dbId)}`).then((b) => b.value ?? [], () => []),
    [],
    { match },
  );
  const windowMs = useWindowMs();
  const now = useServerNow();
  const status = db.data?.properties.status;
  const incident = events.data ? buildIncident(events.data, outbox.data ?? [], { now, windowMs, ...(status ? { status } : {}), ...(doctorSeen.has(dbId.toLowerCase()) ? { doctor: doctorSeen.get(dbId.toLowerCase())! } : {}) }) : undefined;
  if (db.data && incident) remember(db.data, incident.lostAt);
  return { db, events, outbox, incident, windowMs, now };
}

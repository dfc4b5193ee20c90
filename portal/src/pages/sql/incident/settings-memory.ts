import type { SqlDatabase } from "../sql-api";

/**
 * What a database looked like before a late revalidation, kept in this tab's memory only. The seed: "Once
 * the database is back online, previously configured settings such as failover group, PITR history, and any
 * tags will be lost". The Activity Log does not carry the old tags, so the portal compares with the last
 * state it saw itself (portal.md §4.1 "settings lost" callout). A page opened after the fact says so.
 */
interface Snapshot {
  tags: Record<string, string>;
  failoverGroupId?: string;
  earliestRestoreDate?: string;
  /** The incident (MakeDatabaseInaccessible Started, epoch ms) during which this state was read. */
  lostAt: number;
}

const seen = new Map<string, Snapshot>();

/**
 * Records the settings of an Inaccessible database. Nothing can change them while it is inaccessible (the
 * seed: "All other actions on the database are not permitted"), so any read during the incident will do.
 */
export function remember(db: SqlDatabase, lostAt: number): void {
  if (db.properties.status !== "Inaccessible") return;
  seen.set(db.id.toLowerCase(), {
    tags: { ...(db.tags ?? {}) },
    ...(db.properties.failoverGroupId ? { failoverGroupId: db.properties.failoverGroupId } : {}),
    ...(db.properties.earliestRestoreDate ? { earliestRestoreDate: db.properties.earliestRestoreDate } : {}),
    lostAt,
  });
}

/**
 * The settings that disappeared, as sentences; undefined when this tab never saw the database during the
 * incident (then only the seed's general statement can be shown).
 */
export function settingsLost(db: SqlDatabase, lostAt: number): string[] | undefined {
  const before = seen.get(db.id.toLowerCase());
  if (!before || before.lostAt !== lostAt) return undefined;
  const out: string[] = [];
  const now = db.tags ?? {};
  for (const [k, v] of Object.entries(before.tags)) if (now[k] !== v) out.push(`Tag ${k}: ${v}`);
  if (before.failoverGroupId && before.failoverGroupId !== db.properties.failoverGroupId) out.push(`Failover group ${before.failoverGroupId.split("/").pop()}`);
  if (before.earliestRestoreDate && before.earliestRestoreDate !== db.properties.earliestRestoreDate) {
    out.push(`PITR history: the earliest restore point moved from ${before.earliestRestoreDate} to ${db.properties.earliestRestoreDate ?? "none"}`);
  }
  return out;
}

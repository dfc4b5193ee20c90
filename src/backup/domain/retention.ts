import { backupErrors } from "./errors.js";

/**
 * Short-term retention (pitr-fog.md §1.4; `backupShortTermRetentionPolicies/default`): 1-35 days, 1-7 for
 * the DTU Basic tier, 7 by default; differential backups every 12 or 24 hours (12 for vCore by default).
 */
export const MIN_RETENTION_DAYS = 1;
export const MAX_RETENTION_DAYS = 35;
export const BASIC_MAX_RETENTION_DAYS = 7;
export const DEFAULT_RETENTION_DAYS = 7;
export const DEFAULT_DIFF_HOURS = 12;
const DAY_MS = 86_400_000;

export interface RetentionPolicy {
  retentionDays: number;
  diffBackupIntervalInHours: number;
}

export const defaultPolicy = (): RetentionPolicy => ({ retentionDays: DEFAULT_RETENTION_DAYS, diffBackupIntervalInHours: DEFAULT_DIFF_HOURS });

/** Validates a PUT/PATCH body's properties against Azure's ranges; unspecified fields keep `current`. */
export function validatePolicy(props: Record<string, unknown>, current: RetentionPolicy, skuTier: string | undefined): RetentionPolicy {
  const max = skuTier?.toLowerCase() === "basic" ? BASIC_MAX_RETENTION_DAYS : MAX_RETENTION_DAYS;
  let retentionDays = current.retentionDays;
  if (props.retentionDays !== undefined && props.retentionDays !== null) {
    const d = props.retentionDays;
    if (typeof d !== "number" || !Number.isInteger(d) || d < MIN_RETENTION_DAYS || d > max) throw backupErrors.invalidRetention(d, MIN_RETENTION_DAYS, max);
    retentionDays = d;
  }
  let diff = current.diffBackupIntervalInHours;
  if (props.diffBackupIntervalInHours !== undefined && props.diffBackupIntervalInHours !== null) {
    const h = props.diffBackupIntervalInHours;
    if (h !== 12 && h !== 24) throw backupErrors.invalidDiffInterval(h);
    diff = h;
  }
  return { retentionDays, diffBackupIntervalInHours: diff };
}

/**
 * `earliestRestoreDate`: the latest of the first state the archive still holds, the retention horizon, and
 * the last history reset (a late revalidation, seed: "PITR history ... will be lost"). Azure shows it
 * 10-16 minutes after creation (the first log backup); tdekv's archive is continuous, so it is the creation.
 */
export function earliestRestoreDate(a: { firstPointAt: number | undefined; createdAt: number; now: number; retentionDays: number; historyResetAt?: number | undefined }): number {
  const first = a.firstPointAt ?? a.createdAt;
  return Math.min(a.now, Math.max(first, a.now - a.retentionDays * DAY_MS, a.historyResetAt ?? 0));
}

/** Parses restorePointInTime / sourceDatabaseDeletionDate (az sends a naive time as UTC with milliseconds). */
export function parseTime(v: unknown): number | undefined {
  if (typeof v !== "string" || !v.trim()) return undefined;
  const s = /[zZ]|[+-]\d\d:?\d\d$/.test(v) ? v : `${v}Z`;
  const ms = Date.parse(s);
  return Number.isFinite(ms) ? ms : undefined;
}

/** InvalidPointInTime outside [earliest, latest]. */
export function checkPointInTime(t: number, earliest: number, latest: number): void {
  if (t < earliest || t > latest) throw backupErrors.invalidPointInTime();
}

export interface SnapshotStamp {
  genId: string;
  index: number;
  at: number;
}

/**
 * Litestream's retention rule (pitr-fog.md §3.3): keep the newest snapshot at or before the horizon and
 * everything after it. Returns the generations to delete whole and, in the generation of that snapshot, the
 * WAL index below which snapshots and segments go.
 */
export function prunePlan(generations: { genId: string; snapshots: { index: number; at: number }[] }[], horizon: number): { dropGenerations: string[]; keep: SnapshotStamp | undefined } {
  let keep: SnapshotStamp | undefined;
  for (const g of generations) for (const s of g.snapshots) if (s.at <= horizon && (!keep || s.at >= keep.at)) keep = { genId: g.genId, index: s.index, at: s.at };
  if (!keep) return { dropGenerations: [], keep: undefined };
  const dropGenerations = generations.filter((g) => g.genId < keep!.genId).map((g) => g.genId);
  return { dropGenerations, keep };
}

export const retentionHorizon = (now: number, days: number): number => now - days * DAY_MS;

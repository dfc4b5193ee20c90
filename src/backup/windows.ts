import { type BackupContext, iso } from "./context.js";
import { type RetentionPolicy, defaultPolicy, earliestRestoreDate } from "./domain/retention.js";
import { generationPaths, listGenerationIds, readMeta } from "./generation.js";
import type { DatabaseLike } from "./ports.js";

export const POLICY_TYPE = "microsoft.sql/servers/databases/backupshorttermretentionpolicies";
export const policyId = (dbId: string): string => `${dbId}/backupShortTermRetentionPolicies/default`;

/** The database's short-term retention policy (`…/backupShortTermRetentionPolicies/default`), or the default. */
export async function policyOf(ctx: BackupContext, dbId: string): Promise<RetentionPolicy> {
  const stored = await ctx.arm.store.get<{ properties: RetentionPolicy }>(policyId(dbId));
  return stored?.body.properties ?? defaultPolicy();
}

/** The first state the archive of `file` still holds: its oldest generation's start or oldest kept snapshot. */
export function firstPointOf(root: string, file: string): number | undefined {
  const first = listGenerationIds(root, file)[0];
  if (!first) return undefined;
  const meta = readMeta(generationPaths(root, file, first));
  const s = meta.snapshots[0];
  return !s || s.index === 0 ? meta.startedAt : s.at;
}

/** [earliestRestoreDate, now] for a live database. */
export async function restoreWindow(ctx: BackupContext, db: DatabaseLike): Promise<{ earliest: number; latest: number; policy: RetentionPolicy }> {
  const file = db.properties.databaseId;
  const policy = await policyOf(ctx, db.id);
  const now = ctx.clock.now();
  const created = Date.parse(String(db.properties.creationDate ?? "")) || now;
  const earliest = earliestRestoreDate({ firstPointAt: firstPointOf(ctx.archiver.root, file), createdAt: created, now, retentionDays: policy.retentionDays, historyResetAt: await ctx.store.historyResetAt(file) });
  return { earliest, latest: now, policy };
}

export async function earliestRestoreIso(ctx: BackupContext, db: DatabaseLike): Promise<string> {
  return iso((await restoreWindow(ctx, db)).earliest);
}

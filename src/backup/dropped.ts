import type { StoredResource } from "../arm/index.js";
import { type BackupContext, DATABASES_TYPE, iso, serverIdOf } from "./context.js";
import { type DroppedRecord } from "./backup-store.js";
import { droppedName } from "./domain/filetime.js";
import { type RetentionPolicy, defaultPolicy, earliestRestoreDate, prunePlan, retentionHorizon } from "./domain/retention.js";
import { generationPaths, listGenerationIds, readMeta } from "./generation.js";
import type { DatabaseLike } from "./ports.js";
import { firstPointOf, policyId, policyOf } from "./windows.js";

const DAY_MS = 86_400_000;

/**
 * A database was deleted. Azure "takes a final transaction log backup before deletion" and keeps the
 * backups for the retention period, listed under restorableDroppedDatabases (pitr-fog.md §1.3); the final
 * frames are archived by the engine's drop hook right after this. Deleting the server deletes its databases'
 * backups for good.
 */
export async function recordDropped(ctx: BackupContext, db: DatabaseLike, removed: StoredResource[]): Promise<void> {
  const file = db.properties.databaseId;
  const serverId = serverIdOf(db.id);
  if (removed.some((r) => r.id.toLowerCase() === serverId.toLowerCase())) {
    ctx.archiver.purge(file);
    await ctx.store.forgetHistory(file);
    return;
  }
  if (!listGenerationIds(ctx.archiver.root, file).length) return;
  const policyRow = removed.find((r) => r.id.toLowerCase() === policyId(db.id).toLowerCase());
  const policy = ((policyRow?.body as { properties?: RetentionPolicy } | undefined)?.properties ?? defaultPolicy()) as RetentionPolicy;
  const now = ctx.clock.now();
  const created = Date.parse(String(db.properties.creationDate ?? "")) || now;
  const earliest = earliestRestoreDate({ firstPointAt: firstPointOf(ctx.archiver.root, file), createdAt: created, now, retentionDays: policy.retentionDays, historyResetAt: await ctx.store.historyResetAt(file) });
  const name = droppedName(db.name, now);
  const id = `${serverId}/restorableDroppedDatabases/${name}`;
  const record: DroppedRecord = {
    id,
    serverId,
    databaseName: db.name,
    databaseId: file,
    deletedAt: now,
    purgeAt: now + policy.retentionDays * DAY_MS,
    body: {
      id,
      name,
      type: "Microsoft.Sql/servers/restorableDroppedDatabases",
      location: db.location,
      ...(db.sku ? { sku: db.sku } : {}),
      ...(db.tags ? { tags: db.tags } : {}),
      properties: {
        databaseName: db.name,
        maxSizeBytes: db.properties.maxSizeBytes ?? 34359738368,
        creationDate: db.properties.creationDate ?? iso(created),
        deletionDate: iso(now),
        earliestRestoreDate: iso(earliest),
        backupStorageRedundancy: "Local",
      },
    },
  };
  await ctx.store.addDropped(record);
}

/** A server was deleted: its restorable dropped databases and their backups go too. */
export async function purgeServer(ctx: BackupContext, serverId: string): Promise<void> {
  for (const d of await ctx.store.dropped(serverId)) {
    ctx.archiver.purge(d.databaseId);
    await ctx.store.removeDropped(d.id);
  }
}

/**
 * Retention (one pass of the backup worker): for every live database, keep the newest snapshot at or before
 * now − retentionDays and everything after it; purge dropped databases whose retention ran out.
 */
export async function retentionPass(ctx: BackupContext): Promise<{ pruned: number; purged: number }> {
  const now = ctx.clock.now();
  let pruned = 0;
  const rows = await ctx.db.selectFrom("resources").select(["id", "body"]).where("type_key", "=", DATABASES_TYPE).execute();
  for (const row of rows) {
    const db = JSON.parse(row.body) as DatabaseLike;
    const file = db.properties.databaseId;
    const ids = listGenerationIds(ctx.archiver.root, file);
    if (!ids.length) continue;
    const policy = await policyOf(ctx, db.id);
    const gens = ids.map((genId) => ({ genId, snapshots: readMeta(generationPaths(ctx.archiver.root, file, genId)).snapshots }));
    const plan = prunePlan(gens, retentionHorizon(now, policy.retentionDays));
    if (!plan.keep) continue;
    if (plan.dropGenerations.length) {
      ctx.archiver.dropGenerations(file, plan.dropGenerations);
      pruned += plan.dropGenerations.length;
    }
    ctx.archiver.pruneBelow(file, plan.keep.genId, plan.keep.index);
  }
  let purged = 0;
  for (const d of await ctx.store.expiredDropped(now)) {
    ctx.archiver.purge(d.databaseId);
    await ctx.store.removeDropped(d.id);
    purged++;
  }
  return { pruned, purged };
}

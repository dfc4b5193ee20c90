import { KeyAccessError } from "./key-access.js";
import { outcomeOf } from "./lifecycle-port.js";
import { unwrapperForServer } from "./protector-ops.js";
import type { DatabaseBody, ServerBody, SqlContext } from "./sql-context.js";

/** Opens a database's file if it is not open yet (opening unwraps the DEK: it is also a probe). */
export async function openDatabase(ctx: SqlContext, server: ServerBody, db: DatabaseBody): Promise<void> {
  const file = db.properties.databaseId;
  if (ctx.tde.engine.isOpen(file)) return;
  await ctx.tde.engine.open(file, unwrapperForServer(ctx, server));
}

export interface ReopenReport {
  opened: string[];
  failed: { databaseId: string; resourceId: string; cause: string; message: string }[];
}

/**
 * At start, every database is reopened by unwrapping its DEK. One whose key cannot be reached does not stop
 * tdekv: it stays closed and is reported (issue 4 §6); the lifecycle (issue 5) makes it Inaccessible.
 */
export async function reopenAll(ctx: SqlContext): Promise<ReopenReport> {
  const report: ReopenReport = { opened: [], failed: [] };
  const rows = await ctx.db.selectFrom("resources").select(["id", "body"]).where("type_key", "in", ["microsoft.sql/servers/databases", "microsoft.sql/managedinstances/databases"]).execute();
  for (const row of rows) {
    const db = JSON.parse(row.body) as DatabaseBody;
    const serverId = row.id.slice(0, row.id.toLowerCase().lastIndexOf("/databases/"));
    const server = await ctx.arm.store.get<ServerBody>(serverId);
    if (!server) continue;
    // An inaccessible database stays closed across a restart: only the lifecycle reopens it.
    if (db.properties.status === "Inaccessible") continue;
    // Several nodes on one store (issue 11, local-disk mode): a file placed on another node is not ours to open.
    if (!(await ctx.placement.mayOpen(db.properties.databaseId, ctx.tde.engine.exists(db.properties.databaseId)))) continue;
    try {
      await openDatabase(ctx, server.body, db);
      await ctx.placement.holds(db.properties.databaseId);
      report.opened.push(db.properties.databaseId);
    } catch (err) {
      const cause = err instanceof KeyAccessError ? err.failure : "unknown";
      report.failed.push({ databaseId: db.properties.databaseId, resourceId: row.id, cause, message: (err as Error).message });
      ctx.log.warn({ database: row.id, cause }, "database could not be opened at start");
      if (err instanceof KeyAccessError) await ctx.lifecycle.openFailed(serverId, outcomeOf(server.body.name, err, ""));
    }
  }
  return report;
}

/**
 * Reopens one file by its id, for the placement poller (issue 11 slice 2): another node healed the database and
 * this node holds its file. False when the file is not here, its resource is gone, or the key is still out of reach.
 */
export async function reopenFile(ctx: SqlContext, databaseId: string): Promise<boolean> {
  if (ctx.tde.engine.isOpen(databaseId)) return true;
  if (!ctx.tde.engine.exists(databaseId)) return false;
  const rows = await ctx.db.selectFrom("resources").select(["id", "body"]).where("type_key", "in", ["microsoft.sql/servers/databases", "microsoft.sql/managedinstances/databases"]).execute();
  for (const row of rows) {
    const db = JSON.parse(row.body) as DatabaseBody;
    if (db.properties.databaseId !== databaseId) continue;
    const server = await ctx.arm.store.get<ServerBody>(row.id.slice(0, row.id.toLowerCase().lastIndexOf("/databases/")));
    if (!server) return false;
    try {
      await openDatabase(ctx, server.body, db);
      return true;
    } catch (err) {
      ctx.log.warn({ database: row.id, cause: err instanceof KeyAccessError ? err.failure : "unknown" }, "placement: could not reopen a healed database");
      return false;
    }
  }
  return false;
}

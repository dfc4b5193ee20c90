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
    try {
      await openDatabase(ctx, server.body, db);
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

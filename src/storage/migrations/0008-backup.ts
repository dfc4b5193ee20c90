import type { Kysely, Migration } from "kysely";

/**
 * 0008: backups, restores and geo-replication (issue 10). Portable types only (text, bigint), so the same
 * migration runs on PostgreSQL (scale-out.md). The archive's bytes live in files under the data dir; these
 * tables hold the control-plane facts: history resets, restorable dropped databases, replication links and
 * failover groups.
 */
export const backup: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable("backup_history")
      .addColumn("database_id", "text", (c) => c.primaryKey())
      .addColumn("history_reset_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema
      .createTable("backup_dropped")
      .addColumn("key", "text", (c) => c.primaryKey())
      .addColumn("server_key", "text", (c) => c.notNull())
      .addColumn("database_name", "text", (c) => c.notNull())
      .addColumn("database_id", "text", (c) => c.notNull())
      .addColumn("body", "text", (c) => c.notNull())
      .addColumn("deleted_at", "bigint", (c) => c.notNull())
      .addColumn("purge_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("backup_dropped_server").on("backup_dropped").column("server_key").execute();
    await db.schema
      .createTable("geo_links")
      .addColumn("link_id", "text", (c) => c.primaryKey())
      .addColumn("primary_db_key", "text", (c) => c.notNull())
      .addColumn("secondary_db_key", "text", (c) => c.notNull())
      .addColumn("body", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("geo_links_primary").on("geo_links").column("primary_db_key").execute();
    await db.schema.createIndex("geo_links_secondary").on("geo_links").column("secondary_db_key").execute();
    await db.schema
      .createTable("failover_groups")
      .addColumn("name_key", "text", (c) => c.primaryKey())
      .addColumn("primary_server_key", "text", (c) => c.notNull())
      .addColumn("secondary_server_key", "text", (c) => c.notNull())
      .addColumn("body", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .execute();
  },
};

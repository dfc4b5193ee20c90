import type { Kysely, Migration } from "kysely";

/** 0007: the key-access lifecycle: one row per probed (server, protector) and per database. */
export const health: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable("health_targets")
      .addColumn("server_key", "text", (c) => c.primaryKey())
      .addColumn("state", "text", (c) => c.notNull())
      .execute();
    await db.schema
      .createTable("health_databases")
      .addColumn("database_id", "text", (c) => c.primaryKey())
      .addColumn("server_key", "text", (c) => c.notNull())
      .addColumn("state", "text", (c) => c.notNull())
      .addColumn("availability", "text", (c) => c.notNull())
      .addColumn("availability_changed_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("health_databases_server").on("health_databases").column("server_key").execute();
  },
};

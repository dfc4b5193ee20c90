import type { Kysely, Migration } from "kysely";

/** 0004: Microsoft.Sql private state: administrator logins (password hashes never live in ARM bodies). */
export const sql: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable("sql_logins")
      .addColumn("server_key", "text", (c) => c.primaryKey())
      .addColumn("login", "text", (c) => c.notNull())
      .addColumn("password_hash", "text", (c) => c.notNull())
      .execute();
  },
};

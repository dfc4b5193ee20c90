import type { Kysely, Migration } from "kysely";

/**
 * 0010: users and their sign-in sessions (issue 9 §1). A user is a principal like any other (access
 * policies and role assignments name its object id), with a userPrincipalName. Refresh tokens are opaque:
 * only their SHA-256 is stored, so a copy of the data dir does not hand out sessions, and a row can be revoked.
 */
export const users: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable("principals").addColumn("user_principal_name", "text").execute();
    await db.schema
      .createTable("refresh_tokens")
      .addColumn("token_hash", "text", (c) => c.primaryKey())
      .addColumn("object_id", "text", (c) => c.notNull())
      .addColumn("tenant_id", "text", (c) => c.notNull())
      .addColumn("client_id", "text", (c) => c.notNull())
      .addColumn("scope", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("expires_at", "bigint", (c) => c.notNull())
      .addColumn("revoked_at", "bigint")
      .execute();
    await db.schema.createIndex("refresh_tokens_object").on("refresh_tokens").column("object_id").execute();
  },
};

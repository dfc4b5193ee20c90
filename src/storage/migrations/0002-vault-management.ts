import type { Kysely, Migration } from "kysely";

/**
 * 0002: Key Vault management plane. Vaults live in `resources` like every ARM resource; these tables add the
 * global vault-name registry with soft-deleted vaults (`key_vaults`) and RBAC role assignments at any scope
 * (`role_assignments`). Portable column types only (text, integer, bigint): the same schema runs on PostgreSQL.
 * Row types: src/vault/management/schema.ts.
 */
export const vaultManagement: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable("key_vaults")
      .addColumn("name_key", "text", (c) => c.primaryKey())
      .addColumn("uid", "text", (c) => c.notNull())
      .addColumn("vault_key", "text", (c) => c.notNull())
      .addColumn("vault_id", "text", (c) => c.notNull())
      .addColumn("subscription_id", "text", (c) => c.notNull())
      .addColumn("state", "text", (c) => c.notNull())
      .addColumn("location", "text", (c) => c.notNull())
      .addColumn("body", "text", (c) => c.notNull())
      .addColumn("deletion_date", "bigint")
      .addColumn("scheduled_purge_date", "bigint")
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("key_vaults_vault_key").on("key_vaults").column("vault_key").execute();
    await db.schema.createIndex("key_vaults_subscription").on("key_vaults").columns(["subscription_id", "state"]).execute();
    await db.schema
      .createTable("role_assignments")
      .addColumn("key", "text", (c) => c.primaryKey())
      .addColumn("id", "text", (c) => c.notNull())
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("scope_key", "text", (c) => c.notNull())
      .addColumn("subscription_id", "text", (c) => c.notNull())
      .addColumn("principal_id", "text", (c) => c.notNull())
      .addColumn("role_definition_guid", "text", (c) => c.notNull())
      .addColumn("body", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("role_assignments_principal").on("role_assignments").columns(["principal_id", "subscription_id"]).execute();
    await db.schema.createIndex("role_assignments_scope").on("role_assignments").columns(["subscription_id", "scope_key"]).execute();
  },
};

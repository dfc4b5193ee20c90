import type { Kysely, Migration } from "kysely";

/**
 * 0003: Key Vault keys (data plane). One row per key name (lifecycle, soft delete, rotation policy) and
 * one per version (sealed material, attributes). Portable types only, so PostgreSQL runs it unchanged.
 * Typed in src/vault/data-plane/schema.ts.
 */
export const vaultKeys: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable("vault_keys")
      .addColumn("vault", "text", (c) => c.notNull())
      .addColumn("name_key", "text", (c) => c.notNull())
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("latest_version", "text", (c) => c.notNull())
      .addColumn("next_seq", "integer", (c) => c.notNull())
      .addColumn("deleted_at", "bigint")
      .addColumn("scheduled_purge_at", "bigint")
      .addColumn("rotation_policy", "text")
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("vault_keys_pk", ["vault", "name_key"])
      .execute();
    await db.schema.createIndex("vault_keys_deleted").on("vault_keys").columns(["vault", "deleted_at"]).execute();
    await db.schema
      .createTable("vault_key_versions")
      .addColumn("vault", "text", (c) => c.notNull())
      .addColumn("name_key", "text", (c) => c.notNull())
      .addColumn("version", "text", (c) => c.notNull())
      .addColumn("seq", "integer", (c) => c.notNull())
      .addColumn("kty", "text", (c) => c.notNull())
      .addColumn("key_size", "integer")
      .addColumn("crv", "text")
      .addColumn("key_ops", "text", (c) => c.notNull())
      .addColumn("public_jwk", "text", (c) => c.notNull())
      .addColumn("private_sealed", "text", (c) => c.notNull())
      .addColumn("enabled", "integer", (c) => c.notNull())
      .addColumn("nbf_at", "bigint")
      .addColumn("exp_at", "bigint")
      .addColumn("tags", "text", (c) => c.notNull())
      .addColumn("exportable", "integer", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("vault_key_versions_pk", ["vault", "name_key", "version"])
      .execute();
    await db.schema.createIndex("vault_key_versions_seq").on("vault_key_versions").columns(["vault", "name_key", "seq"]).execute();
  },
};

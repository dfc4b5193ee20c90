import type { Kysely } from "kysely";
import type { Database } from "../../storage/index.js";

/**
 * The data plane's tables (migration 0003). Kept here rather than in storage/schema.ts so the management
 * plane's engineer owns that file alone; code reaches them through `keysDb()`. Portable types only (text,
 * integer, bigint): the same schema must run on PostgreSQL later (scale-out.md). Times are epoch
 * milliseconds, as everywhere in tdekv; the wire's unix seconds are made at the edge (wire.ts).
 */

/** One row per key name in a vault: the name's lifecycle (live or soft-deleted) and its rotation policy. */
export interface VaultKeysTable {
  /** Vault name, lower-cased (vault names are global and case-insensitive). */
  vault: string;
  /** Key name, lower-cased: Key Vault resolves names case-insensitively (keyvault.md §1.1). */
  name_key: string;
  /** The name as first created, used in kids and recoveryIds. */
  name: string;
  /** Version that "latest" resolves to (the newest create, import, rotate or restore). */
  latest_version: string;
  /** Next version sequence number; orders versions when several share a creation second. */
  next_seq: number;
  /** Set while the key is soft-deleted (keyvault.md §1.5). */
  deleted_at: number | null;
  scheduled_purge_at: number | null;
  /** The rotation policy as JSON (lifetimeActions, expiryTime, created, updated), or null for the default. */
  rotation_policy: string | null;
  created_at: number;
}

/** One row per key version: immutable material plus the version's mutable attributes. */
export interface VaultKeyVersionsTable {
  vault: string;
  name_key: string;
  /** 32 lower-case hex digits. */
  version: string;
  seq: number;
  /** RSA | RSA-HSM | EC | EC-HSM */
  kty: string;
  key_size: number | null;
  crv: string | null;
  /** JSON array of JsonWebKeyOperation. */
  key_ops: string;
  /** JSON of the public JWK members only (n, e | crv, x, y). */
  public_jwk: string;
  /** PKCS#8 DER of the private key, sealed with the master key (SecretBox) and bound to vault/name/version. */
  private_sealed: string;
  enabled: number;
  nbf_at: number | null;
  exp_at: number | null;
  /** JSON object of string tags. */
  tags: string;
  exportable: number;
  created_at: number;
  updated_at: number;
}

export interface KeysTables {
  vault_keys: VaultKeysTable;
  vault_key_versions: VaultKeyVersionsTable;
}

export type KeysDb = Kysely<Database & KeysTables>;

/** The shared store, typed with this component's tables as well. */
export const keysDb = (db: Kysely<Database>): KeysDb => db as unknown as KeysDb;

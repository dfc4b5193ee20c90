import type { Kysely } from "kysely";
import { type Database, withRetry } from "../../storage/index.js";
import { kvErrors } from "./errors.js";
import { keysDb, type KeysDb, type VaultKeyVersionsTable, type VaultKeysTable } from "./schema.js";
import type { Kty } from "./crypto/algorithms.js";
import type { PublicJwk } from "./key-material.js";
import type { JsonWebKeyOperation } from "./domain/validation.js";
import type { RotationPolicy } from "./domain/rotation-policy.js";

/**
 * Persistence of keys (the store port). Plain Kysely over the two tables of migration 0003, so the same code
 * runs on PostgreSQL later. No crypto happens here or inside a transaction: callers generate and seal the
 * material first (the store is one SQLite connection; a slow transaction would stall every request).
 */
export interface KeyVersionRecord {
  vault: string;
  nameKey: string;
  /** The key's name as created (from the name row). */
  name: string;
  version: string;
  seq: number;
  kty: Kty;
  keySize: number | null;
  crv: string | null;
  keyOps: JsonWebKeyOperation[];
  publicJwk: PublicJwk;
  privateSealed: string;
  enabled: boolean;
  nbfAt: number | null;
  expAt: number | null;
  tags: Record<string, string>;
  exportable: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface KeyNameRecord {
  vault: string;
  nameKey: string;
  name: string;
  latestVersion: string;
  deletedAt: number | null;
  scheduledPurgeAt: number | null;
  rotationPolicy: RotationPolicy | null;
}

/** A version together with its name's lifecycle state. */
export interface KeyRecord extends KeyVersionRecord {
  latestVersion: string;
  deletedAt: number | null;
  scheduledPurgeAt: number | null;
}

export type NewVersion = Omit<KeyVersionRecord, "seq" | "vault" | "nameKey">;

type VersionRow = VaultKeyVersionsTable & Pick<VaultKeysTable, "name" | "latest_version" | "deleted_at" | "scheduled_purge_at">;

const toVersion = (r: VersionRow): KeyRecord => ({
  vault: r.vault,
  nameKey: r.name_key,
  name: r.name,
  version: r.version,
  seq: Number(r.seq),
  kty: r.kty as Kty,
  keySize: r.key_size === null ? null : Number(r.key_size),
  crv: r.crv,
  keyOps: JSON.parse(r.key_ops) as JsonWebKeyOperation[],
  publicJwk: JSON.parse(r.public_jwk) as PublicJwk,
  privateSealed: r.private_sealed,
  enabled: Number(r.enabled) === 1,
  nbfAt: r.nbf_at === null ? null : Number(r.nbf_at),
  expAt: r.exp_at === null ? null : Number(r.exp_at),
  tags: JSON.parse(r.tags) as Record<string, string>,
  exportable: Number(r.exportable) === 1,
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
  latestVersion: r.latest_version,
  deletedAt: r.deleted_at === null ? null : Number(r.deleted_at),
  scheduledPurgeAt: r.scheduled_purge_at === null ? null : Number(r.scheduled_purge_at),
});

const toName = (r: VaultKeysTable): KeyNameRecord => ({
  vault: r.vault,
  nameKey: r.name_key,
  name: r.name,
  latestVersion: r.latest_version,
  deletedAt: r.deleted_at === null ? null : Number(r.deleted_at),
  scheduledPurgeAt: r.scheduled_purge_at === null ? null : Number(r.scheduled_purge_at),
  rotationPolicy: r.rotation_policy ? (JSON.parse(r.rotation_policy) as RotationPolicy) : null,
});

function versionRow(vault: string, nameKey: string, seq: number, v: NewVersion): VaultKeyVersionsTable {
  return {
    vault,
    name_key: nameKey,
    version: v.version,
    seq,
    kty: v.kty,
    key_size: v.keySize,
    crv: v.crv,
    key_ops: JSON.stringify(v.keyOps),
    public_jwk: JSON.stringify(v.publicJwk),
    private_sealed: v.privateSealed,
    enabled: v.enabled ? 1 : 0,
    nbf_at: v.nbfAt,
    exp_at: v.expAt,
    tags: JSON.stringify(v.tags),
    exportable: v.exportable ? 1 : 0,
    created_at: v.createdAt,
    updated_at: v.updatedAt,
  };
}

export class KeyStore {
  private readonly db: KeysDb;

  constructor(db: Kysely<Database>) {
    this.db = keysDb(db);
  }

  private versions(db: KeysDb = this.db) {
    return db
      .selectFrom("vault_key_versions as v")
      .innerJoin("vault_keys as k", (j) => j.onRef("k.vault", "=", "v.vault").onRef("k.name_key", "=", "v.name_key"))
      .selectAll("v")
      .select(["k.name", "k.latest_version", "k.deleted_at", "k.scheduled_purge_at"]);
  }

  async findName(vault: string, nameKey: string): Promise<KeyNameRecord | undefined> {
    const row = await this.db.selectFrom("vault_keys").selectAll().where("vault", "=", vault).where("name_key", "=", nameKey).executeTakeFirst();
    return row && toName(row);
  }

  /** One version, or the latest when `version` is undefined; the hot path of every crypto call (one query). */
  async findVersion(vault: string, nameKey: string, version?: string): Promise<KeyRecord | undefined> {
    let q = this.versions().where("v.vault", "=", vault).where("v.name_key", "=", nameKey);
    q = version === undefined ? q.whereRef("v.version", "=", "k.latest_version") : q.where("v.version", "=", version.toLowerCase());
    const row = await q.executeTakeFirst();
    return row && toVersion(row as VersionRow);
  }

  async allVersions(vault: string, nameKey: string): Promise<KeyRecord[]> {
    const rows = await this.versions().where("v.vault", "=", vault).where("v.name_key", "=", nameKey).orderBy("v.seq").execute();
    return rows.map((r) => toVersion(r as VersionRow));
  }

  /**
   * Adds a version (create, import, rotate). A name that is soft-deleted cannot take new versions
   * (409 ObjectIsDeletedButRecoverable, keyvault.md §1.5); `requireExisting` is rotate's "key must exist".
   */
  async addVersion(vault: string, nameKey: string, v: NewVersion, opts: { requireExisting?: boolean } = {}): Promise<KeyRecord> {
    return withRetry(() =>
      this.db.transaction().execute(async (trx) => {
        // Take the next seq by updating the name's row first: the row stays locked until commit, so two nodes
        // rotating one key get seqs one after the other (issue 11 §2) instead of both reading next_seq.
        const bumped = await trx
          .updateTable("vault_keys")
          .set((eb) => ({ latest_version: v.version, next_seq: eb("next_seq", "+", 1) }))
          .where("vault", "=", vault)
          .where("name_key", "=", nameKey)
          .where("deleted_at", "is", null)
          .returning(["name", "next_seq"])
          .executeTakeFirst();
        let seq: number;
        let name = v.name;
        if (bumped) {
          seq = Number(bumped.next_seq) - 1;
          name = bumped.name;
        } else {
          const existing = await trx.selectFrom("vault_keys").select(["name", "deleted_at"]).where("vault", "=", vault).where("name_key", "=", nameKey).executeTakeFirst();
          if (existing?.deleted_at != null) throw kvErrors.nameDeletedButRecoverable(existing.name);
          if (opts.requireExisting) throw kvErrors.keyNotFound(v.name);
          seq = 1;
          const created = await trx
            .insertInto("vault_keys")
            .values({ vault, name_key: nameKey, name: v.name, latest_version: v.version, next_seq: seq + 1, deleted_at: null, scheduled_purge_at: null, rotation_policy: null, created_at: v.createdAt })
            .onConflict((oc) => oc.columns(["vault", "name_key"]).doNothing())
            .executeTakeFirst();
          // Another node created the name between our update and insert: retry, now as a new version of it.
          if (Number(created.numInsertedOrUpdatedRows ?? 0n) === 0) throw Object.assign(new Error("key name created concurrently"), { code: "40001" });
        }
        await trx.insertInto("vault_key_versions").values(versionRow(vault, nameKey, seq, v)).execute();
        return { ...v, vault, nameKey, seq, name, latestVersion: v.version, deletedAt: null, scheduledPurgeAt: null };
      }),
    );
  }

  /** Restore: every version of a backup under a name that must be free (keyvault.md §1.2 RestoreKey). */
  async restore(vault: string, nameKey: string, name: string, versions: NewVersion[], rotationPolicy: RotationPolicy | null, createdAt: number): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const existing = await trx.selectFrom("vault_keys").select(["name", "deleted_at"]).where("vault", "=", vault).where("name_key", "=", nameKey).executeTakeFirst();
      if (existing?.deleted_at != null) throw kvErrors.nameDeletedButRecoverable(existing.name);
      if (existing) throw kvErrors.keyAlreadyExists(existing.name);
      const latest = versions[versions.length - 1]!;
      await trx
        .insertInto("vault_keys")
        .values({
          vault,
          name_key: nameKey,
          name,
          latest_version: latest.version,
          next_seq: versions.length + 1,
          deleted_at: null,
          scheduled_purge_at: null,
          rotation_policy: rotationPolicy ? JSON.stringify(rotationPolicy) : null,
          created_at: createdAt,
        })
        .execute();
      let seq = 1;
      for (const v of versions) await trx.insertInto("vault_key_versions").values(versionRow(vault, nameKey, seq++, v)).execute();
    });
  }

  async updateVersion(
    vault: string,
    nameKey: string,
    version: string,
    patch: { enabled?: boolean; nbfAt?: number | null; expAt?: number | null; keyOps?: JsonWebKeyOperation[]; tags?: Record<string, string>; updatedAt: number },
  ): Promise<void> {
    await this.db
      .updateTable("vault_key_versions")
      .set({
        ...(patch.enabled !== undefined ? { enabled: patch.enabled ? 1 : 0 } : {}),
        ...(patch.nbfAt !== undefined ? { nbf_at: patch.nbfAt } : {}),
        ...(patch.expAt !== undefined ? { exp_at: patch.expAt } : {}),
        ...(patch.keyOps !== undefined ? { key_ops: JSON.stringify(patch.keyOps) } : {}),
        ...(patch.tags !== undefined ? { tags: JSON.stringify(patch.tags) } : {}),
        updated_at: patch.updatedAt,
      })
      .where("vault", "=", vault)
      .where("name_key", "=", nameKey)
      .where("version", "=", version)
      .execute();
  }

  /** Marks a live key deleted; false when it was not live (concurrent delete). */
  async softDelete(vault: string, nameKey: string, deletedAt: number, scheduledPurgeAt: number): Promise<boolean> {
    const res = await this.db
      .updateTable("vault_keys")
      .set({ deleted_at: deletedAt, scheduled_purge_at: scheduledPurgeAt })
      .where("vault", "=", vault)
      .where("name_key", "=", nameKey)
      .where("deleted_at", "is", null)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  async recover(vault: string, nameKey: string): Promise<boolean> {
    const res = await this.db
      .updateTable("vault_keys")
      .set({ deleted_at: null, scheduled_purge_at: null })
      .where("vault", "=", vault)
      .where("name_key", "=", nameKey)
      .where("deleted_at", "is not", null)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  async purge(vault: string, nameKey: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom("vault_key_versions").where("vault", "=", vault).where("name_key", "=", nameKey).execute();
      await trx.deleteFrom("vault_keys").where("vault", "=", vault).where("name_key", "=", nameKey).execute();
    });
  }

  /** Deleted keys whose retention has passed are gone (the service purges them on schedule). */
  async purgeDue(vault: string, now: number): Promise<string[]> {
    const due = await this.db.selectFrom("vault_keys").select("name_key").where("vault", "=", vault).where("scheduled_purge_at", "<=", now).execute();
    for (const d of due) await this.purge(vault, d.name_key);
    return due.map((d) => d.name_key);
  }

  async setRotationPolicy(vault: string, nameKey: string, policy: RotationPolicy): Promise<void> {
    await this.db.updateTable("vault_keys").set({ rotation_policy: JSON.stringify(policy) }).where("vault", "=", vault).where("name_key", "=", nameKey).execute();
  }

  /** Live keys, each with its latest version, after `afterNameKey`, in name order. */
  async listLive(vault: string, afterNameKey: string | undefined, limit: number): Promise<KeyRecord[]> {
    let q = this.versions().where("v.vault", "=", vault).whereRef("v.version", "=", "k.latest_version").where("k.deleted_at", "is", null);
    if (afterNameKey !== undefined) q = q.where("k.name_key", ">", afterNameKey);
    const rows = await q.orderBy("k.name_key").limit(limit).execute();
    return rows.map((r) => toVersion(r as VersionRow));
  }

  async listVersions(vault: string, nameKey: string, afterSeq: number, limit: number): Promise<KeyRecord[]> {
    const rows = await this.versions().where("v.vault", "=", vault).where("v.name_key", "=", nameKey).where("v.seq", ">", afterSeq).orderBy("v.seq").limit(limit).execute();
    return rows.map((r) => toVersion(r as VersionRow));
  }

  async listDeleted(vault: string, afterNameKey: string | undefined, limit: number): Promise<KeyRecord[]> {
    let q = this.versions().where("v.vault", "=", vault).whereRef("v.version", "=", "k.latest_version").where("k.deleted_at", "is not", null);
    if (afterNameKey !== undefined) q = q.where("k.name_key", ">", afterNameKey);
    const rows = await q.orderBy("k.name_key").limit(limit).execute();
    return rows.map((r) => toVersion(r as VersionRow));
  }

  /** Removes every key of a vault (the vault was purged). */
  async forgetVault(vault: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom("vault_key_versions").where("vault", "=", vault).execute();
      await trx.deleteFrom("vault_keys").where("vault", "=", vault).execute();
    });
  }

  async countKeys(): Promise<number> {
    const row = await this.db.selectFrom("vault_key_versions").select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirst();
    return Number(row?.n ?? 0);
  }
}

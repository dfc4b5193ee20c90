import type { Clock } from "../../platform/index.js";
import { newGuid } from "../../platform/index.js";
import { type ResourceStore, typeKey } from "../../arm/index.js";
import type { KeyVaultsTable, MgmtDb } from "./schema.js";

export const VAULT_TYPE_KEY = typeKey("Microsoft.KeyVault", ["vaults"]);

/** The stored vault body (what GET returns, minus the per-request vaultUri). */
export interface VaultBody {
  id: string;
  name: string;
  type: "Microsoft.KeyVault/vaults";
  location: string;
  tags: Record<string, string>;
  systemData?: Record<string, string>;
  properties: Record<string, unknown>;
}

/** One claimed vault name: a live vault, or a soft-deleted one waiting for recover or purge. */
export interface VaultRow {
  nameKey: string;
  uid: string;
  vaultId: string;
  subscriptionId: string;
  state: "active" | "deleted";
  location: string;
  body: VaultBody;
  deletionDate: number | null;
  scheduledPurgeDate: number | null;
}

const toRow = (r: KeyVaultsTable): VaultRow => ({
  nameKey: r.name_key,
  uid: r.uid,
  vaultId: r.vault_id,
  subscriptionId: r.subscription_id,
  state: r.state === "deleted" ? "deleted" : "active",
  location: r.location,
  body: JSON.parse(r.body) as VaultBody,
  deletionDate: r.deletion_date,
  scheduledPurgeDate: r.scheduled_purge_date,
});

/** Thrown when a concurrent create claimed the name between our read and our insert. */
export class NameTaken extends Error {}

/**
 * Vault persistence. `key_vaults` is the source of truth for names, soft-deleted vaults and the registry;
 * live vaults are mirrored into the generic `resources` table so ARM lists, cascades and moves them. Every
 * write goes through here so the two never disagree about a live vault.
 */
export class VaultStore {
  constructor(
    private readonly db: MgmtDb,
    private readonly resources: ResourceStore,
    private readonly clock: Clock,
  ) {}

  async byName(name: string): Promise<VaultRow | undefined> {
    const row = await this.db.selectFrom("key_vaults").selectAll().where("name_key", "=", name.toLowerCase()).executeTakeFirst();
    return row && toRow(row);
  }

  async byVaultId(id: string): Promise<VaultRow | undefined> {
    const row = await this.db.selectFrom("key_vaults").selectAll().where("vault_key", "=", id.toLowerCase()).where("state", "=", "active").executeTakeFirst();
    return row && toRow(row);
  }

  async listDeleted(subscriptionId: string): Promise<VaultRow[]> {
    const rows = await this.db.selectFrom("key_vaults").selectAll().where("subscription_id", "=", subscriptionId).where("state", "=", "deleted").orderBy("deletion_date").execute();
    return rows.map(toRow);
  }

  /** Creates or updates a live vault (both tables). Throws NameTaken if another vault won the name. */
  async putActive(args: { uid?: string; subscriptionId: string; resourceGroup: string; body: VaultBody; isNew: boolean }): Promise<string> {
    const now = this.clock.now();
    const nameKey = args.body.name.toLowerCase();
    const uid = args.uid ?? newGuid();
    const values = {
      vault_key: args.body.id.toLowerCase(),
      vault_id: args.body.id,
      subscription_id: args.subscriptionId,
      state: "active",
      location: args.body.location,
      body: JSON.stringify(args.body),
      deletion_date: null,
      scheduled_purge_date: null,
      updated_at: now,
    };
    if (args.isNew) {
      try {
        await this.db.insertInto("key_vaults").values({ name_key: nameKey, uid, created_at: now, ...values }).execute();
      } catch (err) {
        if (await this.byName(nameKey)) throw new NameTaken(nameKey);
        throw err;
      }
    } else {
      await this.db.updateTable("key_vaults").set({ uid, ...values }).where("name_key", "=", nameKey).execute();
    }
    await this.resources.put({ id: args.body.id, subscriptionId: args.subscriptionId, resourceGroup: args.resourceGroup, typeKey: VAULT_TYPE_KEY, name: args.body.name, body: args.body });
    return uid;
  }

  /** Soft delete: the name stays claimed, the body is kept for recover (ARM has already dropped its row). */
  async markDeleted(nameKey: string, deletionDate: number, scheduledPurgeDate: number): Promise<void> {
    await this.db
      .updateTable("key_vaults")
      .set({ state: "deleted", deletion_date: deletionDate, scheduled_purge_date: scheduledPurgeDate, updated_at: this.clock.now() })
      .where("name_key", "=", nameKey)
      .execute();
  }

  /** Frees the name for good (purge, or delete of a vault without soft delete). */
  async remove(nameKey: string): Promise<void> {
    await this.db.deleteFrom("key_vaults").where("name_key", "=", nameKey).execute();
  }

  /** Follows an ARM move: the row keeps its name and uid, and gets the new id, subscription and body id. */
  async moved(row: VaultRow, newId: string, subscriptionId: string): Promise<void> {
    const body = { ...row.body, id: newId };
    await this.db
      .updateTable("key_vaults")
      .set({ vault_id: newId, vault_key: newId.toLowerCase(), subscription_id: subscriptionId, body: JSON.stringify(body), updated_at: this.clock.now() })
      .where("name_key", "=", row.nameKey)
      .execute();
  }

  /** Soft-deleted vaults whose scheduled purge date has passed, as Key Vault purges them by itself. */
  async expired(now: number): Promise<VaultRow[]> {
    const rows = await this.db.selectFrom("key_vaults").selectAll().where("state", "=", "deleted").where("scheduled_purge_date", "<=", now).execute();
    return rows.map(toRow);
  }
}

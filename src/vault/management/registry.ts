import type { Clock } from "../../platform/index.js";
import { parseResourceId } from "../../arm/index.js";
import type { VaultRecord, VaultRegistry } from "../vault-registry.js";
import type { MgmtDb } from "./schema.js";
import { type VaultRow, VaultStore } from "./vault-store.js";
import { bodyToProps } from "./vault-rules.js";
import { dataActionsOf, findRole, type RoleDefinition } from "./role-definitions.js";

/** A VaultRecord plus the vault's stable identity (survives move, soft delete and recover; never reused). */
export type ManagedVaultRecord = VaultRecord & { uid: string };

/** A soft-deleted vault as it was, with its soft-delete dates (epoch ms). */
export type DeletedVaultRecord = ManagedVaultRecord & { deletionDate: number; scheduledPurgeDate: number };

/** True when `scopeKey` is `targetKey` or one of its ancestors (resource group, subscription). */
export const scopeCovers = (scopeKey: string, targetKey: string): boolean => targetKey === scopeKey || targetKey.startsWith(`${scopeKey}/`);

export function toVaultRecord(row: VaultRow): ManagedVaultRecord {
  const p = bodyToProps(row.body.properties);
  return {
    uid: row.uid,
    name: row.nameKey,
    id: row.vaultId,
    subscriptionId: row.subscriptionId,
    resourceGroup: parseResourceId(row.vaultId)?.resourceGroup ?? "",
    location: row.location,
    tenantId: p.tenantId,
    accessPolicies: p.accessPolicies,
    enableRbacAuthorization: p.enableRbacAuthorization,
    enableSoftDelete: p.enableSoftDelete,
    softDeleteRetentionInDays: p.softDeleteRetentionInDays,
    enablePurgeProtection: p.enablePurgeProtection,
    networkAcls: p.networkAcls,
    publicNetworkAccess: p.publicNetworkAccess,
  };
}

/**
 * The VaultRegistry seam (vault-registry.ts), read by the data plane on every request. Answers come from a
 * small in-memory cache that every management write clears (`invalidate`), so an unwrap does not pay two
 * queries; all writes to vaults and role assignments go through this component, which makes that safe in
 * one process (scale-out will need a shared invalidation signal, scale-out.md).
 */
/** Enough for every vault a local instance holds; past it the caches start over (names probed at random, say). */
const MAX_CACHED = 10_000;

export class ManagementRegistry implements VaultRegistry {
  private vaults = new Map<string, ManagedVaultRecord | null>();
  private actions = new Map<string, string[]>();

  constructor(
    private readonly db: MgmtDb,
    private readonly store: VaultStore,
    private readonly clock: Clock,
  ) {}

  invalidate(): void {
    this.vaults.clear();
    this.actions.clear();
  }

  /** Live vaults only: a soft-deleted vault is unreachable, as when its DNS name stops resolving in Azure. */
  async findVault(name: string): Promise<ManagedVaultRecord | undefined> {
    const key = name.toLowerCase();
    const cached = this.vaults.get(key);
    if (cached !== undefined) return cached ?? undefined;
    const row = await this.store.byName(key);
    const record = row && row.state === "active" ? toVaultRecord(row) : null;
    if (this.vaults.size >= MAX_CACHED) this.vaults.clear();
    this.vaults.set(key, record);
    return record ?? undefined;
  }

  /**
   * A soft-deleted vault of that name (not yet purged), so the data plane can tell "deleted" from "never
   * existed" in its messages. Not cached: only failing requests ask.
   */
  async findDeletedVault(name: string): Promise<DeletedVaultRecord | undefined> {
    const row = await this.store.byName(name.toLowerCase());
    if (!row || row.state !== "deleted" || (row.scheduledPurgeDate ?? 0) <= this.clock.now()) return undefined;
    return { ...toVaultRecord(row), deletionDate: row.deletionDate ?? 0, scheduledPurgeDate: row.scheduledPurgeDate ?? 0 };
  }

  /**
   * Concrete Key Vault data actions (role patterns expanded against KEY_VAULT_DATA_ACTIONS, so callers compare
   * exactly, case-insensitively) from every assignment of the principal at the vault or above it.
   */
  async dataActionsFor(principalObjectId: string, vaultId: string): Promise<string[]> {
    const principal = principalObjectId.toLowerCase();
    const vaultKey = vaultId.toLowerCase();
    const cacheKey = `${principal}|${vaultKey}`;
    const cached = this.actions.get(cacheKey);
    if (cached) return cached;
    const sub = /^\/subscriptions\/([^/]+)/.exec(vaultKey)?.[1];
    const rows = sub
      ? await this.db.selectFrom("role_assignments").select(["scope_key", "role_definition_guid"]).where("principal_id", "=", principal).where("subscription_id", "=", sub).execute()
      : [];
    const roles = rows.filter((r) => scopeCovers(r.scope_key, vaultKey)).map((r) => findRole(r.role_definition_guid)).filter((r): r is RoleDefinition => r !== undefined);
    const result = dataActionsOf(roles);
    if (this.actions.size >= MAX_CACHED) this.actions.clear();
    this.actions.set(cacheKey, result);
    return result;
  }
}

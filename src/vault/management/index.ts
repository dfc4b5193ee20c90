import type { ResourceProvider } from "../../arm/index.js";
import type { VaultDeps } from "../deps.js";
import type { VaultRegistry } from "../vault-registry.js";
import type { MgmtContext } from "./context.js";
import type { MgmtDb } from "./schema.js";
import { VaultStore } from "./vault-store.js";
import { ManagementRegistry, type DeletedVaultRecord, type ManagedVaultRecord } from "./registry.js";
import { keyVaultProvider } from "./vaults-provider.js";
import { authorizationProvider } from "./role-assignments.js";

export type { ManagedVaultRecord, DeletedVaultRecord } from "./registry.js";
export { BUILT_IN_ROLES, KEY_VAULT_DATA_ACTIONS, dataActionsOf, findRoleByName, type RoleDefinition } from "./role-definitions.js";

/** VaultRegistry whose records also carry the vault's stable `uid`. */
export interface ManagedVaultRegistry extends VaultRegistry {
  findVault(name: string): Promise<ManagedVaultRecord | undefined>;
  /** A soft-deleted, not yet purged vault of that name (lets "deleted" be told from "never existed"). */
  findDeletedVault(name: string): Promise<DeletedVaultRecord | undefined>;
}

/** A vault gone for good: purged, or deleted without soft delete. Its keys can be dropped. */
export interface PurgedVault {
  name: string;
  uid: string;
  id: string;
}

export interface VaultManagement {
  /** ARM resource providers (Microsoft.KeyVault, Microsoft.Authorization). */
  providers: ResourceProvider[];
  /** The seam the data plane reads. Records also carry `uid` (ManagedVaultRecord), stable across move/recover. */
  registry: ManagedVaultRegistry;
  /** Subscribes to purges, so the data plane can delete the keys of a vault that can never come back. */
  onVaultPurged(listener: (vault: PurgedVault) => Promise<void> | void): void;
}

/**
 * The Key Vault management plane (issue 3 §1): Microsoft.KeyVault/vaults with access policies, network
 * ACLs, soft delete, recover and purge, global vault names, and Microsoft.Authorization role definitions
 * and assignments for RBAC vaults. Design record: docs/designs/2026-11-28-vault-management.md.
 */
export function createVaultManagement(deps: VaultDeps): VaultManagement {
  // The shared database, seen with this component's tables (migration 0002).
  const db = deps.db as unknown as MgmtDb;
  const store = new VaultStore(db, deps.arm.store, deps.clock);
  const registry = new ManagementRegistry(db, store, deps.clock);
  const listeners: ((vault: PurgedVault) => Promise<void> | void)[] = [];
  const ctx: MgmtContext = {
    services: deps.arm,
    store,
    clock: deps.clock,
    httpsPort: deps.httpsPort,
    changed: () => registry.invalidate(),
    async purged(row) {
      for (const listener of listeners) {
        try {
          await listener({ name: row.nameKey, uid: row.uid, id: row.vaultId });
        } catch (err) {
          deps.log.error({ err: err instanceof Error ? err.message : String(err), vault: row.nameKey }, "vault purge listener failed");
        }
      }
    },
  };
  return {
    providers: [keyVaultProvider(ctx), authorizationProvider({ db, services: deps.arm, clock: deps.clock, changed: ctx.changed })],
    registry,
    onVaultPurged(listener) {
      listeners.push(listener);
    },
  };
}

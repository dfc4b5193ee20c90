import type { Kysely } from "kysely";
import type { Database } from "../../storage/index.js";

/**
 * The management plane's own tables (migration 0002). Live vaults are also rows of the generic `resources`
 * table, so ARM lists, moves and cascades them like any resource; `key_vaults` additionally holds every
 * claimed vault name, live or soft-deleted, because vault names are global (keyvault.md §2.5) and a
 * soft-deleted vault keeps its name and its body until it is purged.
 */
export interface KeyVaultsTable {
  /** Lower-cased vault name: the global uniqueness key. */
  name_key: string;
  /** Stable identity of the vault across moves, soft delete and recover (never reused after purge). */
  uid: string;
  /** Lower-cased ARM id of the live vault, or of the vault as it was when deleted. */
  vault_key: string;
  vault_id: string;
  subscription_id: string;
  /** "active" | "deleted" */
  state: string;
  location: string;
  /** The stored vault body (JSON), without the per-request vaultUri. */
  body: string;
  /** Epoch ms; set while deleted. */
  deletion_date: number | null;
  scheduled_purge_date: number | null;
  created_at: number;
  updated_at: number;
}

/** `Microsoft.Authorization/roleAssignments` at any scope (subscription, resource group or resource). */
export interface RoleAssignmentsTable {
  /** Lower-cased assignment id ({scope}/providers/Microsoft.Authorization/roleAssignments/{name}). */
  key: string;
  id: string;
  name: string;
  /** Lower-cased scope id, for prefix matching ("at or above the vault"). */
  scope_key: string;
  subscription_id: string;
  /** Lower-cased principal object id. */
  principal_id: string;
  /** Lower-cased role definition GUID. */
  role_definition_guid: string;
  body: string;
  created_at: number;
}

export interface VaultManagementTables {
  key_vaults: KeyVaultsTable;
  role_assignments: RoleAssignmentsTable;
}

/** The shared database, seen with this component's tables too (cast locally; storage/schema.ts stays generic). */
export type MgmtDb = Kysely<Database & VaultManagementTables>;

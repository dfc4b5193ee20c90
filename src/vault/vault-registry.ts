/**
 * The seam between Key Vault's management plane (ARM `Microsoft.KeyVault/vaults`, access policies,
 * network ACLs, soft delete; role assignments) and its data plane (keys, crypto, authorization).
 * The management plane implements it; the data plane (and later sql/ and health/) only reads through it.
 */
export interface AccessPolicyEntry {
  tenantId: string;
  objectId: string;
  applicationId?: string;
  /** Permission names as stored (case as the caller sent them; compare case-insensitively). */
  permissions: { keys?: string[]; secrets?: string[]; certificates?: string[]; storage?: string[] };
}

export interface NetworkAcls {
  defaultAction: "Allow" | "Deny";
  bypass: "AzureServices" | "None";
  ipRules: { value: string }[];
  virtualNetworkRules: { id: string }[];
}

export interface VaultRecord {
  /** Vault name, lower-cased (vault names are global and case-insensitive). */
  name: string;
  /** Stable identity of this vault incarnation: a purged and re-created name gets a new one. */
  uid: string;
  /** ARM resource id, canonical casing. */
  id: string;
  subscriptionId: string;
  resourceGroup: string;
  location: string;
  tenantId: string;
  accessPolicies: AccessPolicyEntry[];
  enableRbacAuthorization: boolean;
  enableSoftDelete: boolean;
  softDeleteRetentionInDays: number;
  enablePurgeProtection: boolean;
  networkAcls: NetworkAcls;
  publicNetworkAccess: "Enabled" | "Disabled";
}

export interface VaultRegistry {
  /** A live (not soft-deleted) vault by name, or undefined. */
  findVault(name: string): Promise<VaultRecord | undefined>;
  /**
   * Key Vault data actions granted to a principal through role assignments at the vault's scope or any
   * scope above it (resource group, subscription), e.g. "Microsoft.KeyVault/vaults/keys/unwrap/action".
   * Only consulted for vaults with enableRbacAuthorization.
   */
  dataActionsFor(principalObjectId: string, vaultId: string): Promise<string[]>;
  /** A soft-deleted vault by name (so "vault deleted" can be told apart from "never existed"). */
  findDeletedVault?(name: string): Promise<(VaultRecord & { deletionDate: number; scheduledPurgeDate: number }) | undefined>;
}

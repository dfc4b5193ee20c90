import type { ArmResource } from "../../lib/types";

/**
 * The public shapes the Key Vault pages read: Microsoft.KeyVault/vaults through ARM (az keyvault's 2022-07-01)
 * and keys through the vault's own data plane (7.4), always at the vault's `properties.vaultUri`.
 */
export const KV_API = "2022-07-01";
export const KV_DATA_API = "7.4";
export const MSI_API = "2023-01-31";
export const SQL_API = "2021-11-01";

export const withApi = (path: string, version: string): string => `${path}${path.includes("?") ? "&" : "?"}api-version=${version}`;
export const nameOf = (id: string): string => id.split("/").filter(Boolean).pop() ?? id;
export const rgOf = (id: string): string => id.split("/")[4] ?? "";
export const subOf = (id: string): string => id.split("/")[2] ?? "";
export const sameId = (a?: string, b?: string): boolean => !!a && !!b && a.toLowerCase() === b.toLowerCase();

export interface AccessPolicy {
  tenantId: string;
  objectId: string;
  applicationId?: string;
  permissions: { keys?: string[]; secrets?: string[]; certificates?: string[]; storage?: string[] };
}

export interface NetworkAcls {
  bypass?: "AzureServices" | "None";
  defaultAction?: "Allow" | "Deny";
  ipRules?: { value: string }[];
  virtualNetworkRules?: { id: string; ignoreMissingVnetServiceEndpoint?: boolean }[];
}

export interface Vault extends ArmResource {
  properties: {
    tenantId: string;
    vaultUri: string;
    sku?: { family: string; name: string };
    accessPolicies?: AccessPolicy[];
    enableSoftDelete?: boolean;
    softDeleteRetentionInDays?: number;
    enablePurgeProtection?: boolean;
    enableRbacAuthorization?: boolean;
    networkAcls?: NetworkAcls;
    publicNetworkAccess?: "Enabled" | "Disabled";
    provisioningState?: string;
    [k: string]: unknown;
  };
}

/** Key Vault KeyItem / KeyBundle attributes (7.4): times are epoch seconds. */
export interface KeyAttributes {
  enabled?: boolean;
  nbf?: number;
  exp?: number;
  created?: number;
  updated?: number;
  recoveryLevel?: string;
  recoverableDays?: number;
}

export interface KeyItem {
  kid: string;
  attributes: KeyAttributes;
  tags?: Record<string, string>;
  managed?: boolean;
}

export interface KeyBundle {
  key: { kid: string; kty: string; key_ops?: string[]; n?: string; crv?: string };
  attributes: KeyAttributes;
  tags?: Record<string, string>;
}

/** Permission names as Key Vault spells them (MGMT KeyPermissions, SecretPermissions, CertificatePermissions). */
export const KEY_PERMISSIONS = ["get", "list", "update", "create", "import", "delete", "recover", "backup", "restore", "getrotationpolicy", "setrotationpolicy", "rotate", "decrypt", "encrypt", "unwrapKey", "wrapKey", "verify", "sign", "release", "purge"];
export const SECRET_PERMISSIONS = ["get", "list", "set", "delete", "recover", "backup", "restore", "purge"];
export const CERTIFICATE_PERMISSIONS = ["get", "list", "update", "create", "import", "delete", "recover", "backup", "restore", "managecontacts", "manageissuers", "getissuers", "listissuers", "setissuers", "deleteissuers", "purge"];

/** The one-click template of portal.md §3.7 #3: what a TDE protector needs (seed: "get, wrapKey, unwrapKey"). */
export const TDE_TEMPLATE = { label: "Azure SQL TDE (get, wrapKey, unwrapKey)", keys: ["get", "wrapKey", "unwrapKey"] };

/** `https://{vault}.vault.../keys/{name}[/{version}]` → parts. */
export function parseKid(kid: string): { vault: string; name: string; version?: string } | undefined {
  const m = /^https:\/\/([^./]+)\.vault\.[^/]+(?::\d+)?\/keys\/([^/]+)(?:\/([^/?]*))?/i.exec(kid);
  return m ? { vault: m[1]!.toLowerCase(), name: m[2]!, ...(m[3] ? { version: m[3] } : {}) } : undefined;
}

export const epochMs = (s?: number): number | undefined => (typeof s === "number" ? s * 1000 : undefined);

import { isIPv4 } from "node:net";
import { isGuid } from "../../platform/index.js";
import type { AccessPolicyEntry, NetworkAcls } from "../vault-registry.js";
import { kvErrors } from "./errors.js";

/**
 * Pure rules of Microsoft.KeyVault/vaults (keyvault.md §2.5, MGMT VaultProperties): names, properties with
 * their defaults and irreversible settings, access policies and their permission lists, network ACLs and
 * the soft-delete clock. No I/O; the provider feeds them the stored state and the request body.
 */

export const VAULT_TYPE = "Microsoft.KeyVault/vaults";

/** What a vault's `properties` hold, normalised (vaultUri and provisioningState are added at the edge). */
export interface VaultProps {
  tenantId: string;
  sku: { family: "A"; name: "standard" | "premium" };
  accessPolicies: AccessPolicyEntry[];
  enabledForDeployment: boolean;
  enabledForDiskEncryption: boolean;
  enabledForTemplateDeployment: boolean;
  enableSoftDelete: boolean;
  softDeleteRetentionInDays: number;
  enableRbacAuthorization: boolean;
  enablePurgeProtection: boolean;
  networkAcls: NetworkAcls;
  publicNetworkAccess: "Enabled" | "Disabled";
}

export const DEFAULT_RETENTION_DAYS = 90;
export const MIN_RETENTION_DAYS = 7;
export const MAX_RETENTION_DAYS = 90;
/** "accessPolicies: 0..1024" (MGMT VaultProperties). */
export const MAX_ACCESS_POLICIES = 1024;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * 3-24 characters, letters, digits and hyphens, starting with a letter, ending with a letter or digit,
 * no consecutive hyphens (Azure's VaultNameNotValid rule; the spec pattern alone is looser).
 */
export function isValidVaultName(name: string): boolean {
  return /^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/.test(name) && !name.includes("--");
}

/** Permission names per object kind, as Key Vault spells them (MGMT KeyPermissions, SecretPermissions, ...). */
export const PERMISSIONS = {
  keys: ["all", "get", "list", "create", "update", "import", "delete", "recover", "backup", "restore", "purge", "encrypt", "decrypt", "wrapKey", "unwrapKey", "sign", "verify", "release", "rotate", "getrotationpolicy", "setrotationpolicy"],
  secrets: ["all", "get", "list", "set", "delete", "backup", "restore", "recover", "purge"],
  certificates: ["all", "get", "list", "delete", "create", "import", "update", "managecontacts", "getissuers", "listissuers", "setissuers", "deleteissuers", "manageissuers", "recover", "purge", "backup", "restore"],
  storage: ["all", "get", "list", "delete", "set", "update", "regeneratekey", "recover", "purge", "backup", "restore", "setsas", "listsas", "getsas", "deletesas"],
} as const;
export type PermissionKind = keyof typeof PERMISSIONS;
const PERMISSION_KINDS = Object.keys(PERMISSIONS) as PermissionKind[];
const KNOWN = Object.fromEntries(PERMISSION_KINDS.map((k) => [k, new Set(PERMISSIONS[k].map((p) => p.toLowerCase()))])) as Record<PermissionKind, Set<string>>;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const present = (v: unknown): boolean => v !== undefined && v !== null;

/** Validates one permission list; names compare case-insensitively and keep the caller's spelling. */
function readPermissionList(kind: PermissionKind, value: unknown): string[] {
  if (!Array.isArray(value) || value.some((p) => typeof p !== "string" || !KNOWN[kind].has(p.toLowerCase()))) throw kvErrors.invalidAccessPolicies();
  return [...new Set(value as string[])];
}

/** Access-policy entries (MGMT AccessPolicyEntry): GUIDs for tenant, object and optional application ids. */
export function readAccessPolicies(value: unknown): AccessPolicyEntry[] {
  if (!Array.isArray(value)) throw kvErrors.invalidAccessPolicies();
  if (value.length > MAX_ACCESS_POLICIES) throw kvErrors.tooManyAccessPolicies(MAX_ACCESS_POLICIES);
  return value.map((raw, i) => {
    if (!isObject(raw)) throw kvErrors.invalidAccessPolicies();
    if (typeof raw.tenantId !== "string" || !isGuid(raw.tenantId)) throw kvErrors.invalidAccessPolicyField(i, "TenantId", raw.tenantId);
    if (typeof raw.objectId !== "string" || !isGuid(raw.objectId)) throw kvErrors.invalidAccessPolicyField(i, "ObjectId", raw.objectId);
    if (present(raw.applicationId) && (typeof raw.applicationId !== "string" || !isGuid(raw.applicationId))) {
      throw kvErrors.invalidAccessPolicyField(i, "ApplicationId", raw.applicationId);
    }
    if (!isObject(raw.permissions)) throw kvErrors.invalidAccessPolicies();
    const permissions: AccessPolicyEntry["permissions"] = {};
    for (const kind of PERMISSION_KINDS) {
      const list = raw.permissions[kind];
      if (present(list)) permissions[kind] = readPermissionList(kind, list);
    }
    return {
      tenantId: raw.tenantId.toLowerCase(),
      objectId: raw.objectId.toLowerCase(),
      ...(present(raw.applicationId) ? { applicationId: (raw.applicationId as string).toLowerCase() } : {}),
      permissions,
    };
  });
}

const sameIdentity = (a: AccessPolicyEntry, b: AccessPolicyEntry): boolean =>
  a.tenantId.toLowerCase() === b.tenantId.toLowerCase() &&
  a.objectId.toLowerCase() === b.objectId.toLowerCase() &&
  (a.applicationId ?? "").toLowerCase() === (b.applicationId ?? "").toLowerCase();

const union = (a: string[] = [], b: string[] = []): string[] => {
  const seen = new Set(a.map((p) => p.toLowerCase()));
  return [...a, ...b.filter((p) => !seen.has(p.toLowerCase()) && seen.add(p.toLowerCase()))];
};
const minus = (a: string[] = [], b: string[] = []): string[] => {
  const drop = new Set(b.map((p) => p.toLowerCase()));
  return a.filter((p) => !drop.has(p.toLowerCase()));
};

/**
 * `PUT vaults/{v}/accessPolicies/{add|replace|remove}` (arm-keyvault updateAccessPolicy). Entries match on
 * (tenantId, objectId, applicationId). add: merge permissions into the matching entry, or append it.
 * replace: the entry's permissions become the given ones (appended if absent). remove: drop the given
 * permissions; an entry left with none, or a request entry that names none, removes the whole entry.
 */
export function applyAccessPolicyOperation(current: AccessPolicyEntry[], kind: "add" | "replace" | "remove", changes: AccessPolicyEntry[]): AccessPolicyEntry[] {
  let result = current.map((e) => ({ ...e, permissions: { ...e.permissions } }));
  for (const change of changes) {
    const match = result.find((e) => sameIdentity(e, change));
    if (kind === "add") {
      if (!match) result.push(change);
      else for (const k of PERMISSION_KINDS) if (change.permissions[k]) match.permissions[k] = union(match.permissions[k], change.permissions[k]);
    } else if (kind === "replace") {
      if (!match) result.push(change);
      else match.permissions = { ...change.permissions };
    } else if (match) {
      const named = PERMISSION_KINDS.some((k) => (change.permissions[k]?.length ?? 0) > 0);
      if (named) for (const k of PERMISSION_KINDS) if (change.permissions[k]) match.permissions[k] = minus(match.permissions[k], change.permissions[k]);
      const left = PERMISSION_KINDS.some((k) => (match.permissions[k]?.length ?? 0) > 0);
      if (!named || !left) result = result.filter((e) => e !== match);
    }
  }
  if (result.length > MAX_ACCESS_POLICIES) throw kvErrors.tooManyAccessPolicies(MAX_ACCESS_POLICIES);
  return result;
}

export const DEFAULT_NETWORK_ACLS: NetworkAcls = { defaultAction: "Allow", bypass: "AzureServices", ipRules: [], virtualNetworkRules: [] };

/** An IPv4 address or CIDR; a single address gets "/32", as Key Vault answers (MGMTEX createVaultWithNetworkAcls). */
export function normalizeIpRule(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const [ip, bits, extra] = value.trim().split("/");
  if (extra !== undefined || !ip || !isIPv4(ip)) return undefined;
  if (bits === undefined) return `${ip}/32`;
  if (!/^\d{1,2}$/.test(bits) || Number(bits) > 32) return undefined;
  return `${ip}/${Number(bits)}`;
}

function pick<T extends string>(value: unknown, allowed: readonly T[], property: string): T {
  const found = typeof value === "string" ? allowed.find((a) => a.toLowerCase() === value.toLowerCase()) : undefined;
  if (!found) throw kvErrors.invalidValue(property);
  return found;
}

/** MGMT NetworkRuleSet; omitted members take Azure's defaults (bypass AzureServices, defaultAction Allow). */
export function readNetworkAcls(value: unknown): NetworkAcls {
  if (!isObject(value)) throw kvErrors.invalidValue("networkAcls");
  const ipRules = present(value.ipRules) ? value.ipRules : [];
  const vnetRules = present(value.virtualNetworkRules) ? value.virtualNetworkRules : [];
  if (!Array.isArray(ipRules) || !Array.isArray(vnetRules)) throw kvErrors.invalidValue("networkAcls");
  return {
    defaultAction: present(value.defaultAction) ? pick(value.defaultAction, ["Allow", "Deny"] as const, "networkAcls.defaultAction") : "Allow",
    bypass: present(value.bypass) ? pick(value.bypass, ["AzureServices", "None"] as const, "networkAcls.bypass") : "AzureServices",
    ipRules: ipRules.map((r) => {
      const v = normalizeIpRule(isObject(r) ? r.value : undefined);
      if (!v) throw kvErrors.invalidValue("networkAcls.ipRules");
      return { value: v };
    }),
    // Subnet ids come back lower-cased (MGMTEX createVaultWithNetworkAcls).
    virtualNetworkRules: vnetRules.map((r) => {
      if (!isObject(r) || typeof r.id !== "string" || !r.id.startsWith("/")) throw kvErrors.invalidValue("networkAcls.virtualNetworkRules");
      return { id: r.id.toLowerCase(), ...(typeof r.ignoreMissingVnetServiceEndpoint === "boolean" ? { ignoreMissingVnetServiceEndpoint: r.ignoreMissingVnetServiceEndpoint } : {}) };
    }),
  };
}

function readBool(props: Record<string, unknown>, name: string): boolean | undefined {
  const v = props[name];
  if (!present(v)) return undefined;
  if (typeof v !== "boolean") throw kvErrors.invalidValue(name);
  return v;
}

/** `createMode`: "default" or "recover" (MGMT CreateMode; compared case-insensitively). */
export function readCreateMode(props: Record<string, unknown>): "default" | "recover" {
  return present(props.createMode) ? pick(props.createMode, ["default", "recover"] as const, "createMode") : "default";
}

/**
 * The vault's properties after a PUT or PATCH. `existing` is the stored vault (undefined on create). A
 * property the body omits (or sends as null) keeps its stored value, or takes its default on create, so
 * the GET-then-PUT of az and a partial PATCH both land on the same result. The irreversible ones follow
 * Azure: soft delete and purge protection cannot be switched off (an explicit `enablePurgeProtection:
 * false` is refused even on create), the retention interval is fixed once set, and purge protection needs
 * soft delete (soft-delete-overview.md).
 */
export function resolveVaultProps(existing: VaultProps | undefined, props: Record<string, unknown>, mode: "put" | "patch"): VaultProps {
  let tenantId = existing?.tenantId;
  if (present(props.tenantId) || (mode === "put" && !existing)) {
    if (typeof props.tenantId !== "string" || !isGuid(props.tenantId)) throw kvErrors.invalidValue("tenantId");
    tenantId = props.tenantId.toLowerCase();
  }
  let sku = existing?.sku;
  if (present(props.sku) || (mode === "put" && !existing)) {
    const s = props.sku;
    if (!isObject(s)) throw kvErrors.invalidValue("sku");
    pick(s.family ?? "A", ["A"] as const, "sku.family");
    sku = { family: "A", name: pick(s.name, ["standard", "premium"] as const, "sku.name") };
  }
  const accessPolicies = present(props.accessPolicies) ? readAccessPolicies(props.accessPolicies) : (existing?.accessPolicies ?? []);

  const softDelete = readBool(props, "enableSoftDelete");
  if (existing?.enableSoftDelete && softDelete === false) throw kvErrors.softDeleteIrreversible();
  const enableSoftDelete = softDelete ?? existing?.enableSoftDelete ?? true;

  let softDeleteRetentionInDays = existing?.softDeleteRetentionInDays ?? DEFAULT_RETENTION_DAYS;
  if (present(props.softDeleteRetentionInDays)) {
    const r = props.softDeleteRetentionInDays;
    if (typeof r !== "number" || !Number.isInteger(r) || r < MIN_RETENTION_DAYS || r > MAX_RETENTION_DAYS) throw kvErrors.invalidRetention(r);
    if (existing?.enableSoftDelete && r !== existing.softDeleteRetentionInDays) throw kvErrors.retentionImmutable();
    softDeleteRetentionInDays = r;
  }

  const purge = readBool(props, "enablePurgeProtection");
  if (purge === false) throw kvErrors.purgeProtectionIrreversible();
  const enablePurgeProtection = purge ?? existing?.enablePurgeProtection ?? false;
  if (enablePurgeProtection && !enableSoftDelete) throw kvErrors.purgeProtectionNeedsSoftDelete();

  return {
    tenantId: tenantId!,
    sku: sku!,
    accessPolicies,
    enabledForDeployment: readBool(props, "enabledForDeployment") ?? existing?.enabledForDeployment ?? false,
    enabledForDiskEncryption: readBool(props, "enabledForDiskEncryption") ?? existing?.enabledForDiskEncryption ?? false,
    enabledForTemplateDeployment: readBool(props, "enabledForTemplateDeployment") ?? existing?.enabledForTemplateDeployment ?? false,
    enableSoftDelete,
    softDeleteRetentionInDays,
    enableRbacAuthorization: readBool(props, "enableRbacAuthorization") ?? existing?.enableRbacAuthorization ?? false,
    enablePurgeProtection,
    networkAcls: present(props.networkAcls) ? readNetworkAcls(props.networkAcls) : (existing?.networkAcls ?? DEFAULT_NETWORK_ACLS),
    publicNetworkAccess: present(props.publicNetworkAccess) ? pick(props.publicNetworkAccess, ["Enabled", "Disabled"] as const, "publicNetworkAccess") : (existing?.publicNetworkAccess ?? "Enabled"),
  };
}

/** When a soft-deleted vault is purged by the service: deletion time plus the retention interval. */
export function scheduledPurgeDate(deletedAtMs: number, retentionDays: number): number {
  return deletedAtMs + retentionDays * DAY_MS;
}

/** A purge request is refused while purge protection holds the vault (soft-delete-overview.md "Permitted purge"). */
export function purgeAllowed(purgeProtection: boolean, scheduledPurgeMs: number, nowMs: number): boolean {
  return !purgeProtection || nowMs >= scheduledPurgeMs;
}

/**
 * The vault's DNS name as the caller sees it: `https://{name}.vault.azure.net/` through the proxy (the ARM
 * request came for management.azure.com) and `https://{name}.vault.localhost:{port}/` in direct mode
 * (architecture.md "Two ways in"). Computed per response because one stored body serves both.
 */
export function vaultUriFor(name: string, requestHost: string, httpsPort: number): string {
  const host = requestHost.toLowerCase().replace(/:443$/, "");
  const n = name.toLowerCase();
  return host === "management.azure.com" ? `https://${n}.vault.azure.net/` : `https://${n}.vault.localhost:${httpsPort}/`;
}

/** The stored `properties` object: Azure omits enablePurgeProtection unless it is on (null in az output). */
export function propsToBody(p: VaultProps): Record<string, unknown> {
  const { enablePurgeProtection, ...rest } = p;
  return { ...rest, ...(enablePurgeProtection ? { enablePurgeProtection: true } : {}), provisioningState: "Succeeded" };
}

/** Reads the stored `properties` back (tolerant of bodies written by earlier versions). */
export function bodyToProps(props: Record<string, unknown>): VaultProps {
  return {
    tenantId: String(props.tenantId),
    sku: (props.sku as VaultProps["sku"]) ?? { family: "A", name: "standard" },
    accessPolicies: (props.accessPolicies as AccessPolicyEntry[]) ?? [],
    enabledForDeployment: props.enabledForDeployment === true,
    enabledForDiskEncryption: props.enabledForDiskEncryption === true,
    enabledForTemplateDeployment: props.enabledForTemplateDeployment === true,
    enableSoftDelete: props.enableSoftDelete !== false,
    softDeleteRetentionInDays: typeof props.softDeleteRetentionInDays === "number" ? props.softDeleteRetentionInDays : DEFAULT_RETENTION_DAYS,
    enableRbacAuthorization: props.enableRbacAuthorization === true,
    enablePurgeProtection: props.enablePurgeProtection === true,
    networkAcls: (props.networkAcls as NetworkAcls) ?? DEFAULT_NETWORK_ACLS,
    publicNetworkAccess: props.publicNetworkAccess === "Disabled" ? "Disabled" : "Enabled",
  };
}

/**
 * What the doctor learns about one server (facts, gathered through the public APIs by facts.ts) and what it
 * concludes (a diagnosis, computed from the facts alone by checks.ts). Plain data both ways, so the
 * detection rules are pure functions that tests can feed directly (style-study.md §3.4, verdaccio).
 */

/** The seed's causes, by the names `tdekv chaos` uses for them. */
export type Cause =
  | "identity-deleted"
  | "moved-subscription"
  | "moved-tenant"
  | "vault-deleted"
  | "vault-missing"
  | "firewall-no-trusted-services"
  | "network-error"
  | "key-deleted"
  | "key-missing"
  | "key-disabled"
  | "key-expired"
  | "key-not-yet-valid"
  | "key-unsupported"
  | "recovery-level"
  | "permissions-insufficient"
  | "permissions-revoked"
  | "healing"
  | "revalidation-needed";

export interface ArmServer {
  id: string;
  name: string;
  type: string;
  location: string;
  identity?: { type?: string; principalId?: string; tenantId?: string; userAssignedIdentities?: Record<string, { principalId?: string; clientId?: string }> };
  properties: Record<string, unknown> & { primaryUserAssignedIdentityId?: string };
}

export interface IdentityFacts {
  /** As the server says: None, SystemAssigned, UserAssigned, "SystemAssigned,UserAssigned". */
  type: string;
  /** Which identity the server uses for Key Vault: the primary user-assigned one if any, else the system one. */
  source: "system" | "user" | "none";
  /** The principal the server would call Key Vault as (for a user-assigned identity: its current principal). */
  principalId?: string;
  /** The tenant the server's identity block names. */
  tenantId?: string;
  /** The primary user-assigned identity's resource id, and whether that resource still exists. */
  userAssignedId?: string;
  userAssignedExists?: boolean;
  /** Microsoft Graph's answer for principalId, in the caller's tenant. */
  principal?: { found: boolean; resourceIds: string[]; tenantId?: string; displayName?: string };
}

export interface VaultFacts {
  name: string;
  state: "active" | "deleted" | "missing";
  id?: string;
  resourceGroup?: string;
  subscriptionId?: string;
  /** The vault's own tenantId property, and the tenant its subscription is in now. */
  tenantId?: string;
  subscriptionTenantId?: string;
  location?: string;
  networkAcls?: { defaultAction?: string; bypass?: string; ipRules?: { value: string }[] };
  publicNetworkAccess?: string;
  enableRbacAuthorization?: boolean;
  enableSoftDelete?: boolean;
  enablePurgeProtection?: boolean;
  accessPolicies?: { tenantId?: string; objectId: string; permissions?: { keys?: string[] } }[];
  deleted?: { deletionDate?: string; scheduledPurgeDate?: string; purgeProtectionEnabled?: boolean; vaultId?: string; location?: string };
}

export interface KeyFacts {
  kid: string;
  name: string;
  version?: string;
  state: "present" | "deleted" | "missing" | "unreadable";
  enabled?: boolean;
  /** epoch seconds, as Key Vault's wire attributes. */
  nbf?: number;
  exp?: number;
  kty?: string;
  keySize?: number;
  recoveryLevel?: string;
  deleted?: { deletedDate?: number; scheduledPurgeDate?: number };
  /** Why the doctor could not read the key itself (its own permissions or the firewall). */
  error?: { status: number; code: string; message: string };
}

export interface AccessFacts {
  model: "accessPolicy" | "rbac";
  granted: string[];
  missing: string[];
  /** Evidence: the policy entry or role assignments that grant what is granted. */
  via: string[];
  error?: string;
}

export interface LoggedEvent {
  eventName: string;
  status: string;
  at: string;
  correlationId?: string;
  description?: string;
  errorCode?: string;
  cause?: string;
}

export interface DatabaseFacts {
  id: string;
  name: string;
  status: string;
  /** The newest loss not followed by a recovery: MakeDatabaseInaccessible (or the managed one) Started. */
  lostAt?: string;
  /** The window closed: MakeDatabaseInaccessible Succeeded after that loss. */
  windowClosedAt?: string;
  lostCode?: string;
  lostCause?: string;
  events: LoggedEvent[];
}

export interface ServerFacts {
  server: ArmServer;
  managed: boolean;
  subscriptionId: string;
  resourceGroup: string;
  /** The tenant the server's subscription is in now. */
  subscriptionTenantId?: string;
  identity: IdentityFacts;
  protector?: { serverKeyType: string; serverKeyName?: string; uri?: string; autoRotationEnabled?: boolean };
  vault?: VaultFacts;
  key?: KeyFacts;
  access?: AccessFacts;
  databases: DatabaseFacts[];
  /** tdekv's injected vault faults (GET /_tdekv/chaos/faults), by vault name; undefined when not readable. */
  faults?: Record<string, { kind: string; rate?: number; delayMs?: number }>;
  /** tdekv's clock (ms) and the auto-heal window (ms). */
  now: number;
  windowMs: number;
}

export type CheckStatus = "ok" | "problem" | "warning" | "skipped";

export interface Check {
  id: "identity" | "protector" | "vault" | "firewall" | "network" | "key" | "permissions" | "tenancy" | "databases";
  title: string;
  status: CheckStatus;
  detail: string;
  /** The az command that shows the same thing (the seed's Detection). */
  detect?: string;
}

/** A mitigation the doctor can apply itself with `--fix` (the safe ones). */
export type FixAction =
  | { kind: "assign-identity"; serverId: string }
  | { kind: "grant-key-permissions"; vaultId: string; model: "accessPolicy" | "rbac"; tenantId: string; objectId?: string; serverId: string }
  | { kind: "allow-trusted-services"; vaultId: string };

export interface MitigationStep {
  /** A runnable az command with the real names filled in. */
  command: string;
  note?: string;
}

export interface DatabaseImpact {
  name: string;
  id: string;
  status: string;
  lostAt?: string;
  /** Milliseconds left in the auto-heal window (0 when closed); undefined when online or unknown. */
  windowLeftMs?: number;
  windowClosed: boolean;
}

export interface Problem {
  cause: Cause;
  /** The seed's (or Azure's) status and code, e.g. 401 AzureKeyVaultNoServerIdentity. */
  status: number;
  code: string;
  message: string;
  /** Which part of the seed covers it. */
  seed: string;
  summary: string;
  evidence: string[];
  databases: DatabaseImpact[];
  mitigation: MitigationStep[];
  revalidation: { needed: boolean; detail: string; command: string };
  fixes: FixAction[];
  /** A transient cause: it takes several failed probes, and it heals by itself when the network comes back. */
  transient?: boolean;
}

export interface Diagnosis {
  server: { id: string; name: string; resourceGroup: string; subscriptionId: string; managed: boolean };
  protector?: { type: string; uri?: string; vault?: string; key?: string; version?: string };
  checks: Check[];
  problems: Problem[];
  databases: DatabaseImpact[];
}

export interface DoctorReport {
  ok: boolean;
  now: string;
  tenantId: string;
  windowSeconds: number;
  servers: Diagnosis[];
  /** When no server was found: where else to look. */
  hint?: string;
}

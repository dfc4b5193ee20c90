import type { ArmServices, StoredResource } from "../arm/index.js";
import type { Directory, Principal } from "../identity/index.js";
import type { Clock, Logger } from "../platform/index.js";
import type { Db } from "../storage/index.js";
import { typeKey } from "../arm/index.js";
import type { SqlFlavor } from "./domain/flavor.js";
import type { ServerKeyVault } from "./key-access.js";
import type { TdeService } from "./tde-service.js";
import type { ProbeOutcome } from "../health/index.js";
import type { BackupHooks } from "../backup/index.js";

export interface IdentityBody {
  type: string;
  principalId?: string;
  tenantId?: string;
  userAssignedIdentities?: Record<string, { principalId: string; clientId: string }>;
}

export interface ServerBody {
  id: string;
  name: string;
  type: string;
  location: string;
  kind?: string;
  tags?: Record<string, string>;
  identity?: IdentityBody;
  properties: Record<string, unknown> & { administratorLogin?: string; primaryUserAssignedIdentityId?: string; keyId?: string; state?: string };
}

export interface ServerKeyBody {
  id: string;
  name: string;
  type: string;
  kind: "azurekeyvault" | "servicemanaged";
  location: string;
  properties: { serverKeyType: "AzureKeyVault" | "ServiceManaged"; uri?: string; thumbprint?: string; creationDate?: string; autoRotationEnabled: boolean };
}

export interface ProtectorBody {
  id: string;
  name: "current";
  type: string;
  kind: "azurekeyvault" | "servicemanaged";
  location: string;
  properties: { serverKeyName: string; serverKeyType: "AzureKeyVault" | "ServiceManaged"; uri?: string; thumbprint?: string; autoRotationEnabled: boolean };
}

export interface DatabaseBody {
  id: string;
  name: string;
  type: string;
  location: string;
  kind?: string;
  sku?: Record<string, unknown>;
  tags?: Record<string, string>;
  properties: Record<string, unknown> & { status: string; databaseId: string };
}

/** The lifecycle (health/) as Microsoft.Sql calls it; a no-op until the composition root wires it. */
export interface LifecycleHooks {
  revalidate(serverId: string, databaseId?: string): Promise<ProbeOutcome>;
  /** A connection to an inaccessible database was refused (Resource Health turns Unavailable). */
  denied(serverId: string, db: DatabaseBody): Promise<void>;
  /** Opening a database failed: that is a probe result too. */
  openFailed(serverId: string, outcome: ProbeOutcome): Promise<void>;
  forgetDatabase(databaseId: string): Promise<void>;
  forgetServer(serverId: string): Promise<void>;
  serverMoved(oldId: string, newId: string): Promise<void>;
}

export const noLifecycle: LifecycleHooks = {
  revalidate: async () => ({ ok: true }),
  denied: async () => {},
  openFailed: async () => {},
  forgetDatabase: async () => {},
  forgetServer: async () => {},
  serverMoved: async () => {},
};

/**
 * Which node holds each database file (issue 11 slice 2, local-disk mode, scale-out.md §3.4); src/cluster
 * implements it. A no-op until the composition root wires it: a lone node holds every file, as before.
 */
export interface PlacementHooks {
  /** At start: may this node open the file? (Placed on it, unplaced, or its file is in this node's data dir.) */
  mayOpen(databaseId: string, fileIsHere: boolean): Promise<boolean>;
  /** This node created or opened the file: it holds it now. */
  holds(databaseId: string): Promise<void>;
  /** Whether another node holds the file (then this one must not claim to open or close it). */
  heldElsewhere(databaseId: string): Promise<boolean>;
}

export const noPlacement: PlacementHooks = {
  mayOpen: async () => true,
  holds: async () => {},
  heldElsewhere: async () => false,
};

/** What the Microsoft.Sql providers share. */
export interface SqlContext {
  lifecycle: LifecycleHooks;
  placement: PlacementHooks;
  /** Backups, restores and geo-replication (issue 10; src/backup). */
  backup: BackupHooks;
  arm: ArmServices;
  directory: Directory;
  clock: Clock;
  log: Logger;
  db: Db;
  tde: TdeService;
  vault: ServerKeyVault;
}

export const keysTypeKey = (f: SqlFlavor) => typeKey("Microsoft.Sql", [f.parentType, "keys"]);
export const protectorTypeKey = (f: SqlFlavor) => typeKey("Microsoft.Sql", [f.parentType, "encryptionProtector"]);
export const databasesTypeKey = (f: SqlFlavor) => typeKey("Microsoft.Sql", [f.parentType, "databases"]);
export const serverTypeKey = (f: SqlFlavor) => typeKey("Microsoft.Sql", [f.parentType]);

/**
 * The principal that acts for a server toward Key Vault: the primary user-assigned identity when one is
 * set, else the system-assigned one (seed "Missing server identity"). Undefined when neither exists any
 * more (never assigned, or deleted: the seed's "identity was accidentally deleted").
 */
export async function serverIdentity(ctx: SqlContext, server: ServerBody): Promise<Principal | undefined> {
  const primary = server.properties.primaryUserAssignedIdentityId;
  const type = server.identity?.type?.toLowerCase() ?? "none";
  if (primary && type.includes("userassigned")) return ctx.directory.findManagedIdentity("UserAssigned", primary);
  if (type.includes("systemassigned")) {
    const p = await ctx.directory.findManagedIdentity("SystemAssigned", server.id);
    // A principal from another tenant than the server's subscription is the seed's "moved to another tenant".
    return p;
  }
  return undefined;
}

export async function getProtector(ctx: SqlContext, serverId: string): Promise<StoredResource<ProtectorBody> | undefined> {
  return ctx.arm.store.get<ProtectorBody>(`${serverId}/encryptionProtector/current`);
}

export async function listDatabases(ctx: SqlContext, flavor: SqlFlavor, server: { id: string }, subscriptionId: string): Promise<StoredResource<DatabaseBody>[]> {
  return ctx.arm.store.listByType<DatabaseBody>({ subscriptionId, typeKey: databasesTypeKey(flavor), parentId: server.id });
}

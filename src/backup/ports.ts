import type { ArmError, ProviderCall, StoredResource } from "../arm/index.js";
import type { SurfaceResponse } from "../platform/index.js";
import type { KeyProtector, KeyUnwrapper } from "../tde/index.js";

/** A logical server as backup/ reads it from the ARM store (Microsoft.Sql's ServerBody, structurally). */
export interface ServerLike {
  id: string;
  name: string;
  location: string;
  properties: Record<string, unknown>;
}

/** A database as backup/ reads it (Microsoft.Sql's DatabaseBody, structurally). */
export interface DatabaseLike {
  id: string;
  name: string;
  type: string;
  location: string;
  kind?: string;
  sku?: Record<string, unknown>;
  tags?: Record<string, string>;
  properties: Record<string, unknown> & { status: string; databaseId: string };
}

/** A server key resource (`servers/{s}/keys/{name}`). */
export interface ServerKeyLike {
  id: string;
  name: string;
  properties: { serverKeyType: string; uri?: string; thumbprint?: string };
}

/**
 * What backup/ needs from Microsoft.Sql, implemented by sql/ (index.ts): the protector that wraps a
 * server's new DEKs, the unwrapper that acts as the server's identity, and the seed's error for a failed
 * vault call. backup/ never imports sql/.
 */
export interface SqlPort {
  currentProtector(server: ServerLike): Promise<KeyProtector>;
  unwrapper(server: ServerLike): KeyUnwrapper;
  /** The seed's ARM error for a key-access failure, or undefined when `err` is not one. */
  keyAccessError(serverName: string, err: unknown, kid: string): ArmError | undefined;
}

/** What Microsoft.Sql's providers call (wired into SqlContext.backup). */
export interface BackupHooks {
  /** `PUT databases/{db}` with a createMode other than Default; `db` is the body the provider built. */
  createDatabase(call: ProviderCall, server: ServerLike, db: DatabaseLike, createMode: string, props: Record<string, unknown>): Promise<SurfaceResponse>;
  /** Live read-only properties for GET and list: earliestRestoreDate, failoverGroupId, secondaryType. */
  decorate<T extends DatabaseLike>(db: T): Promise<T>;
  /** Before a deleted database's file is dropped: the final backup, the restorable-dropped record, links. */
  databaseDeleted(db: DatabaseLike, removed: StoredResource[]): Promise<void>;
  /** A server was deleted: its dropped databases' backups and its failover groups go too. */
  serverDeleted(serverId: string): Promise<void>;
  /** The seed's loss rule, after a late revalidation: PITR history, failover groups and links go. */
  settingsLost(db: DatabaseLike): Promise<void>;
  /** Handlers for the types backup/ serves under Microsoft.Sql (type path → handler). */
  routes: Map<string, (call: ProviderCall, requireServer: (call: ProviderCall) => Promise<ServerLike>) => Promise<SurfaceResponse>>;
  /**
   * A failover group listener (`<fg>.database.windows.net`: the current primary;
   * `<fg>.secondary.database.windows.net`: the secondary) to the server name it points at now, else undefined.
   */
  resolveListener?(host: string): Promise<string | undefined>;
}

export const noBackup: BackupHooks = {
  createDatabase: async () => {
    throw new Error("backups are not wired");
  },
  decorate: async (db) => db,
  databaseDeleted: async () => {},
  serverDeleted: async () => {},
  settingsLost: async () => {},
  routes: new Map(),
};

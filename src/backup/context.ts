import type { ArmServices } from "../arm/index.js";
import type { Clock, Logger } from "../platform/index.js";
import type { Db } from "../storage/index.js";
import type { TdeEngine } from "../tde/index.js";
import type { Archiver } from "./archiver.js";
import type { BackupStore } from "./backup-store.js";
import type { ServerLike, SqlPort } from "./ports.js";

/** What the backup component's parts share. */
export interface BackupContext {
  arm: ArmServices;
  db: Db;
  engine: TdeEngine;
  archiver: Archiver;
  store: BackupStore;
  sql: SqlPort;
  clock: Clock;
  log: Logger;
  /** Where restores build their files before they are installed (same file system as the databases). */
  stagingDir: string;
}

export const DATABASES_TYPE = "microsoft.sql/servers/databases";
export const KEYS_TYPE = "microsoft.sql/servers/keys";
export const SERVERS_TYPE = "microsoft.sql/servers";

export const subscriptionOf = (id: string): string => id.split("/")[2]!.toLowerCase();
export const resourceGroupOf = (id: string): string => id.split("/")[4]!;
export const serverIdOf = (dbId: string): string => dbId.slice(0, dbId.toLowerCase().lastIndexOf("/databases/"));
export const iso = (ms: number): string => new Date(ms).toISOString();

export async function getServer(ctx: BackupContext, id: string): Promise<ServerLike | undefined> {
  return (await ctx.arm.store.get<ServerLike>(id))?.body;
}

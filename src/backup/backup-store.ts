import type { Kysely } from "kysely";
import type { Db } from "../storage/index.js";
import type { ReadWriteEndpoint } from "./domain/failover-rules.js";

/** Tables of migration 0008 (src/storage/migrations/0008-backup.ts). Times are epoch ms; keys lower-cased ids. */
interface BackupTables {
  backup_history: { database_id: string; history_reset_at: number };
  backup_dropped: { key: string; server_key: string; database_name: string; database_id: string; body: string; deleted_at: number; purge_at: number };
  geo_links: { link_id: string; primary_db_key: string; secondary_db_key: string; body: string; created_at: number };
  failover_groups: { name_key: string; primary_server_key: string; secondary_server_key: string; body: string; created_at: number };
}

/** A restorable dropped database: its ARM body and where its archive is. */
export interface DroppedRecord {
  id: string;
  serverId: string;
  databaseName: string;
  databaseId: string;
  deletedAt: number;
  purgeAt: number;
  body: Record<string, unknown> & { properties: Record<string, unknown> };
}

/** One end of a replication link. */
export interface LinkEnd {
  dbId: string;
  serverId: string;
  serverName: string;
  location: string;
  /** The engine file (properties.databaseId). */
  file: string;
}

/** Where the secondary stands in the primary's archive. */
export interface AppliedPosition {
  genId: string;
  walIndex: number;
  offset: number;
  txid: number;
}

export interface LinkRecord {
  linkId: string;
  primary: LinkEnd;
  secondary: LinkEnd;
  startTime: number;
  secondaryType: "Geo" | "Named";
  state: "SEEDING" | "CATCH_UP" | "SUSPENDED";
  applied: AppliedPosition | null;
  /** Shipping paused by `tdekv geo pause` (drills: the unshipped window a forced failover loses). */
  paused: boolean;
  failoverGroup?: string;
}

export interface FailoverReport {
  at: number;
  kind: "Planned" | "Forced" | "Automatic";
  /** Transactions committed on the old primary that the new primary never received (forced only). */
  lostTransactions: number;
  lostTxids: [number, number] | null;
  databases: { name: string; lostTransactions: number }[];
}

export interface FogRecord {
  name: string;
  primaryServerId: string;
  secondaryServerId: string;
  primaryLocation: string;
  secondaryLocation: string;
  readWriteEndpoint: ReadWriteEndpoint;
  readOnlyEndpoint: { failoverPolicy: "Disabled" | "Enabled" };
  tags: Record<string, string>;
  /** Database names (the same on both servers). */
  databases: string[];
  /** When the primary was first seen down (for the Automatic policy's grace period). */
  downSince?: number;
  lastFailover?: FailoverReport;
}

export class BackupStore {
  private readonly db: Kysely<BackupTables>;
  constructor(db: Db) {
    this.db = db as unknown as Kysely<BackupTables>;
  }

  async historyResetAt(databaseId: string): Promise<number | undefined> {
    const row = await this.db.selectFrom("backup_history").select("history_reset_at").where("database_id", "=", databaseId).executeTakeFirst();
    return row ? Number(row.history_reset_at) : undefined;
  }

  async setHistoryReset(databaseId: string, at: number): Promise<void> {
    await this.db.insertInto("backup_history").values({ database_id: databaseId, history_reset_at: at }).onConflict((oc) => oc.column("database_id").doUpdateSet({ history_reset_at: at })).execute();
  }

  async forgetHistory(databaseId: string): Promise<void> {
    await this.db.deleteFrom("backup_history").where("database_id", "=", databaseId).execute();
  }

  // Restorable dropped databases.
  async addDropped(r: DroppedRecord): Promise<void> {
    await this.db
      .insertInto("backup_dropped")
      .values({ key: r.id.toLowerCase(), server_key: r.serverId.toLowerCase(), database_name: r.databaseName.toLowerCase(), database_id: r.databaseId, body: JSON.stringify(r), deleted_at: r.deletedAt, purge_at: r.purgeAt })
      .execute();
  }

  async dropped(serverId: string): Promise<DroppedRecord[]> {
    const rows = await this.db.selectFrom("backup_dropped").select("body").where("server_key", "=", serverId.toLowerCase()).orderBy("deleted_at").execute();
    return rows.map((r) => JSON.parse(r.body) as DroppedRecord);
  }

  async droppedById(id: string): Promise<DroppedRecord | undefined> {
    const row = await this.db.selectFrom("backup_dropped").select("body").where("key", "=", id.toLowerCase()).executeTakeFirst();
    return row ? (JSON.parse(row.body) as DroppedRecord) : undefined;
  }

  async expiredDropped(now: number): Promise<DroppedRecord[]> {
    const rows = await this.db.selectFrom("backup_dropped").select("body").where("purge_at", "<=", now).execute();
    return rows.map((r) => JSON.parse(r.body) as DroppedRecord);
  }

  async removeDropped(id: string): Promise<void> {
    await this.db.deleteFrom("backup_dropped").where("key", "=", id.toLowerCase()).execute();
  }

  // Replication links.
  async links(): Promise<LinkRecord[]> {
    const rows = await this.db.selectFrom("geo_links").select("body").orderBy("created_at").execute();
    return rows.map((r) => JSON.parse(r.body) as LinkRecord);
  }

  async linksOf(dbId: string): Promise<LinkRecord[]> {
    const key = dbId.toLowerCase();
    const rows = await this.db
      .selectFrom("geo_links")
      .select("body")
      .where((eb) => eb.or([eb("primary_db_key", "=", key), eb("secondary_db_key", "=", key)]))
      .orderBy("created_at")
      .execute();
    return rows.map((r) => JSON.parse(r.body) as LinkRecord);
  }

  async putLink(l: LinkRecord): Promise<void> {
    const values = { link_id: l.linkId, primary_db_key: l.primary.dbId.toLowerCase(), secondary_db_key: l.secondary.dbId.toLowerCase(), body: JSON.stringify(l), created_at: l.startTime };
    await this.db
      .insertInto("geo_links")
      .values(values)
      .onConflict((oc) => oc.column("link_id").doUpdateSet({ primary_db_key: values.primary_db_key, secondary_db_key: values.secondary_db_key, body: values.body }))
      .execute();
  }

  async removeLink(linkId: string): Promise<void> {
    await this.db.deleteFrom("geo_links").where("link_id", "=", linkId).execute();
  }

  // Failover groups.
  async fogs(): Promise<FogRecord[]> {
    const rows = await this.db.selectFrom("failover_groups").select("body").orderBy("created_at").execute();
    return rows.map((r) => JSON.parse(r.body) as FogRecord);
  }

  async fogsOf(serverId: string): Promise<FogRecord[]> {
    const key = serverId.toLowerCase();
    const rows = await this.db
      .selectFrom("failover_groups")
      .select("body")
      .where((eb) => eb.or([eb("primary_server_key", "=", key), eb("secondary_server_key", "=", key)]))
      .orderBy("created_at")
      .execute();
    return rows.map((r) => JSON.parse(r.body) as FogRecord);
  }

  async fog(name: string): Promise<FogRecord | undefined> {
    const row = await this.db.selectFrom("failover_groups").select("body").where("name_key", "=", name.toLowerCase()).executeTakeFirst();
    return row ? (JSON.parse(row.body) as FogRecord) : undefined;
  }

  async putFog(f: FogRecord, createdAt: number): Promise<void> {
    const values = { name_key: f.name.toLowerCase(), primary_server_key: f.primaryServerId.toLowerCase(), secondary_server_key: f.secondaryServerId.toLowerCase(), body: JSON.stringify(f), created_at: createdAt };
    await this.db
      .insertInto("failover_groups")
      .values(values)
      .onConflict((oc) => oc.column("name_key").doUpdateSet({ primary_server_key: values.primary_server_key, secondary_server_key: values.secondary_server_key, body: values.body }))
      .execute();
  }

  async removeFog(name: string): Promise<void> {
    await this.db.deleteFrom("failover_groups").where("name_key", "=", name.toLowerCase()).execute();
  }
}

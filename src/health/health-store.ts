import type { Kysely } from "kysely";
import type { Db } from "../storage/index.js";
import { type DatabaseLife, type TargetState, freshTarget, onlineLife } from "./domain/rules.js";

interface HealthTables {
  health_targets: { server_key: string; state: string };
  health_databases: { database_id: string; server_key: string; state: string; availability: string; availability_changed_at: number };
}

export type Availability = "Available" | "Unavailable";

export interface DatabaseRecord {
  databaseId: string;
  serverKey: string;
  life: DatabaseLife;
  availability: Availability;
  availabilityChangedAt: number;
}

/** Persistence of the lifecycle, so state survives a restart at any point (issue 5 §3). */
export class HealthStore {
  private readonly db: Kysely<HealthTables>;
  constructor(db: Db) {
    this.db = db as unknown as Kysely<HealthTables>;
  }

  async target(serverKey: string): Promise<TargetState> {
    const row = await this.db.selectFrom("health_targets").select("state").where("server_key", "=", serverKey).executeTakeFirst();
    return row ? (JSON.parse(row.state) as TargetState) : freshTarget();
  }

  async saveTarget(serverKey: string, state: TargetState): Promise<void> {
    const value = JSON.stringify(state);
    await this.db.insertInto("health_targets").values({ server_key: serverKey, state: value }).onConflict((oc) => oc.column("server_key").doUpdateSet({ state: value })).execute();
  }

  async database(databaseId: string, serverKey: string, now: number): Promise<DatabaseRecord> {
    const row = await this.db.selectFrom("health_databases").selectAll().where("database_id", "=", databaseId).executeTakeFirst();
    if (!row) return { databaseId, serverKey, life: onlineLife(), availability: "Available", availabilityChangedAt: now };
    return { databaseId, serverKey: row.server_key, life: JSON.parse(row.state) as DatabaseLife, availability: row.availability as Availability, availabilityChangedAt: Number(row.availability_changed_at) };
  }

  async saveDatabase(r: DatabaseRecord): Promise<void> {
    const values = { database_id: r.databaseId, server_key: r.serverKey, state: JSON.stringify(r.life), availability: r.availability, availability_changed_at: r.availabilityChangedAt };
    await this.db
      .insertInto("health_databases")
      .values(values)
      .onConflict((oc) => oc.column("database_id").doUpdateSet({ server_key: values.server_key, state: values.state, availability: values.availability, availability_changed_at: values.availability_changed_at }))
      .execute();
  }

  /** The database ids of a server that are Inaccessible (one query, for the per-pass window check). */
  async inaccessibleOf(serverKey: string): Promise<Set<string>> {
    const rows = await this.db.selectFrom("health_databases").select(["database_id", "state"]).where("server_key", "=", serverKey).execute();
    return new Set(rows.filter((r) => (JSON.parse(r.state) as DatabaseLife).state === "Inaccessible").map((r) => r.database_id));
  }

  async forgetDatabase(databaseId: string): Promise<void> {
    await this.db.deleteFrom("health_databases").where("database_id", "=", databaseId).execute();
  }

  async forgetTarget(serverKey: string): Promise<void> {
    await this.db.deleteFrom("health_targets").where("server_key", "=", serverKey).execute();
  }

  /** A server moved: its rows follow its new id. */
  async rekeyServer(oldKey: string, newKey: string): Promise<void> {
    await this.db.updateTable("health_targets").set({ server_key: newKey }).where("server_key", "=", oldKey).execute();
    await this.db.updateTable("health_databases").set({ server_key: newKey }).where("server_key", "=", oldKey).execute();
  }
}

import { type Kysely, type Transaction, sql } from "kysely";
import type { Db } from "../storage/index.js";
import { type DatabaseLife, type TargetState, freshTarget, onlineLife } from "./domain/rules.js";

interface HealthTables {
  health_targets: { server_key: string; state: string; version: number; probed_by: string | null; lease_epoch: number | null };
  health_databases: { database_id: string; server_key: string; state: string; availability: string; availability_changed_at: number; version: number };
}

export type Availability = "Available" | "Unavailable";

export interface DatabaseRecord {
  databaseId: string;
  serverKey: string;
  life: DatabaseLife;
  availability: Availability;
  availabilityChangedAt: number;
  /**
   * The row's version when it was read, for compare-and-set (issue 11 slice 2, scale-out.md §3.2); undefined
   * when there was no row yet (then the save inserts only if still absent).
   */
  version?: number;
}

/** Who wrote a probe result: the node and the lease epoch it held (fenced writes, src/cluster). */
export interface ProbedBy {
  node: string;
  epoch: number;
}

/** Persistence of the lifecycle, so state survives a restart at any point (issue 5 §3). */
export class HealthStore {
  private readonly db: Kysely<HealthTables>;
  /** On the plain store, or bound to one transaction (see `transaction`). */
  constructor(db: Db | Kysely<any>) {
    this.db = db as unknown as Kysely<HealthTables>;
  }

  /**
   * Runs `fn` in one transaction with a store bound to it. Inside, use only that store and `trx`: on PostgreSQL
   * the pool has one connection (storage/database.ts), so a query on the plain store would wait for ever.
   */
  transaction<T>(fn: (store: HealthStore, trx: Transaction<any>) => Promise<T>): Promise<T> {
    return this.db.transaction().execute((trx) => fn(new HealthStore(trx), trx as unknown as Transaction<any>));
  }

  async target(serverKey: string): Promise<TargetState> {
    const row = await this.db.selectFrom("health_targets").select("state").where("server_key", "=", serverKey).executeTakeFirst();
    return row ? (JSON.parse(row.state) as TargetState) : freshTarget();
  }

  /** Who probed a target last, under which lease epoch (null before the first fenced probe). */
  async probedBy(serverKey: string): Promise<{ node: string | null; epoch: number | null } | undefined> {
    const row = await this.db.selectFrom("health_targets").select(["probed_by", "lease_epoch"]).where("server_key", "=", serverKey).executeTakeFirst();
    return row ? { node: row.probed_by, epoch: row.lease_epoch === null ? null : Number(row.lease_epoch) } : undefined;
  }

  async saveTarget(serverKey: string, state: TargetState, by?: ProbedBy): Promise<void> {
    const value = JSON.stringify(state);
    const stamp = by ? { probed_by: by.node, lease_epoch: by.epoch } : {};
    await this.db
      .insertInto("health_targets")
      .values({ server_key: serverKey, state: value, version: 1, ...stamp })
      .onConflict((oc) => oc.column("server_key").doUpdateSet({ state: value, version: sql<number>`health_targets.version + 1`, ...stamp }))
      .execute();
  }

  async database(databaseId: string, serverKey: string, now: number): Promise<DatabaseRecord> {
    const row = await this.db.selectFrom("health_databases").selectAll().where("database_id", "=", databaseId).executeTakeFirst();
    if (!row) return { databaseId, serverKey, life: onlineLife(), availability: "Available", availabilityChangedAt: now };
    return {
      databaseId,
      serverKey: row.server_key,
      life: JSON.parse(row.state) as DatabaseLife,
      availability: row.availability as Availability,
      availabilityChangedAt: Number(row.availability_changed_at),
      version: Number(row.version),
    };
  }

  /**
   * Compare-and-set on `version` (scale-out.md §3.2): inserts when no row was read (and none appeared since),
   * updates only the version that was read. False: another writer moved first; re-read and re-run the rule.
   */
  async saveDatabase(r: DatabaseRecord): Promise<boolean> {
    const values = { database_id: r.databaseId, server_key: r.serverKey, state: JSON.stringify(r.life), availability: r.availability, availability_changed_at: r.availabilityChangedAt };
    if (r.version === undefined) {
      const res = await this.db
        .insertInto("health_databases")
        .values({ ...values, version: 1 })
        .onConflict((oc) => oc.column("database_id").doNothing())
        .executeTakeFirst();
      return Number(res.numInsertedOrUpdatedRows ?? 0) === 1;
    }
    const res = await this.db
      .updateTable("health_databases")
      .set({ server_key: values.server_key, state: values.state, availability: values.availability, availability_changed_at: values.availability_changed_at, version: r.version + 1 })
      .where("database_id", "=", r.databaseId)
      .where("version", "=", r.version)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
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

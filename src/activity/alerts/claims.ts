import { type Kysely, PostgresAdapter, type Transaction, sql } from "kysely";
import type { Logger } from "../../platform/index.js";
import { type Db, type StoreEngine, leaseHolds, leaseNowMs, skipLocked, withRetry } from "../../storage/index.js";
import { alertDb, type AlertTables } from "./schema.js";

/** The singleton lease of the node that follows the Activity Log (alert_leases.name). */
export const DISPATCHER_LEASE = "dispatcher";

/** A write was refused because this node no longer holds the lease it was made under. */
export class Fenced extends Error {
  constructor(what: string) {
    super(`fenced: this node no longer holds the ${what} lease`);
  }
}

/** A lease this node holds: its fencing token, and until when (performance.now()) it may act on it. */
export interface Claim {
  epoch: number;
  actUntil: number;
}

/** The engine behind a Kysely handle: PostgreSQL-wire when its adapter is Postgres', else SQLite. */
export function engineOf(db: Db): StoreEngine {
  return db.getExecutor().adapter instanceof PostgresAdapter ? "postgres" : "sqlite";
}

/**
 * The alert leases of one node (scale-out.md §3.1, §3.3): the singleton 'dispatcher' lease and one lease per
 * receiver queue. Every lease time is on the lease clock (`leaseNowMs`: the database's clock on PostgreSQL),
 * never a node's. Claims bump `epoch` (the fencing token); renewals keep it. Writes made under a lease are
 * fenced in their own transaction (`fenceQueue`, `fenceDispatcher`): a node that paused past its lease, or
 * lost it, writes nothing. A node also stops acting on its own clock a margin before the lease ends
 * (`actUntil`), so it does not start a send it could not record.
 */
export class AlertClaims {
  private readonly db: Kysely<AlertTables>;
  private readonly queues = new Map<string, Claim>();
  private dispatcher: Claim | undefined;

  constructor(
    db: Db,
    private readonly deps: { engine: StoreEngine; nodeId: string; ttlMs: number; renewMs?: number; log: Logger },
  ) {
    this.db = alertDb(db);
  }

  get nodeId(): string {
    return this.deps.nodeId;
  }

  /** How often the lease loop renews: as asked (--lease-renew) if shorter than the TTL, else three times per TTL. */
  get renewEveryMs(): number {
    const asked = this.deps.renewMs;
    return Math.max(50, asked !== undefined && asked > 0 && asked < this.deps.ttlMs ? asked : Math.floor(this.deps.ttlMs / 3));
  }

  private get now() {
    return leaseNowMs(this.deps.engine);
  }

  private until() {
    return sql<number>`${this.now} + ${sql.lit(Math.round(this.deps.ttlMs))}`;
  }

  /** Local deadline for a lease renewed or claimed by a statement sent at `sentAt` (performance.now()). */
  private actUntil(sentAt: number): number {
    return sentAt + this.deps.ttlMs - Math.max(1, Math.floor(this.deps.ttlMs / 4));
  }

  private valid(c: Claim | undefined): c is Claim {
    return c !== undefined && performance.now() < c.actUntil;
  }

  /**
   * Before the first pass. On SQLite the store belongs to one process (the data dir's), so leases still held
   * in it were left by a previous process of this data dir that died: they are freed at once rather than
   * after a TTL, and a crash delays no alert. On a shared engine they run out on the lease clock.
   */
  async start(): Promise<void> {
    await this.db.insertInto("alert_leases").values({ name: DISPATCHER_LEASE, owner: null, epoch: 0, lease_until: 0 }).onConflict((oc) => oc.column("name").doNothing()).execute();
    if (this.deps.engine === "sqlite") {
      await this.db.updateTable("alert_queues").set({ owner: null, lease_until: 0 }).where("owner", "is not", null).execute();
      await this.db.updateTable("alert_leases").set({ owner: null, lease_until: 0 }).where("owner", "is not", null).execute();
    }
  }

  /** The dispatcher lease's epoch while this node may act on it: claimed now if free, expired or already ours. */
  async dispatcherEpoch(): Promise<number | undefined> {
    if (this.valid(this.dispatcher)) return this.dispatcher.epoch;
    this.dispatcher = undefined;
    const sentAt = performance.now();
    const row = await this.db
      .updateTable("alert_leases")
      .set((eb) => ({ owner: this.deps.nodeId, epoch: eb("epoch", "+", 1), lease_until: this.until() }))
      .where("name", "=", DISPATCHER_LEASE)
      .where((eb) => eb.or([eb("lease_until", "<=", this.now), eb("owner", "=", this.deps.nodeId)]))
      .returning("epoch")
      .executeTakeFirst();
    if (!row) return undefined;
    this.dispatcher = { epoch: Number(row.epoch), actUntil: this.actUntil(sentAt) };
    this.deps.log.info({ node: this.deps.nodeId, epoch: this.dispatcher.epoch }, "alert dispatcher lease taken");
    return this.dispatcher.epoch;
  }

  /** The dispatcher's commit was fenced out: stop dispatching until the lease is claimed again. */
  dropDispatcher(): void {
    this.dispatcher = undefined;
  }

  /**
   * Claims up to `room` receiver queues that have a pending row and whose lease is free or has run out:
   * first come, first served (no fair share). The candidates are locked with SKIP LOCKED, so nodes claiming
   * at once take disjoint queues without waiting on each other. Returns the queues claimed now.
   */
  async claimQueues(room: number): Promise<string[]> {
    if (room <= 0) return [];
    const candidates = skipLocked(
      this.deps.engine,
      this.db
        .selectFrom("alert_queues as q")
        .select("q.queue_key")
        .where("q.lease_until", "<=", this.now)
        .where((eb) => eb.exists(eb.selectFrom("alert_notifications as n").select("n.id").whereRef("n.queue_key", "=", "q.queue_key").where("n.status", "=", "Pending")))
        .orderBy("q.lease_until")
        .orderBy("q.queue_key")
        .limit(room),
    );
    const sentAt = performance.now();
    const rows = await withRetry(() =>
      this.db
        .updateTable("alert_queues")
        .set((eb) => ({ owner: this.deps.nodeId, epoch: eb("epoch", "+", 1), lease_until: this.until() }))
        .where("queue_key", "in", candidates)
        .returning(["queue_key", "epoch"])
        .execute(),
    );
    for (const r of rows) this.queues.set(r.queue_key, { epoch: Number(r.epoch), actUntil: this.actUntil(sentAt) });
    if (rows.length > 0) this.deps.log.debug({ node: this.deps.nodeId, queues: rows.length }, "alert queues claimed");
    return rows.map((r) => r.queue_key);
  }

  /** The claim on a queue while this node may still act on it; undefined when not held or about to run out. */
  queue(key: string): Claim | undefined {
    const c = this.queues.get(key);
    return this.valid(c) ? c : undefined;
  }

  heldQueues(): string[] {
    return [...this.queues.keys()];
  }

  /** A fenced write showed the queue is no longer ours (under this epoch). */
  lost(key: string, epoch: number): void {
    if (this.queues.get(key)?.epoch === epoch) this.queues.delete(key);
  }

  /**
   * The lease loop's work: renews every queue this node holds in ONE statement, and the dispatcher lease in
   * another. Leases not renewed (run out, or taken by another node) are dropped here; sends under them are
   * then refused by their fence. Never waits on a send.
   */
  async renew(): Promise<void> {
    const keys = [...this.queues.keys()];
    if (keys.length > 0) {
      const sentAt = performance.now();
      const rows = await withRetry(() =>
        this.db
          .updateTable("alert_queues")
          .set({ lease_until: this.until() })
          .where("owner", "=", this.deps.nodeId)
          .where("lease_until", ">", this.now)
          .where("queue_key", "in", keys)
          .returning(["queue_key", "epoch"])
          .execute(),
      );
      const renewed = new Map(rows.map((r) => [r.queue_key, Number(r.epoch)]));
      for (const key of keys) {
        const c = this.queues.get(key);
        if (!c) continue;
        if (renewed.get(key) === c.epoch) c.actUntil = this.actUntil(sentAt);
        else {
          this.queues.delete(key);
          this.deps.log.warn({ node: this.deps.nodeId, queue: key }, "alert queue lease lost");
        }
      }
    }
    const d = this.dispatcher;
    if (d) {
      const sentAt = performance.now();
      const r = await withRetry(() =>
        this.db
          .updateTable("alert_leases")
          .set({ lease_until: this.until() })
          .where("name", "=", DISPATCHER_LEASE)
          .where("owner", "=", this.deps.nodeId)
          .where("epoch", "=", d.epoch)
          .where("lease_until", ">", this.now)
          .executeTakeFirst(),
      );
      if (this.dispatcher === d) {
        if (Number(r.numUpdatedRows) === 1) d.actUntil = this.actUntil(sentAt);
        else {
          this.dispatcher = undefined;
          this.deps.log.warn({ node: this.deps.nodeId }, "alert dispatcher lease lost");
        }
      }
    }
  }

  /** Gives back queues this node holds and no longer needs (drained): another node may claim them at once. */
  async release(keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    for (const k of keys) this.queues.delete(k);
    await withRetry(() => this.db.updateTable("alert_queues").set({ owner: null, lease_until: 0 }).where("owner", "=", this.deps.nodeId).where("queue_key", "in", keys).execute());
  }

  /** On stop: every lease this node holds is freed, so the next node need not wait for a TTL. */
  async releaseAll(): Promise<void> {
    this.queues.clear();
    this.dispatcher = undefined;
    await this.db.updateTable("alert_queues").set({ owner: null, lease_until: 0 }).where("owner", "=", this.deps.nodeId).execute();
    await this.db.updateTable("alert_leases").set({ owner: null, lease_until: 0 }).where("owner", "=", this.deps.nodeId).execute();
  }

  /**
   * Inside a transaction: takes the queue's lease row and checks it is still ours under `epoch` and not run
   * out on the lease clock. Throws Fenced (rolling the transaction back) otherwise. First statement of the
   * transaction, so the row lock also orders it against a concurrent claim.
   */
  async fenceQueue(trx: Transaction<AlertTables>, key: string, epoch: number): Promise<void> {
    if (!(await leaseHolds(trx, this.deps.engine, { table: "alert_queues", keyColumn: "queue_key", key, owner: this.deps.nodeId, epoch }))) throw new Fenced(`queue ${key}`);
  }

  /** Inside the dispatcher's commit: the same check on the 'dispatcher' lease. */
  async fenceDispatcher(trx: Transaction<AlertTables>, epoch: number): Promise<void> {
    if (!(await leaseHolds(trx, this.deps.engine, { table: "alert_leases", keyColumn: "name", key: DISPATCHER_LEASE, owner: this.deps.nodeId, epoch }))) throw new Fenced("dispatcher");
  }
}

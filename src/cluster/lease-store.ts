import { type Kysely, type Transaction, sql } from "kysely";
import { type Db, type StoreEngine, leaseHolds, leaseNowMs, skipLocked } from "../storage/index.js";

/** The cluster's tables (migration 0012), typed here: only this component reads or writes them. */
export interface ClusterTables {
  cluster_nodes: { node_id: string; name: string; https_url: string; tds_port: number; pid: number; started_at: number; seen_at: number; stopped_at: number | null };
  probe_leases: { server_key: string; owner: string | null; epoch: number; lease_until: number };
  db_placement: { database_id: string; node_name: string; updated_at: number | null };
  health_databases: { database_id: string; state: string; version: number };
}

export interface NodeRow {
  nodeId: string;
  name: string;
  httpsUrl: string;
  tdsPort: number;
  pid: number;
  startedAt: number;
  seenAt: number;
  stoppedAt: number | null;
}

export interface LeaseRow {
  serverKey: string;
  owner: string | null;
  epoch: number;
  leaseUntil: number;
}

/** A claimed lease and who held it before (null: nobody), to count takeovers. */
export interface Claimed {
  serverKey: string;
  epoch: number;
  previousOwner: string | null;
}

const IN_BATCH = 500;
const batches = <T>(xs: T[]): T[][] => Array.from({ length: Math.ceil(xs.length / IN_BATCH) }, (_, i) => xs.slice(i * IN_BATCH, (i + 1) * IN_BATCH));

/**
 * The lease SQL (scale-out.md §3.1), one method per statement or short transaction, in the PG-wire subset that
 * SQLite also speaks. Every time is read from the lease clock inside the statement (leaseNowMs): the store's
 * clock on PostgreSQL, never a node's, never tdekv's injected Clock.
 */
export class LeaseStore {
  private readonly db: Kysely<ClusterTables>;
  private readonly now: ReturnType<typeof leaseNowMs>;

  constructor(
    db: Db,
    readonly engine: StoreEngine,
  ) {
    this.db = db as unknown as Kysely<ClusterTables>;
    this.now = leaseNowMs(engine);
  }

  /** The lease clock now (epoch ms). */
  async leaseNow(): Promise<number> {
    const { rows } = await sql<{ now: number }>`select ${this.now} as now`.execute(this.db);
    return Number(rows[0]!.now);
  }

  async join(n: { nodeId: string; name: string; httpsUrl: string; tdsPort: number; pid: number }): Promise<void> {
    await this.db
      .insertInto("cluster_nodes")
      .values({ node_id: n.nodeId, name: n.name, https_url: n.httpsUrl, tds_port: n.tdsPort, pid: n.pid, started_at: this.now, seen_at: this.now, stopped_at: null })
      .execute();
  }

  /**
   * Earlier incarnations that cannot be running any more are retired at join: their leases are freed now instead
   * of after the TTL. On SQLite that is every other node (one process per file, by design: scale-out.md §1.4
   * keeps SQLite single-node); on a shared engine, those with this node's name (names are unique members, so an
   * incarnation under the same name is this member's previous, crashed process). Returns how many were retired.
   */
  async retirePrevious(self: { nodeId: string; name: string }): Promise<number> {
    let q = this.db.selectFrom("cluster_nodes").select("node_id").where("stopped_at", "is", null).where("node_id", "!=", self.nodeId);
    if (this.engine !== "sqlite") q = q.where("name", "=", self.name);
    const ids = (await q.execute()).map((r) => r.node_id);
    if (!ids.length) return 0;
    await this.db.updateTable("cluster_nodes").set({ stopped_at: this.now }).where("node_id", "in", ids).execute();
    await this.db.updateTable("probe_leases").set({ owner: null }).where("owner", "in", ids).execute();
    return ids.length;
  }

  /** The membership heartbeat: this node was alive at the lease clock's now. */
  async heartbeat(nodeId: string): Promise<void> {
    await this.db.updateTable("cluster_nodes").set({ seen_at: this.now }).where("node_id", "=", nodeId).execute();
  }

  /** Nodes seen within the TTL and not stopped: the divisor of the fair share. */
  async liveCount(ttlMs: number): Promise<number> {
    const row = await this.db
      .selectFrom("cluster_nodes")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("stopped_at", "is", null)
      .where("seen_at", ">", sql<number>`${this.now} - ${ttlMs}`)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** One lease row per probe target: rows for new targets, none for targets that are gone. */
  async syncTargets(keys: string[]): Promise<void> {
    const want = new Set(keys);
    const have = new Set((await this.db.selectFrom("probe_leases").select("server_key").execute()).map((r) => r.server_key));
    const add = [...want].filter((k) => !have.has(k));
    const drop = [...have].filter((k) => !want.has(k));
    for (const b of batches(add)) {
      await this.db
        .insertInto("probe_leases")
        .values(b.map((k) => ({ server_key: k, owner: null, epoch: 0, lease_until: 0 })))
        .onConflict((oc) => oc.column("server_key").doNothing())
        .execute();
    }
    for (const b of batches(drop)) await this.db.deleteFrom("probe_leases").where("server_key", "in", b).execute();
  }

  /** Renews every live lease of this node in ONE statement (scale-out.md §3.1 step 2). */
  async renew(nodeId: string, ttlMs: number): Promise<number> {
    const r = await this.db
      .updateTable("probe_leases")
      .set({ lease_until: sql<number>`${this.now} + ${ttlMs}` })
      .where("owner", "=", nodeId)
      .where("lease_until", ">", this.now)
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  /** All lease rows, and how many this node holds now. */
  async counts(nodeId: string): Promise<{ total: number; mine: number }> {
    const row = await this.db
      .selectFrom("probe_leases")
      .select((eb) => [
        eb.fn.countAll<number>().as("total"),
        eb.fn.sum<number>(eb.case().when(eb.and([eb("owner", "=", nodeId), eb("lease_until", ">", this.now)])).then(1).else(0).end()).as("mine"),
      ])
      .executeTakeFirstOrThrow();
    return { total: Number(row.total), mine: Number(row.mine ?? 0) };
  }

  /**
   * Claims up to `room` free or lapsed leases (scale-out.md §3.1 step 3), in key order, skipping rows another
   * node is claiming right now (SKIP LOCKED). Every claim bumps `epoch`: the fencing token. One transaction:
   * the candidate rows stay locked from the select to the update, so the previous owner read is the one replaced.
   */
  async claim(nodeId: string, room: number, ttlMs: number): Promise<Claimed[]> {
    if (room <= 0) return [];
    return this.db.transaction().execute(async (trx) => {
      const free = (t: Transaction<ClusterTables>) =>
        t.selectFrom("probe_leases").select(["server_key", "owner"]).where((eb) => eb.or([eb("owner", "is", null), eb("lease_until", "<=", this.now)]));
      const candidates = await skipLocked(this.engine, free(trx).orderBy("server_key").limit(room)).execute();
      if (!candidates.length) return [];
      const before = new Map(candidates.map((c) => [c.server_key, c.owner]));
      const rows = await trx
        .updateTable("probe_leases")
        .set({ owner: nodeId, epoch: sql<number>`epoch + 1`, lease_until: sql<number>`${this.now} + ${ttlMs}` })
        .where("server_key", "in", [...before.keys()])
        .where((eb) => eb.or([eb("owner", "is", null), eb("lease_until", "<=", this.now)]))
        .returning(["server_key", "epoch"])
        .execute();
      return rows.map((r) => ({ serverKey: r.server_key, epoch: Number(r.epoch), previousOwner: before.get(r.server_key) ?? null }));
    });
  }

  /** Gives back `n` of this node's leases (owner null, epoch kept) so a less loaded node can claim them. */
  async shed(nodeId: string, n: number): Promise<number> {
    if (n <= 0) return 0;
    const keys = (await this.db.selectFrom("probe_leases").select("server_key").where("owner", "=", nodeId).orderBy("server_key", "desc").limit(n).execute()).map((r) => r.server_key);
    if (!keys.length) return 0;
    const r = await this.db.updateTable("probe_leases").set({ owner: null }).where("owner", "=", nodeId).where("server_key", "in", keys).executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  /** This node's live leases, with the lease clock's now read in the same statement. */
  async held(nodeId: string): Promise<{ now: number; leases: LeaseRow[] }> {
    const { rows } = await sql<{ server_key: string; epoch: number; lease_until: number; now: number }>`
      select server_key, epoch, lease_until, ${this.now} as now from probe_leases
      where owner = ${nodeId} and lease_until > ${this.now}`.execute(this.db);
    const now = rows.length ? Number(rows[0]!.now) : await this.leaseNow();
    return { now, leases: rows.map((r) => ({ serverKey: r.server_key, owner: nodeId, epoch: Number(r.epoch), leaseUntil: Number(r.lease_until) })) };
  }

  /**
   * The fence (scale-out.md §3.1), first statement of a probe's write transaction: a no-op update of this
   * node's lease at the epoch it probed under, if still live. 1 row: the lease holds, and the row stays locked
   * until the caller commits, so a takeover (which updates the same row) waits for this write. 0 rows: the lease
   * lapsed, was shed or taken over; the caller drops its result.
   */
  static fence(trx: Transaction<any>, engine: StoreEngine, nodeId: string, serverKey: string, epoch: number): Promise<boolean> {
    return leaseHolds(trx, engine, { table: "probe_leases", keyColumn: "server_key", key: serverKey, owner: nodeId, epoch });
  }

  /** A clean stop: the node is marked stopped and its leases freed, so others claim them at their next renew. */
  async leave(nodeId: string): Promise<void> {
    await this.db.updateTable("cluster_nodes").set({ stopped_at: this.now }).where("node_id", "=", nodeId).execute();
    await this.db.updateTable("probe_leases").set({ owner: null }).where("owner", "=", nodeId).execute();
  }

  /** Forgets incarnations not seen for `olderThanMs` (every start adds one). */
  async prune(olderThanMs: number): Promise<void> {
    await this.db.deleteFrom("cluster_nodes").where("seen_at", "<", sql<number>`${this.now} - ${olderThanMs}`).execute();
  }

  async nodes(): Promise<NodeRow[]> {
    const rows = await this.db.selectFrom("cluster_nodes").selectAll().orderBy("started_at").orderBy("node_id").execute();
    return rows.map((r) => ({
      nodeId: r.node_id,
      name: r.name,
      httpsUrl: r.https_url,
      tdsPort: Number(r.tds_port),
      pid: Number(r.pid),
      startedAt: Number(r.started_at),
      seenAt: Number(r.seen_at),
      stoppedAt: r.stopped_at === null ? null : Number(r.stopped_at),
    }));
  }

  async leases(): Promise<LeaseRow[]> {
    const rows = await this.db.selectFrom("probe_leases").selectAll().orderBy("server_key").execute();
    return rows.map((r) => ({ serverKey: r.server_key, owner: r.owner, epoch: Number(r.epoch), leaseUntil: Number(r.lease_until) }));
  }
}

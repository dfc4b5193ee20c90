import type { Kysely, Transaction } from "kysely";
import { type Db, withRetry } from "../../storage/index.js";
import { alertDb, type AlertTables, type AttemptOutcome, type NotificationRow, type NotificationStatus } from "./schema.js";

export interface OutboxQuery {
  /** Only these subscriptions (the caller's tenant); all when undefined. */
  subscriptionIds?: string[];
  status?: NotificationStatus;
  receiverKind?: string;
  eventDataId?: string;
  alertId?: string;
  /** Rule id or name (case-insensitive). */
  rule?: string;
  resourceId?: string;
  /** Newest first; default 100, at most 1000. */
  top?: number;
}

export interface AttemptRow {
  attempt: number;
  startedAt: number;
  durationMs: number;
  outcome: AttemptOutcome;
  detail: string;
}

/** bigint columns come back as strings from PostgreSQL's driver: times and seqs are numbers here. */
const normalize = (r: NotificationRow): NotificationRow => ({
  ...r,
  event_seq: Number(r.event_seq),
  attempts: Number(r.attempts),
  next_attempt_at: Number(r.next_attempt_at),
  created_at: Number(r.created_at),
  last_attempt_at: r.last_attempt_at === null ? null : Number(r.last_attempt_at),
  delivered_at: r.delivered_at === null ? null : Number(r.delivered_at),
  sending_by: r.sending_by ?? null,
  sending_at: r.sending_at === null || r.sending_at === undefined ? null : Number(r.sending_at),
  redelivered: Number(r.redelivered ?? 0),
});

/** A write's fence: runs first inside its transaction and throws (rolling it back) when the lease is gone. */
export type Fence = (trx: Transaction<AlertTables>) => Promise<void>;

/** What the in-flight mark found on the row before setting it. */
export interface InFlightMark {
  /** The row's attempts so far (fresh: another node may have recorded some). */
  attempts: number;
  /** A node that marked it in flight and never recorded the attempt (it died or lost the queue), or null. */
  previousSender: string | null;
  previousSendingAt: number | null;
}

/**
 * The delivery outbox and the dispatcher's cursor, in the control-plane database. Enqueueing and moving the
 * cursor share one transaction, and rows are unique on their dedupe key, so after a crash an event is
 * neither lost nor enqueued twice for a receiver.
 */
export class OutboxStore {
  private readonly db: Kysely<AlertTables>;
  /** Told the resource of each notification enqueued or attempted: the portal's inbox hint (issue 9 §4). */
  onChange: (resourceId: string) => void = () => {};

  constructor(db: Db) {
    this.db = alertDb(db);
  }

  async cursor(name: string): Promise<number> {
    const row = await this.db.selectFrom("alert_cursors").select("seq").where("name", "=", name).executeTakeFirst();
    return row ? Number(row.seq) : 0;
  }

  /**
   * Enqueues rows (ignoring ones already there) and moves the cursor, atomically. Returns how many were new.
   * With a fence (the dispatcher's lease), the whole transaction rolls back with Fenced when the lease is gone.
   */
  async commit(cursorName: string, seq: number, rows: NotificationRow[], now: number, fence?: Fence): Promise<number> {
    const added = await withRetry(() =>
      this.db.transaction().execute(async (trx) => {
        if (fence) await fence(trx);
        let n = 0;
        for (const row of rows) {
          const r = await trx.insertInto("alert_notifications").values(row).onConflict((oc) => oc.column("dedupe_key").doNothing()).executeTakeFirst();
          n += Number(r.numInsertedOrUpdatedRows ?? 0n);
        }
        await this.addQueues(trx, rows);
        await this.setCursor(trx, cursorName, seq, now);
        return n;
      }),
    );
    for (const r of rows) this.onChange(r.resource_id);
    return added;
  }

  /** Enqueues rows that belong to no Activity Log event (test notifications): no cursor moves. */
  async enqueue(rows: NotificationRow[]): Promise<void> {
    await withRetry(() =>
      this.db.transaction().execute(async (trx) => {
        for (const row of rows) await trx.insertInto("alert_notifications").values(row).execute();
        await this.addQueues(trx, rows);
      }),
    );
    for (const r of rows) this.onChange(r.resource_id);
  }

  /** Every queue has a lease row (free until a node claims it), added with its first notification. */
  private async addQueues(trx: Transaction<AlertTables>, rows: NotificationRow[]): Promise<void> {
    for (const queue_key of new Set(rows.map((r) => r.queue_key))) {
      await trx.insertInto("alert_queues").values({ queue_key, owner: null, epoch: 0, lease_until: 0 }).onConflict((oc) => oc.column("queue_key").doNothing()).execute();
    }
  }

  private async setCursor(trx: Transaction<AlertTables>, name: string, seq: number, now: number): Promise<void> {
    await trx
      .insertInto("alert_cursors")
      .values({ name, seq, updated_at: now })
      .onConflict((oc) => oc.column("name").doUpdateSet({ seq, updated_at: now }))
      .execute();
  }

  /** The receivers' queues that have something pending. */
  async pendingQueues(): Promise<string[]> {
    const rows = await this.db.selectFrom("alert_notifications").select("queue_key").distinct().where("status", "=", "Pending").execute();
    return rows.map((r) => r.queue_key);
  }

  /** The first pending rows of one receiver's queue, in event order. */
  async pending(queueKey: string, limit: number): Promise<NotificationRow[]> {
    const rows = await this.db
      .selectFrom("alert_notifications")
      .selectAll()
      .where("status", "=", "Pending")
      .where("queue_key", "=", queueKey)
      .orderBy("event_seq")
      .orderBy("created_at")
      .orderBy("id")
      .limit(limit)
      .execute();
    return rows.map(normalize);
  }

  /**
   * Marks a pending row in flight by `nodeId` before its send, in a short transaction behind the queue's
   * fence. Returns what the row held before (a mark nobody cleared means an earlier send may have reached
   * the receiver), or undefined when the row is no longer pending.
   */
  async markSending(id: string, nodeId: string, now: number, fence: Fence): Promise<InFlightMark | undefined> {
    return withRetry(() =>
      this.db.transaction().execute(async (trx) => {
        await fence(trx);
        const cur = await trx.selectFrom("alert_notifications").select(["status", "attempts", "sending_by", "sending_at"]).where("id", "=", id).executeTakeFirst();
        if (!cur || cur.status !== "Pending") return undefined;
        await trx.updateTable("alert_notifications").set({ sending_by: nodeId, sending_at: now }).where("id", "=", id).execute();
        return { attempts: Number(cur.attempts), previousSender: cur.sending_by ?? null, previousSendingAt: cur.sending_at === null || cur.sending_at === undefined ? null : Number(cur.sending_at) };
      }),
    );
  }

  /**
   * Records one attempt and the row's new state together, and clears the in-flight mark. With a fence (the
   * queue's lease), nothing is written when the lease is gone (Fenced is thrown).
   */
  async recordAttempt(
    row: NotificationRow,
    attempt: { startedAt: number; durationMs: number; outcome: AttemptOutcome; detail: string },
    next: { status: NotificationStatus; nextAttemptAt: number; detail: string | null; deliveredAt: number | null },
    opts: { fence?: Fence; nodeId?: string; redelivery?: boolean } = {},
  ): Promise<void> {
    await withRetry(() =>
      this.db.transaction().execute(async (trx) => {
        if (opts.fence) await opts.fence(trx);
        const n = row.attempts + 1;
        await trx
          .insertInto("alert_attempts")
          .values({
            notification_id: row.id,
            attempt: n,
            started_at: attempt.startedAt,
            duration_ms: Math.round(attempt.durationMs),
            outcome: attempt.outcome,
            detail: attempt.detail,
            ...(opts.nodeId ? { node_id: opts.nodeId } : {}),
          })
          .onConflict((oc) => oc.columns(["notification_id", "attempt"]).doNothing())
          .execute();
        await trx
          .updateTable("alert_notifications")
          .set((eb) => ({
            attempts: n,
            status: next.status,
            next_attempt_at: next.nextAttemptAt,
            detail: next.detail,
            last_attempt_at: attempt.startedAt,
            delivered_at: next.deliveredAt,
            sending_by: null,
            sending_at: null,
            ...(opts.redelivery ? { redelivered: eb("redelivered", "+", 1) } : {}),
          }))
          .where("id", "=", row.id)
          .execute();
      }),
    );
    this.onChange(row.resource_id);
  }

  /** How many notifications are in each status (one grouped query; rows are never deleted, so counts only grow except Pending). */
  async countByStatus(): Promise<Record<NotificationStatus, number>> {
    const rows = await this.db.selectFrom("alert_notifications").select((eb) => ["status", eb.fn.countAll<number | string>().as("n")]).groupBy("status").execute();
    const out: Record<NotificationStatus, number> = { Pending: 0, Delivered: 0, Failed: 0, StoredLocally: 0 };
    for (const r of rows) out[r.status] = Number(r.n);
    return out;
  }

  async query(q: OutboxQuery): Promise<NotificationRow[]> {
    if (q.subscriptionIds && q.subscriptionIds.length === 0) return [];
    let sel = this.db.selectFrom("alert_notifications").selectAll();
    if (q.subscriptionIds) sel = sel.where("subscription_id", "in", q.subscriptionIds.map((s) => s.toLowerCase()));
    if (q.status) sel = sel.where("status", "=", q.status);
    if (q.receiverKind) sel = sel.where("receiver_kind", "=", q.receiverKind);
    if (q.eventDataId) sel = sel.where("event_data_id", "=", q.eventDataId);
    if (q.alertId) sel = sel.where("alert_id", "=", q.alertId);
    const top = Math.min(Math.max(q.top ?? 100, 1), 1000);
    const rows = await sel.orderBy("created_at", "desc").orderBy("event_seq", "desc").orderBy("id").limit(q.rule || q.resourceId ? 10_000 : top).execute();
    // Ids keep their callers' casing: compare case-insensitively here rather than in SQL.
    const rule = q.rule?.toLowerCase();
    const resource = q.resourceId?.toLowerCase();
    return rows
      .map(normalize)
      .filter((r) => !rule || r.rule_id.toLowerCase() === rule || r.rule_id.toLowerCase().endsWith(`/activitylogalerts/${rule}`))
      .filter((r) => !resource || r.resource_id.toLowerCase() === resource)
      .slice(0, top);
  }

  async get(id: string): Promise<{ row: NotificationRow; attempts: AttemptRow[] } | undefined> {
    const row = await this.db.selectFrom("alert_notifications").selectAll().where("id", "=", id).executeTakeFirst();
    if (!row) return undefined;
    const attempts = await this.db.selectFrom("alert_attempts").selectAll().where("notification_id", "=", id).orderBy("attempt").execute();
    return {
      row: normalize(row),
      attempts: attempts.map((a) => ({ attempt: Number(a.attempt), startedAt: Number(a.started_at), durationMs: Number(a.duration_ms), outcome: a.outcome, detail: a.detail })),
    };
  }
}

import type { Kysely, Transaction } from "kysely";
import type { Db } from "../../storage/index.js";
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
});

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

  /** Enqueues rows (ignoring ones already there) and moves the cursor, atomically. Returns how many were new. */
  async commit(cursorName: string, seq: number, rows: NotificationRow[], now: number): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      let added = 0;
      for (const row of rows) {
        const r = await trx.insertInto("alert_notifications").values(row).onConflict((oc) => oc.column("dedupe_key").doNothing()).executeTakeFirst();
        added += Number(r.numInsertedOrUpdatedRows ?? 0n);
      }
      await this.setCursor(trx, cursorName, seq, now);
      return added;
    }).then((added) => {
      for (const r of rows) this.onChange(r.resource_id);
      return added;
    });
  }

  /** Enqueues rows that belong to no Activity Log event (test notifications): no cursor moves. */
  async enqueue(rows: NotificationRow[]): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      for (const row of rows) await trx.insertInto("alert_notifications").values(row).execute();
    });
    for (const r of rows) this.onChange(r.resource_id);
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

  /** Records one attempt and the row's new state together. */
  async recordAttempt(
    row: NotificationRow,
    attempt: { startedAt: number; durationMs: number; outcome: AttemptOutcome; detail: string },
    next: { status: NotificationStatus; nextAttemptAt: number; detail: string | null; deliveredAt: number | null },
  ): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const n = row.attempts + 1;
      await trx
        .insertInto("alert_attempts")
        .values({ notification_id: row.id, attempt: n, started_at: attempt.startedAt, duration_ms: Math.round(attempt.durationMs), outcome: attempt.outcome, detail: attempt.detail })
        .onConflict((oc) => oc.columns(["notification_id", "attempt"]).doNothing())
        .execute();
      await trx
        .updateTable("alert_notifications")
        .set({ attempts: n, status: next.status, next_attempt_at: next.nextAttemptAt, detail: next.detail, last_attempt_at: attempt.startedAt, delivered_at: next.deliveredAt })
        .where("id", "=", row.id)
        .execute();
    });
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

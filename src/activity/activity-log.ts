import type { Kysely, Transaction } from "kysely";
import type { Db } from "../storage/index.js";
import { type Clock, newGuid } from "../platform/index.js";
import { type EventData, type NewEvent, eventData, resourceParts } from "./event-shape.js";

interface ActivityTables {
  store_counters: { name: string; value: number };
  activity_events: {
    event_data_id: string;
    seq: number;
    subscription_id: string;
    resource_group_key: string | null;
    resource_id_key: string;
    resource_provider_key: string | null;
    correlation_id: string;
    category: string;
    status: string;
    caller: string | null;
    event_timestamp: number;
    submission_timestamp: number;
    body: string;
  };
}

export interface StoredEvent {
  seq: number;
  data: EventData;
  /** When the event becomes visible to readers (eventTimestamp + --activity-log-delay). */
  visibleAt: number;
}

export interface EventQuery {
  subscriptionId: string;
  from?: number;
  to?: number;
  resourceGroup?: string;
  resourceId?: string;
  correlationId?: string;
  resourceProvider?: string;
  status?: string;
  caller?: string;
  category?: string;
  /** Page continuation: only events older (lower seq) than this. */
  beforeSeq?: number;
  limit: number;
}

/**
 * The Activity Log: append-only, ordered by `seq`. Writers are tdekv's own components (the lifecycle, ARM);
 * readers are the Insights API (with Azure's $filter) and, from issue 6, the alert dispatcher, which follows
 * `seq` and is woken by `onAppend`. `delayMs` imitates Azure's 15-30 minute lag (seed "Getting TDE status").
 */
export class ActivityLog {
  private readonly db: Kysely<ActivityTables>;
  private readonly listeners = new Set<(e: StoredEvent) => void>();

  constructor(
    db: Db,
    private readonly clock: Clock,
    private readonly delayMs = 0,
  ) {
    this.db = db as unknown as Kysely<ActivityTables>;
  }

  onAppend(listener: (e: StoredEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async append(e: NewEvent): Promise<StoredEvent> {
    const stored = await this.db.transaction().execute((trx) => this.appendIn(trx, e));
    this.announce(stored);
    return stored;
  }

  /**
   * Appends inside the caller's transaction (a lifecycle transition and its events commit together, issue 11
   * §2). The caller calls `announce` after its commit: listeners must never hear of a rolled-back event.
   */
  async appendIn(trx: Transaction<any>, e: NewEvent): Promise<StoredEvent> {
    const now = this.clock.now();
    const data = eventData(e, { eventDataId: newGuid(), eventTimestamp: now, submissionTimestamp: now + this.delayMs });
    const parts = resourceParts(e.resourceId);
    const t = trx as unknown as Transaction<ActivityTables>;
    // The counter row stays locked until this transaction commits: seqs are granted in commit order, across
    // nodes too (migration 0011).
    const counter = await t.updateTable("store_counters").set((eb) => ({ value: eb("value", "+", 1) })).where("name", "=", "activity_events").returning("value").executeTakeFirstOrThrow();
    const seq = Number(counter.value);
    await t
      .insertInto("activity_events")
      .values({
        event_data_id: data.eventDataId,
        seq,
        subscription_id: e.subscriptionId.toLowerCase(),
        resource_group_key: parts.resourceGroup?.toLowerCase() ?? null,
        resource_id_key: e.resourceId.toLowerCase(),
        resource_provider_key: parts.namespace.toLowerCase() || null,
        correlation_id: data.correlationId,
        category: e.category,
        status: e.status,
        caller: data.caller,
        event_timestamp: now,
        submission_timestamp: now + this.delayMs,
        body: JSON.stringify(data),
      })
      .execute();
    return { seq, data, visibleAt: now + this.delayMs };
  }

  /** Tells the listeners (the alert dispatcher, the portal's hints) of an event that has committed. */
  announce(stored: StoredEvent): void {
    for (const l of this.listeners) {
      try {
        l(stored);
      } catch {
        /* a listener must never break the writer */
      }
    }
  }

  /** Events visible now, newest first, matching the query. */
  async query(q: EventQuery): Promise<StoredEvent[]> {
    let sel = this.db.selectFrom("activity_events").selectAll().where("subscription_id", "=", q.subscriptionId.toLowerCase()).where("submission_timestamp", "<=", this.clock.now());
    if (q.from !== undefined) sel = sel.where("event_timestamp", ">=", q.from);
    if (q.to !== undefined) sel = sel.where("event_timestamp", "<=", q.to);
    if (q.resourceGroup) sel = sel.where("resource_group_key", "=", q.resourceGroup.toLowerCase());
    if (q.resourceId) sel = sel.where("resource_id_key", "=", q.resourceId.toLowerCase());
    if (q.correlationId) sel = sel.where("correlation_id", "=", q.correlationId);
    if (q.resourceProvider) sel = sel.where("resource_provider_key", "=", q.resourceProvider.toLowerCase());
    if (q.status) sel = sel.where("status", "=", q.status);
    if (q.caller) sel = sel.where("caller", "=", q.caller);
    if (q.category) sel = sel.where("category", "=", q.category);
    if (q.beforeSeq !== undefined) sel = sel.where("seq", "<", q.beforeSeq);
    // Newest first, as Azure lists the Activity Log.
    const rows = await sel.orderBy("seq", "desc").limit(q.limit).execute();
    return rows.map((r) => ({ seq: Number(r.seq), data: JSON.parse(r.body) as EventData, visibleAt: Number(r.submission_timestamp) }));
  }

  /** Every event after `seq`, visible or not (for followers that schedule their own delivery). */
  async since(seq: number, limit = 500): Promise<StoredEvent[]> {
    const rows = await this.db.selectFrom("activity_events").selectAll().where("seq", ">", seq).orderBy("seq").limit(limit).execute();
    return rows.map((r) => ({ seq: Number(r.seq), data: JSON.parse(r.body) as EventData, visibleAt: Number(r.submission_timestamp) }));
  }
}

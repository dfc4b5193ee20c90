import { type Kysely, type Migration, sql } from "kysely";

/**
 * 0013: the alert outbox on several nodes (issue 11 §2, scale-out.md §3.1, §3.3). Portable types only, no
 * triggers, sequences, advisory locks or LISTEN/NOTIFY (scale-out.md §1.4):
 * - `alert_leases`: singleton leases; the row 'dispatcher' says which node follows the Activity Log.
 * - `alert_queues`: one lease row per receiver queue (`queue_key`). Only its owner sends down the queue;
 *   `epoch` is bumped on every claim and fences every write of a send. `lease_until` is on the lease clock
 *   (the database's, `leaseNowMs`); a free row has owner null and lease_until 0.
 * - `alert_notifications.sending_by/sending_at`: a row marked in flight before its send and cleared when the
 *   attempt is recorded, so a node taking over the queue knows the row may have reached the receiver;
 *   `redelivered` counts such sends (possible duplicates). `alert_attempts.node_id` names the sender.
 * The claim ("free or expired queues with a pending row") reads `alert_queues` by `lease_until` and checks
 * each candidate with 0006's `(status, queue_key, event_seq)` index; no partial index is needed.
 */
export const outboxClaims: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable("alert_leases")
      .addColumn("name", "text", (c) => c.primaryKey())
      .addColumn("owner", "text")
      .addColumn("epoch", "bigint", (c) => c.notNull().defaultTo(0))
      .addColumn("lease_until", "bigint", (c) => c.notNull().defaultTo(0))
      .execute();
    await db.insertInto("alert_leases").values({ name: "dispatcher", owner: null, epoch: 0, lease_until: 0 }).execute();
    await db.schema
      .createTable("alert_queues")
      .addColumn("queue_key", "text", (c) => c.primaryKey())
      .addColumn("owner", "text")
      .addColumn("epoch", "bigint", (c) => c.notNull().defaultTo(0))
      .addColumn("lease_until", "bigint", (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema.createIndex("alert_queues_lease").on("alert_queues").columns(["lease_until", "queue_key"]).execute();
    // Queues of rows enqueued before this migration; from now on the outbox adds the row with the notification.
    await sql`insert into alert_queues (queue_key, owner, epoch, lease_until) select distinct queue_key, null, 0, 0 from alert_notifications`.execute(db);
    await db.schema.alterTable("alert_notifications").addColumn("sending_by", "text").execute();
    await db.schema.alterTable("alert_notifications").addColumn("sending_at", "bigint").execute();
    await db.schema.alterTable("alert_notifications").addColumn("redelivered", "integer", (c) => c.notNull().defaultTo(0)).execute();
    await db.schema.alterTable("alert_attempts").addColumn("node_id", "text").execute();
  },
};

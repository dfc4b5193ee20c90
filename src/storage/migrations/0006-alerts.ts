import type { Kysely, Migration } from "kysely";

/**
 * 0006: alert delivery state (issue 6). Action groups and alert rules are ARM resources (the `resources`
 * table); what lives here is the dispatcher's cursor into the Activity Log and the delivery outbox: one row
 * per (event, rule, action group, receiver), unique on that key so an event is enqueued once per receiver
 * whatever crashes in between, plus one row per delivery attempt. Portable types only (text, integer,
 * bigint), so the same migration runs on PostgreSQL (scale-out.md). Idempotent (`ifNotExists`): data dirs
 * made while 0006 was an empty placeholder recorded it as done, and a later migration can simply run
 * `alerts.up` again for them.
 */
export const alerts: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable("alert_cursors")
      .ifNotExists()
      .addColumn("name", "text", (c) => c.primaryKey())
      .addColumn("seq", "bigint", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema
      .createTable("alert_notifications")
      .ifNotExists()
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("dedupe_key", "text", (c) => c.notNull().unique())
      .addColumn("subscription_id", "text", (c) => c.notNull())
      .addColumn("event_seq", "bigint", (c) => c.notNull())
      .addColumn("event_data_id", "text", (c) => c.notNull())
      .addColumn("event_name", "text", (c) => c.notNull())
      .addColumn("event_status", "text", (c) => c.notNull())
      .addColumn("resource_id", "text", (c) => c.notNull())
      .addColumn("alert_id", "text", (c) => c.notNull())
      .addColumn("rule_id", "text", (c) => c.notNull())
      .addColumn("action_group_id", "text", (c) => c.notNull())
      .addColumn("receiver_kind", "text", (c) => c.notNull())
      .addColumn("receiver_name", "text", (c) => c.notNull())
      .addColumn("queue_key", "text", (c) => c.notNull())
      .addColumn("channel", "text", (c) => c.notNull())
      .addColumn("target", "text", (c) => c.notNull())
      .addColumn("schema_id", "text", (c) => c.notNull())
      .addColumn("payload", "text", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("detail", "text")
      .addColumn("attempts", "integer", (c) => c.notNull())
      .addColumn("next_attempt_at", "bigint", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("last_attempt_at", "bigint")
      .addColumn("delivered_at", "bigint")
      .execute();
    await db.schema.createIndex("alert_notifications_queue").ifNotExists().on("alert_notifications").columns(["status", "queue_key", "event_seq"]).execute();
    await db.schema.createIndex("alert_notifications_sub").ifNotExists().on("alert_notifications").columns(["subscription_id", "created_at"]).execute();
    await db.schema
      .createTable("alert_attempts")
      .ifNotExists()
      .addColumn("notification_id", "text", (c) => c.notNull())
      .addColumn("attempt", "integer", (c) => c.notNull())
      .addColumn("started_at", "bigint", (c) => c.notNull())
      .addColumn("duration_ms", "integer", (c) => c.notNull())
      .addColumn("outcome", "text", (c) => c.notNull())
      .addColumn("detail", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("alert_attempts_pk", ["notification_id", "attempt"])
      .execute();
  },
};

import type { Kysely, Migration } from "kysely";

/** 0005: the Activity Log, append-only. `seq` orders events for readers that follow the log (alerts). */
export const activity: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable("activity_events")
      .addColumn("event_data_id", "text", (c) => c.primaryKey())
      .addColumn("seq", "bigint", (c) => c.notNull().unique())
      .addColumn("subscription_id", "text", (c) => c.notNull())
      .addColumn("resource_group_key", "text")
      .addColumn("resource_id_key", "text", (c) => c.notNull())
      .addColumn("resource_provider_key", "text")
      .addColumn("correlation_id", "text", (c) => c.notNull())
      .addColumn("category", "text", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("caller", "text")
      .addColumn("event_timestamp", "bigint", (c) => c.notNull())
      .addColumn("submission_timestamp", "bigint", (c) => c.notNull())
      .addColumn("body", "text", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("activity_events_sub_time").on("activity_events").columns(["subscription_id", "event_timestamp"]).execute();
  },
};

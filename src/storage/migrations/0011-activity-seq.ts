import { type Kysely, type Migration, sql } from "kysely";

/**
 * 0011: one counter row hands out the Activity Log's `seq` (issue 11 §2). A cached max(seq) per process
 * collides as soon as two nodes append; a counter row taken with `UPDATE … RETURNING` inside the appending
 * transaction is locked until that transaction commits, so seqs are also granted in commit order, and a
 * reader that follows `seq > cursor` (the alert dispatcher) can never see seq n+1 before n has committed.
 * Portable: a plain row and `UPDATE … RETURNING`, no sequences (scale-out.md §1.4 rule 5).
 */
export const activitySeq: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable("store_counters")
      .addColumn("name", "text", (c) => c.primaryKey())
      .addColumn("value", "bigint", (c) => c.notNull())
      .execute();
    await sql`insert into store_counters (name, value) select 'activity_events', coalesce(max(seq), 0) from activity_events`.execute(db);
  },
};

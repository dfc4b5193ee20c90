import type { Kysely, Migration } from "kysely";

/** 0006: action groups' delivery state (outbox, cursor) — filled in by the alerts component. */
export const alerts: Migration = {
  async up(_db: Kysely<any>) {
    // Filled in by src/activity/alerts.
  },
};

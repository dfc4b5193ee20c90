import type { Kysely, Migration } from "kysely";

/**
 * 0012: several tdekv nodes on one store (issue 11 slice 2, scale-out.md §3.1, §3.2, §3.4). Portable types only
 * (text, integer, bigint); every time here is epoch ms on the lease clock (storage/cluster-sql.ts leaseNowMs),
 * never tdekv's injected Clock.
 * - cluster_nodes: one row per incarnation (node_id is new at each start; name is the stable member name).
 * - probe_leases: who probes each (server, protector) target; `epoch` is the fencing token, bumped on every claim.
 * - health_targets / health_databases gain `version` for compare-and-set transitions; a target also records
 *   which node probed it last and under which lease epoch.
 * - db_placement: which node holds each database file (local-disk mode, §3.4).
 */
export const cluster: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable("cluster_nodes")
      .addColumn("node_id", "text", (c) => c.primaryKey())
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("https_url", "text", (c) => c.notNull())
      .addColumn("tds_port", "integer", (c) => c.notNull())
      .addColumn("pid", "integer", (c) => c.notNull())
      .addColumn("started_at", "bigint", (c) => c.notNull())
      .addColumn("seen_at", "bigint", (c) => c.notNull())
      .addColumn("stopped_at", "bigint")
      .execute();
    await db.schema
      .createTable("probe_leases")
      .addColumn("server_key", "text", (c) => c.primaryKey())
      .addColumn("owner", "text")
      .addColumn("epoch", "bigint", (c) => c.notNull().defaultTo(0))
      .addColumn("lease_until", "bigint", (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema.createIndex("probe_leases_owner").on("probe_leases").column("owner").execute();
    // One column per statement: SQLite's ALTER TABLE adds one at a time.
    await db.schema.alterTable("health_targets").addColumn("version", "bigint", (c) => c.notNull().defaultTo(0)).execute();
    await db.schema.alterTable("health_targets").addColumn("probed_by", "text").execute();
    await db.schema.alterTable("health_targets").addColumn("lease_epoch", "bigint").execute();
    await db.schema.alterTable("health_databases").addColumn("version", "bigint", (c) => c.notNull().defaultTo(0)).execute();
    await db.schema
      .createTable("db_placement")
      .addColumn("database_id", "text", (c) => c.primaryKey())
      .addColumn("node_name", "text", (c) => c.notNull())
      .addColumn("updated_at", "bigint")
      .execute();
    await db.schema.createIndex("db_placement_node").on("db_placement").column("node_name").execute();
  },
};

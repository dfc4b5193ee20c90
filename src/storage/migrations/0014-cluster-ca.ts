import type { Kysely, Migration } from "kysely";

/**
 * 0014: each node publishes its CA certificate (PEM, public) on its membership row, so a node that forwards a
 * request (TDS Proxy, `tdekv sql query`) to the owner of a database verifies the owner's certificate, issued by
 * the owner's own CA in its data dir (issue 11 §3, designs/2026-11-28-cluster.md "Routing").
 */
export const clusterCa: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable("cluster_nodes").addColumn("ca_pem", "text").execute();
  },
};

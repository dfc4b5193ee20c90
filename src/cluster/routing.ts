import type { Kysely } from "kysely";
import { type Db, type StoreEngine, leaseNowMs } from "../storage/index.js";
import { nodeAlive } from "./fair-share.js";
import type { ClusterTables } from "./lease-store.js";

/** The live node that holds a database file: where a request for it is forwarded. */
export interface OwnerNode {
  name: string;
  /** The owner's front door, `https://host:port` (ARM, `tdekv sql query`). */
  httpsUrl: string;
  /** Host to dial for its TDS endpoint (the https_url's host) and the port. */
  host: string;
  tdsPort: number;
  /** The owner's CA certificate (PEM, public): its TLS certificates verify against it, and only it. */
  caPem: string;
}

/**
 * Where a request for a database file goes (local-disk mode, scale-out.md §3.4):
 * - `here`: this node holds it (or nobody recorded a placement): serve it locally;
 * - `remote`: a live node holds it: forward (TDS Proxy, HTTP forward);
 * - `down`: the node that holds it is not alive (not seen within the lease TTL, or stopped): 40613.
 */
export type DatabaseRoute = { kind: "here" } | { kind: "remote"; node: OwnerNode } | { kind: "down"; owner: string };

type RoutingTables = ClusterTables & { cluster_nodes: ClusterTables["cluster_nodes"] & { ca_pem: string | null } };

/**
 * Request routing across nodes (issue 11 §3): placement (`db_placement`) names the owner, membership
 * (`cluster_nodes`, its newest incarnation under that name) says whether it is alive and how to reach it.
 * Liveness is decided on the lease clock, inside the statement, as the cluster view does.
 */
export class Routing {
  private readonly db: Kysely<RoutingTables>;

  constructor(private readonly deps: { db: Db; engine: StoreEngine; ttlMs: number; nodeName: () => string; ready: () => Promise<void> }) {
    this.db = deps.db as unknown as Kysely<RoutingTables>;
  }

  /** Publishes this incarnation's CA certificate (public) so the others can verify it. */
  async publish(nodeId: string, caPem: string): Promise<void> {
    await this.db.updateTable("cluster_nodes").set({ ca_pem: caPem }).where("node_id", "=", nodeId).execute();
  }

  async route(databaseFileId: string): Promise<DatabaseRoute> {
    await this.deps.ready();
    const placed = await this.db.selectFrom("db_placement").select("node_name").where("database_id", "=", databaseFileId).executeTakeFirst();
    const owner = placed?.node_name;
    if (owner === undefined || owner === this.deps.nodeName()) return { kind: "here" };
    const row = await this.db
      .selectFrom("cluster_nodes")
      .select(["name", "https_url", "tds_port", "ca_pem", "seen_at", "stopped_at", leaseNowMs(this.deps.engine).as("now")])
      .where("name", "=", owner)
      .orderBy("started_at", "desc")
      .limit(1)
      .executeTakeFirst();
    if (!row) return { kind: "down", owner };
    const alive = nodeAlive({ stoppedAt: row.stopped_at, seenAt: Number(row.seen_at) }, Number(row.now), this.deps.ttlMs);
    if (!alive || !row.ca_pem) return { kind: "down", owner };
    const url = new URL(row.https_url);
    return { kind: "remote", node: { name: row.name, httpsUrl: row.https_url, host: url.hostname.replace(/^\[|\]$/g, ""), tdsPort: Number(row.tds_port), caPem: row.ca_pem } };
  }
}

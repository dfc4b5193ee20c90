import type { Command } from "commander";
import type { ClusterView } from "../cluster/index.js";
import { resolveDataDir } from "../platform/index.js";
import { adminToken, call, readEndpoints } from "./instance.js";
import { renderTable } from "./render.js";

/**
 * `tdekv nodes`: the members on this node's store, their probe leases and the database files they hold
 * (issue 11 §4), from `GET /_tdekv/cluster` on the node of the data dir. A table, or the route's JSON.
 */
async function nodes(o: { dataDir?: string; json?: boolean }) {
  const ep = readEndpoints(resolveDataDir(o.dataDir));
  const res = await call(ep, "GET", "/_tdekv/cluster", { token: await adminToken(ep) });
  if (res.status >= 300) {
    const e = (res.body as { error?: { code?: string; message?: string } })?.error;
    throw new Error(e ? `(${e.code}) ${e.message}` : `HTTP ${res.status}`);
  }
  const view = res.body as ClusterView;
  if (o.json) {
    process.stdout.write(JSON.stringify(view, null, 2) + "\n");
    return;
  }
  const ago = (t: number) => `${Math.max(0, Math.round((view.leaseNowMs - t) / 1000))}s ago`;
  process.stdout.write(
    renderTable(
      ["node", "name", "alive", "leases", "databases", "https", "tds", "pid", "started", "seen"],
      view.nodes.map((n) => ({
        node: n.nodeId === view.self ? `${n.nodeId} (this)` : n.nodeId,
        name: n.name,
        alive: n.alive ? "yes" : "no",
        leases: n.leases,
        databases: n.databases.length,
        https: n.httpsUrl,
        tds: n.tdsPort,
        pid: n.pid,
        started: new Date(n.startedAt).toISOString(),
        seen: ago(n.seenAt),
      })),
    ),
  );
  const owned = view.leases.filter((l) => l.owner && l.leaseUntil > view.leaseNowMs).length;
  process.stdout.write(`${view.leases.length} probe target${view.leases.length === 1 ? "" : "s"}, ${owned} leased (ttl ${view.leaseTtlMs / 1000} s)\n`);
}

export function registerNodes(program: Command, dataDirOption: string): void {
  program
    .command("nodes")
    .description("list the tdekv nodes on this store: members, their probe leases and the databases they hold")
    .option("--data-dir <dir>", dataDirOption)
    .option("--json", "print the JSON of GET /_tdekv/cluster")
    .action(nodes);
}

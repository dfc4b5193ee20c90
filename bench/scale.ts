/**
 * bench/scale — issue 11 "Speed": N servers × M databases on 3 tdekv nodes and one PostgreSQL (fsync on), the
 * production lease defaults (probe interval 10 s, lease TTL 15 s, renew 5 s; scale-out.md §4.4). Reports, in
 * one run:
 * - the seeding through ARM (servers on every node in turn; each server's databases created through the node
 *   that then holds them, so placement spreads the files over the 3 nodes);
 * - steady-state store transactions per second (pg_stat_database xact_commit + xact_rollback deltas over a
 *   window; the study estimated 150–300), the CPU of the store and of the nodes over the same window;
 * - the probe-gap p50/p99/max per target over the window (health_targets lastProbeAt);
 * - the time for every database to reopen after a full restart of all nodes (SIGINT all, start all at once;
 *   `tdekv start` is ready once its databases are reopened), next to this machine's raw RSA-2048 unwrap limit
 *   (node:crypto privateDecrypt, RSA-OAEP-256 as TDE wraps, one thread = one core) measured in the same run.
 *
 * Run: node --import tsx bench/scale.ts [servers=1000] [dbsPerServer=10] [windowSeconds=120]
 */
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import { Cluster, ProbeWatch, seedFleet, sleep, type ClusterNode } from "../test/cluster-kit.js";

const SERVERS = Number(process.argv[2] ?? 1000);
const DBS = Number(process.argv[3] ?? 10);
const WINDOW_S = Number(process.argv[4] ?? 120);
const INTERVAL_S = 10;
const TTL_S = 15;
const RENEW_S = 5;
const CONCURRENCY = 8;

const fmt = (n: number, d = 0) => n.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))]! : 0;
};

/** CPU seconds (user + system) of processes, from /proc. */
function cpuSeconds(pids: number[]): number {
  const hz = 100; // USER_HZ on Linux
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(f[11]) + Number(f[12]); // utime, stime (fields 14 and 15)
    } catch {
      /* gone */
    }
  }
  return ticks / hz;
}

/** The postmaster and its children (the store's whole CPU), found from one backend's parent. */
async function pgPids(c: Cluster): Promise<number[]> {
  const pid = (await c.pgQuery<{ pid: number }>("SELECT pg_backend_pid() AS pid"))[0]!.pid;
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const postmaster = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  const out = [postmaster];
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = fs.readFileSync(`/proc/${d}/stat`, "utf8");
      if (Number(s.slice(s.lastIndexOf(")") + 2).split(" ")[1]) === postmaster) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** Per table: index + sequential scans and rows written, cumulative (pg_stat_user_tables). */
async function tableStats(c: Cluster): Promise<Map<string, { scans: number; writes: number }>> {
  const rows = await c.pgQuery<{ relname: string; scans: string; writes: string }>(
    "SELECT relname, coalesce(seq_scan, 0) + coalesce(idx_scan, 0) AS scans, n_tup_ins + n_tup_upd + n_tup_del AS writes FROM pg_stat_user_tables",
  );
  return new Map(rows.map((r) => [r.relname, { scans: Number(r.scans), writes: Number(r.writes) }]));
}

async function xacts(c: Cluster): Promise<number> {
  const [r] = await c.pgQuery<{ n: string }>("SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = current_database()");
  return Number(r!.n);
}

/** node:crypto privateDecrypt (OAEP, SHA-256) on a 2048-bit key in a tight loop on this thread: one core's unwrap rate. */
function rawUnwrapPerCore(seconds = 3): { opsPerSec: number; p50: number; p99: number } {
  const { privateKey, publicKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
  const ct = crypto.publicEncrypt({ key: publicKey, oaepHash: "sha256" }, crypto.randomBytes(32));
  const warm = performance.now();
  while (performance.now() - warm < 300) crypto.privateDecrypt({ key: privateKey, oaepHash: "sha256" }, ct);
  const lat: number[] = [];
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    const s = performance.now();
    crypto.privateDecrypt({ key: privateKey, oaepHash: "sha256" }, ct);
    lat.push(performance.now() - s);
  }
  return { opsPerSec: lat.length / ((performance.now() - t0) / 1000), p50: pct(lat, 50), p99: pct(lat, 99) };
}

const log = (s: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${s}`);

const tAll = performance.now();
const c = await Cluster.start({ nodes: 3, probeIntervalSeconds: INTERVAL_S, leaseTtlSeconds: TTL_S, leaseRenewSeconds: RENEW_S });
try {
  if (!c.clustered) throw new Error("this build has no cluster flags (--node-name, --lease-ttl-seconds): nothing to measure");
  log(`3 nodes on PostgreSQL (fsync on); interval ${INTERVAL_S} s, TTL ${TTL_S} s, renew ${RENEW_S} s`);
  const raw0 = rawUnwrapPerCore();
  const nodeOf = (i: number): ClusterNode => c.nodes[i % c.nodes.length]!;
  let lastLog = performance.now();
  const fleet = await seedFleet(c, SERVERS, {
    concurrency: CONCURRENCY,
    spread: true,
    databasesPerServer: DBS,
    dbVia: nodeOf,
    onProgress: (n) => {
      if (performance.now() - lastLog > 15_000) {
        lastLog = performance.now();
        log(`  ${n} servers`);
      }
    },
  });
  const total = SERVERS * DBS;
  const placed = await c.pgQuery<{ node_name: string; n: string }>("SELECT node_name, count(*) AS n FROM db_placement GROUP BY node_name ORDER BY node_name");
  log(
    `seeded ${fmt(SERVERS)} servers in ${fmt(fleet.timings.serversMs / 1000, 1)} s (${fmt(SERVERS / (fleet.timings.serversMs / 1000), 1)}/s) and ${fmt(total)} databases in ${fmt(fleet.timings.databasesMs / 1000, 1)} s (${fmt(total / Math.max(0.001, fleet.timings.databasesMs / 1000), 1)}/s), concurrency ${CONCURRENCY}; placement ${placed.map((p) => `${p.node_name} ${p.n}`).join(", ")}`,
  );

  // Steady state: let every node settle its leases and probe a full interval, then measure a window.
  await sleep((TTL_S + INTERVAL_S) * 1000);
  const watch = new ProbeWatch(c, 1000);
  watch.start();
  await sleep(INTERVAL_S * 1000);
  const pgp = await pgPids(c);
  const nodePids = c.nodes.map((n) => n.inst.child.pid!);
  const tables0 = await tableStats(c);
  const x0 = await xacts(c);
  const cpuPg0 = cpuSeconds(pgp);
  const cpuNodes0 = cpuSeconds(nodePids);
  const w0 = Date.now();
  await sleep(WINDOW_S * 1000);
  const x1 = await xacts(c);
  const w1 = Date.now();
  const tables1 = await tableStats(c);
  const cpuPg = cpuSeconds(pgp) - cpuPg0;
  const cpuNodes = cpuSeconds(nodePids) - cpuNodes0;
  await watch.stop();
  const windowS = (w1 - w0) / 1000;
  const keys = fleet.servers.map((s) => s.toLowerCase());
  const g = watch.gaps(keys, w0, w1);
  // Only gaps between two probes (the first and last gap of a target are cut by the window's edges).
  const inner: number[] = [];
  for (const k of keys) {
    const h = (watch.history.get(k) ?? []).filter((t) => t >= w0 - INTERVAL_S * 2000 && t <= w1);
    for (let i = 1; i < h.length; i++) inner.push(h[i]! - h[i - 1]!);
  }
  const view = await c.cluster(c.node(1));
  const held: Record<string, number> = {};
  for (const l of view.leases) if (l.owner && l.leaseUntil > view.leaseNowMs) held[l.ownerName ?? "?"] = (held[l.ownerName ?? "?"] ?? 0) + 1;
  let probesInWindow = 0;
  for (const k of keys) probesInWindow += (watch.history.get(k) ?? []).filter((t) => t >= w0 && t <= w1).length;
  const probesPerS = probesInWindow / windowS;
  log(`steady state over ${fmt(windowS, 0)} s: ${fmt((x1 - x0) / windowS, 0)} store transactions/s (study: 150–300) with ${fmt(probesPerS, 1)} probes/s = ${fmt((x1 - x0) / windowS / Math.max(probesPerS, 0.001), 1)} transactions per probe; PostgreSQL CPU ${fmt((cpuPg / windowS) * 100, 1)}% of one core, the 3 nodes ${fmt((cpuNodes / windowS) * 100, 1)}%; leases ${JSON.stringify(held)}`);
  // pg_stat_* counters reach the views with a delay (stats are flushed at most once a second per backend): rough per-table shares.
  const perTable = [...tables1]
    .map(([name, t]) => ({ name, scans: (t.scans - (tables0.get(name)?.scans ?? 0)) / windowS, writes: (t.writes - (tables0.get(name)?.writes ?? 0)) / windowS }))
    .filter((t) => t.scans + t.writes >= 0.5)
    .sort((a, b) => b.scans + b.writes - (a.scans + a.writes));
  log(`  per table, scans/s + rows written/s: ${perTable.slice(0, 10).map((t) => `${t.name} ${fmt(t.scans)}+${fmt(t.writes)}`).join(", ")}`);
  log(`probe gaps (interval ${INTERVAL_S} s, ${fmt(inner.length)} gaps between probes): p50 ${fmt(pct(inner, 50))} ms, p99 ${fmt(pct(inner, 99))} ms, max ${fmt(inner.length ? Math.max(...inner) : 0)} ms; targets not probed in the window: ${g.never.length}`);

  // Full restart: every node stopped, then all started at once; ready = databases reopened.
  const emptyStartS = Math.max(...c.nodes.map((n) => n.startMs)) / 1000; // the first start, before any database
  const t0 = performance.now();
  await Promise.all(c.nodes.map((n) => n.inst.stop()));
  for (const n of c.nodes) n.status = "down";
  const stopS = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const restarted = await Promise.all(
    c.nodes.map(async (n) => {
      await c.restart(n);
      const opened = Number(/databases\s+(\d+) open/.exec(n.inst.stdout())?.[1] ?? NaN);
      const failed = Number(/, (\d+) closed/.exec(n.inst.stdout())?.[1] ?? 0);
      return { name: n.name, readyS: (performance.now() - t1) / 1000, opened, failed };
    }),
  );
  const reopenS = Math.max(...restarted.map((r) => r.readyS));
  const opened = restarted.reduce((s, r) => s + r.opened, 0);
  const raw1 = rawUnwrapPerCore();
  const rawPerCore = (raw0.opsPerSec + raw1.opsPerSec) / 2;
  const cores = os.cpus().length;
  const floorS = total / (rawPerCore * cores);
  log(`full restart: stop ${fmt(stopS, 1)} s; all ${fmt(opened)} of ${fmt(total)} databases reopened in ${fmt(reopenS, 1)} s (${restarted.map((r) => `${r.name} ${r.opened} in ${fmt(r.readyS, 1)} s${r.failed ? `, ${r.failed} failed` : ""}`).join("; ")}) = ${fmt(opened / reopenS, 0)} databases/s; a node's first start without databases took ${fmt(emptyStartS, 1)} s`);
  log(`raw RSA-2048 unwrap (privateDecrypt OAEP-SHA256, one thread): ${fmt(raw0.opsPerSec)} and ${fmt(raw1.opsPerSec)} ops/s per core (p50 ${fmt(raw0.p50, 2)} ms); ${cores} cores → ${fmt(rawPerCore * cores)}/s, so ${fmt(total)} unwraps take at least ${fmt(floorS, 2)} s; reopen ÷ unwrap floor = ${fmt(reopenS / floorS, 1)}×`);

  console.log("");
  console.log(`scale: ${fmt(SERVERS)} servers × ${DBS} databases = ${fmt(total)} databases, 3 nodes, one PostgreSQL (fsync on), ${cores} cores; total run ${fmt((performance.now() - tAll) / 1000, 0)} s`);
  console.log(`| measure | value | next to |`);
  console.log(`|---|---|---|`);
  console.log(`| steady-state store transactions/s | ${fmt((x1 - x0) / windowS, 0)} | study estimate 150–300 |`);
  console.log(`| probe gap p99 (interval ${INTERVAL_S} s) | ${fmt(pct(inner, 99))} ms | detection bound interval + 1 s = ${fmt(INTERVAL_S * 1000 + 1000)} ms |`);
  console.log(`| all databases reopened after a full restart | ${fmt(reopenS, 1)} s (${fmt(opened / reopenS, 0)}/s) | raw unwrap floor ${fmt(floorS, 2)} s (${fmt(rawPerCore, 0)}/s per core × ${cores}) |`);
} finally {
  await c.close();
}

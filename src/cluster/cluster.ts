import type { Transaction } from "kysely";
import type { ProbeLease, ProbeOwnership } from "../health/index.js";
import { type Logger, newGuid } from "../platform/index.js";
import { type Db, type StoreEngine, withRetry } from "../storage/index.js";
import { actUntil, nodeAlive, rebalance } from "./fair-share.js";
import { LeaseStore } from "./lease-store.js";
import { type LocalFiles, Placement } from "./placement.js";

export interface ClusterDeps {
  db: Db;
  engine: StoreEngine;
  log: Logger;
  /** A lease lasts this long without renewal. */
  ttlMs: number;
  /** The lease loop's period: heartbeat, renew, claim, shed. */
  renewMs: number;
  /** The probe targets' keys now (servers with a customer-managed protector). */
  targetKeys(): Promise<string[]>;
  /** A monotonic clock in ms (performance.now); never tdekv's injected Clock. */
  monotonic?: () => number;
  /**
   * Called after a step that took leases over from another node: their targets went unprobed since that node
   * stopped, so the probe loop should run now rather than at its next interval (issue 11: "every target is
   * probed again within 2 lease periods").
   */
  onTakeover?: () => void;
}

/** Incarnations not seen for a day are forgotten (each start adds one). */
const PRUNE_AFTER_MS = 24 * 3_600_000;

/** What `GET /_tdekv/cluster` and `tdekv nodes` show (issue 11 §4); the shape is a contract with the tests. */
export interface ClusterView {
  self: string;
  nodes: { nodeId: string; name: string; httpsUrl: string; tdsPort: number; pid: number; startedAt: number; seenAt: number; alive: boolean; leases: number; databases: string[] }[];
  leases: { serverKey: string; owner: string | null; ownerName: string | null; epoch: number; leaseUntil: number }[];
  leaseTtlMs: number;
  leaseNowMs: number;
}

export type Cluster = ReturnType<typeof createCluster>;

/**
 * This node as a member of the cluster (issue 11 slice 2, scale-out.md §3.1). Its own loop, independent of
 * the probe loop and the alert loops (the lab's one-loop worker starved renewal behind slow work: §3.1, §4.2):
 * every `renewMs` it heartbeats, renews its leases in one statement, syncs lease rows with the probe targets,
 * claims up to its fair share and sheds a surplus. A lone node on SQLite claims every target: the seed's
 * behaviour. The probe loop asks `ownership.held()` for what it may probe and fences its writes.
 */
export function createCluster(deps: ClusterDeps) {
  const store = new LeaseStore(deps.db, deps.engine);
  const mono = deps.monotonic ?? (() => performance.now());
  const nodeId = newGuid();
  let name = "";
  let held = new Map<string, ProbeLease>();
  /** Every lease row's key as of the last tick: a target not in it is new, and worth a tick before a pass. */
  let known = new Set<string>();
  let takeovers = 0;
  let fencedWrites = 0;
  let joined: Promise<void> | undefined;
  let markJoined!: () => void;
  /** Resolves once this node has its name and its row: placement waits for it (requests may come earlier). */
  const ready = new Promise<void>((r) => (markJoined = r));
  let ticking: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  async function tickOnce(): Promise<void> {
    // Heartbeat and renewal first, two cheap statements: nothing else in the step may delay them.
    await store.heartbeat(nodeId);
    await store.renew(nodeId, deps.ttlMs);
    const keys = await deps.targetKeys();
    await withRetry(() => store.syncTargets(keys));
    const live = await store.liveCount(deps.ttlMs);
    const { total, mine } = await store.counts(nodeId);
    const plan = rebalance(mine, total, live);
    let tookOver = false;
    if (plan.claim > 0) {
      const claimed = await withRetry(() => store.claim(nodeId, plan.claim, deps.ttlMs));
      const taken = claimed.filter((c) => c.previousOwner !== null && c.previousOwner !== nodeId);
      takeovers += taken.length;
      tookOver = taken.length > 0;
      if (taken.length) deps.log.info({ node: name, takenOver: taken.length, from: [...new Set(taken.map((c) => c.previousOwner))] }, "probe leases taken over from another node");
    }
    if (plan.shed > 0) {
      const n = await store.shed(nodeId, plan.shed);
      if (n) deps.log.info({ node: name, shed: n, live, total }, "probe leases shed to rebalance");
    }
    const monoNow = mono();
    const { now, leases } = await store.held(nodeId);
    held = new Map(leases.map((l) => [l.serverKey, { serverKey: l.serverKey, epoch: l.epoch, actUntil: actUntil(monoNow, l.leaseUntil, now, deps.ttlMs) }]));
    known = new Set(keys);
    if (tookOver) deps.onTakeover?.();
  }

  /** One lease-loop step; concurrent callers share the step in flight. */
  function tick(): Promise<void> {
    ticking ??= tickOnce().finally(() => (ticking = undefined));
    return ticking;
  }

  const placement = new Placement({
    db: deps.db,
    engine: deps.engine,
    log: deps.log,
    nodeName: () => name,
    liveNames: async () => {
      const now = await store.leaseNow();
      return new Set((await store.nodes()).filter((n) => isAlive(n, now)).map((n) => n.name));
    },
  });

  const isAlive = (n: { stoppedAt: number | null; seenAt: number }, now: number) => nodeAlive(n, now, deps.ttlMs);

  const ownership: ProbeOwnership = {
    nodeName: () => name,
    monotonicNow: mono,
    async held(serverKeys) {
      await ready;
      // A target this node has not seen as a lease row yet (just created): one lease step first, so a lone
      // node probes it in this very pass as before. A step already in flight may predate it: then one more.
      if (!stopped && serverKeys.some((k) => !known.has(k))) {
        await tick().catch((err: Error) => deps.log.warn({ err: err.message }, "lease step failed"));
        if (serverKeys.some((k) => !known.has(k))) await tick().catch((err: Error) => deps.log.warn({ err: err.message }, "lease step failed"));
      }
      const out = new Map<string, ProbeLease>();
      for (const k of serverKeys) {
        const l = held.get(k);
        if (l) out.set(k, l);
      }
      return out;
    },
    lease(serverKey) {
      const l = held.get(serverKey);
      return l && !stopped ? l : undefined;
    },
    fence: (trx: Transaction<any>, lease) => LeaseStore.fence(trx, deps.engine, nodeId, lease.serverKey, lease.epoch),
    dropped(lease, why) {
      fencedWrites++;
      deps.log.info({ node: name, server: lease.serverKey, epoch: lease.epoch, why }, "probe result dropped: the lease is no longer held");
    },
  };

  return {
    nodeId,
    name: () => name,
    ownership,
    placement,
    ready: () => ready,
    takeovers: () => takeovers,
    fencedWrites: () => fencedWrites,
    leasesHeld: () => {
      const now = mono();
      return [...held.values()].filter((l) => l.actUntil > now).length;
    },
    /** Joins (once the node's name and listeners are known), then starts the lease loop. */
    start(self: { name: string; httpsUrl: string; tdsPort: number }): Promise<void> {
      name = self.name;
      joined = (async () => {
        await store.prune(PRUNE_AFTER_MS);
        await store.join({ nodeId, name, httpsUrl: self.httpsUrl, tdsPort: self.tdsPort, pid: process.pid });
        const retired = await store.retirePrevious({ nodeId, name });
        if (retired) deps.log.info({ node: name, retired }, "earlier incarnations of this node retired: their leases are free now");
        markJoined();
        await tick();
      })();
      timer = setInterval(() => {
        tick().catch((err: Error) => deps.log.warn({ err: err.message }, "lease step failed"));
      }, deps.renewMs);
      timer.unref();
      return joined;
    },
    /** The placement poller over this node's files (local-disk mode). */
    startPlacement(files: LocalFiles): void {
      placement.start(files);
    },
    async view(): Promise<ClusterView> {
      const now = await store.leaseNow();
      const [nodes, leases, placed] = await Promise.all([store.nodes(), store.leases(), placement.byNode()]);
      const names = new Map(nodes.map((n) => [n.nodeId, n.name]));
      // A name's databases belong to its newest incarnation (a restart with a stable name keeps them).
      const newest = new Map<string, string>();
      for (const n of nodes) newest.set(n.name, n.nodeId);
      return {
        self: nodeId,
        nodes: nodes.map((n) => ({
          nodeId: n.nodeId,
          name: n.name,
          httpsUrl: n.httpsUrl,
          tdsPort: n.tdsPort,
          pid: n.pid,
          startedAt: n.startedAt,
          seenAt: n.seenAt,
          alive: isAlive(n, now),
          leases: leases.filter((l) => l.owner === n.nodeId && l.leaseUntil > now).length,
          databases: newest.get(n.name) === n.nodeId ? (placed.get(n.name) ?? []) : [],
        })),
        leases: leases.map((l) => ({ serverKey: l.serverKey, owner: l.owner, ownerName: l.owner ? (names.get(l.owner) ?? null) : null, epoch: l.epoch, leaseUntil: l.leaseUntil })),
        leaseTtlMs: deps.ttlMs,
        leaseNowMs: now,
      };
    },
    /** Stops the loops, marks this node stopped and frees its leases so others take them over at once. */
    async stop(): Promise<void> {
      stopped = true;
      if (timer) clearInterval(timer);
      await placement.stop();
      await joined?.catch(() => {});
      await ticking?.catch(() => {});
      held = new Map();
      if (joined) await store.leave(nodeId).catch((err: Error) => deps.log.warn({ err: err.message }, "could not leave the cluster cleanly"));
    },
  };
}

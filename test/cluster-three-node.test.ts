import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { AlertTraffic, Cluster, MOVE_OPERATION, ProbeWatch, WebhookSink, columnsOf, metricValue, sampleTargets, seedFleet, sleep, until, type ClusterNode, type Fleet, type ProbeSample } from "./cluster-kit.js";

/**
 * Issue 11, "the three-node test, on loopback" (scale-out.md §4.2): one PostgreSQL with fsync on, three real
 * tdekv nodes on it, 1,000 probe targets seeded through ARM, alert traffic into a webhook sink. Then kill -9
 * one node during the traffic, SIGSTOP another past its lease, and restart the killed one. Assertions are on
 * correctness with generous deadlines; speeds and gaps are printed, never asserted as speed.
 *
 * TDEKV_CLUSTER_TARGETS=<n> runs a smaller fleet (local iterations).
 */
const TARGETS = Number(process.env.TDEKV_CLUSTER_TARGETS ?? 1000);
const INTERVAL_S = 2;
const TTL_S = 3;
const RENEW_S = 1;
/** The issue: "every target is probed again within 2 lease periods". The design bound is interval + TTL + renew (6 s in the lab). */
const GAP_BOUND_MS = (INTERVAL_S + 2 * TTL_S + RENEW_S) * 1000 + 4000;
const DESIGN_GAP_MS = (INTERVAL_S + TTL_S + RENEW_S) * 1000;

let c: Cluster;
let fleet: Fleet;
let keys: string[];
const sink = new WebhookSink();
let traffic: AlertTraffic;
let watch: ProbeWatch;
let ruleCreatedAt = 0;

const log = (...args: unknown[]) => console.log("[three-node]", ...args);
const fairShare = (live: number) => Math.ceil(TARGETS / live);

/** Live leases per node name (from one node's view of the store). */
async function spread(from?: ClusterNode): Promise<{ byName: Record<string, number>; total: number; view: Awaited<ReturnType<Cluster["cluster"]>> }> {
  const view = await c.cluster(from);
  const byName: Record<string, number> = {};
  let total = 0;
  for (const l of view.leases) {
    if (!l.owner || Number(l.leaseUntil) <= Number(view.leaseNowMs)) continue;
    const who = l.ownerName ?? "?";
    byName[who] = (byName[who] ?? 0) + 1;
    total++;
  }
  return { byName, total, view };
}

/** Waits until the live nodes hold every target, each some, none above fair share + 2 (§3.1 step 4). */
async function settled(names: string[], timeoutMs = 60_000) {
  let lastSeen = "";
  return until(
    `leases to settle over ${names.join(", ")}`,
    async () => {
      const s = await spread();
      lastSeen = `${s.total} live leases ${JSON.stringify(s.byName)}; members ${JSON.stringify(s.view.nodes.filter((n) => n.alive).map((n) => n.name))}`;
      const ok = s.total === TARGETS && names.every((n) => (s.byName[n] ?? 0) > 0 && (s.byName[n] ?? 0) <= fairShare(names.length) + 2) && Object.keys(s.byName).every((n) => names.includes(n));
      return ok ? s : undefined;
    },
    timeoutMs,
    250,
  ).catch((err: Error) => {
    throw new Error(`${err.message}: ${lastSeen}`);
  });
}

/** Waits until every target's lastProbeAt is after `since` (wall ms = tdekv ms here). */
async function allProbedSince(since: number, timeoutMs = 30_000): Promise<ProbeSample> {
  let missing = TARGETS;
  try {
    return await until(
      `every target probed after ${new Date(since).toISOString()}`,
      async () => {
        const s = await sampleTargets(c);
        missing = keys.filter((k) => !((s.rows.get(k)?.lastProbeAt ?? 0) > since)).length;
        return missing === 0 ? s : undefined;
      },
      timeoutMs,
      250,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}: ${missing} of ${TARGETS} targets not probed`);
  }
}

/** The move events the rule can fire for (written after it was created). */
async function moveEvents(): Promise<Set<string>> {
  const rows = await c.pgQuery<{ event_data_id: string }>(`SELECT event_data_id FROM activity_events WHERE category = 'Administrative' AND event_timestamp >= $1 AND body LIKE $2`, [ruleCreatedAt, `%${MOVE_OPERATION}%`]);
  return new Set(rows.map((r) => r.event_data_id));
}

/**
 * No notification lost: every move event has its outbox row, every row ends Delivered, and the sink got
 * exactly the events of the rows (distinct ids). Duplicates at the sink are bounded by the rows' re-sends.
 */
async function assertNothingLost(phase: string): Promise<void> {
  const cols = await columnsOf(c, "alert_notifications");
  const hasRedelivered = cols.has("redelivered");
  let last = "";
  const done = await until(
    `${phase}: every alert event enqueued and delivered`,
    async () => {
      const events = await moveEvents();
      const rows = await c.pgQuery<{ event_data_id: string; status: string; attempts: number; redelivered?: number }>(
        `SELECT event_data_id, status, attempts${hasRedelivered ? ", redelivered" : ""} FROM alert_notifications WHERE receiver_kind = 'webhook' AND target LIKE $1`,
        [`%127.0.0.1:${sink.port}%`],
      );
      const pending = rows.filter((r) => r.status !== "Delivered").length;
      const outboxIds = new Set(rows.map((r) => r.event_data_id));
      const sinkCounts = sink.counts();
      last = `events ${events.size}, outbox rows ${rows.length} (${outboxIds.size} distinct, ${pending} not delivered), sink ${sinkCounts.posts} posts / ${sinkCounts.distinct} distinct`;
      if (events.size === 0 || pending > 0 || outboxIds.size < events.size || sinkCounts.distinct < outboxIds.size) return undefined;
      return { events, rows, outboxIds, sinkCounts };
    },
    120_000,
    500,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last seen: ${last}`);
  });
  const { events, rows, outboxIds, sinkCounts } = done;
  const missingRows = [...events].filter((id) => !outboxIds.has(id));
  assert.deepEqual(missingRows, [], `${phase}: events without an outbox row`);
  assert.equal(rows.length, outboxIds.size, `${phase}: one outbox row per event for the one webhook receiver`);
  assert.ok(rows.every((r) => r.status === "Delivered"), `${phase}: every outbox row Delivered`);
  const strangers = [...sinkCounts.ids].filter((id) => !outboxIds.has(id));
  assert.deepEqual(strangers, [], `${phase}: the sink received only events of outbox rows`);
  assert.equal(sinkCounts.distinct, outboxIds.size, `${phase}: distinct event ids at the sink == events with outbox rows`);
  const redelivered = rows.reduce((s, r) => s + Number(r.redelivered ?? 0), 0);
  const resent = rows.reduce((s, r) => s + Math.max(0, Number(r.attempts) - 1), 0);
  log(`${phase}: ${events.size} alert events, ${rows.length} outbox rows all Delivered, sink ${sinkCounts.posts} posts = ${sinkCounts.distinct} distinct + ${sinkCounts.duplicates} duplicates; rows' redelivered sum ${hasRedelivered ? redelivered : "(no column)"}, re-attempts ${resent}`);
  if (hasRedelivered) assert.ok(sinkCounts.duplicates <= redelivered, `${phase}: ${sinkCounts.duplicates} duplicates at the sink, but the rows count only ${redelivered} re-sends`);
  else assert.ok(sinkCounts.duplicates <= resent, `${phase}: ${sinkCounts.duplicates} duplicates at the sink, but only ${resent} re-attempts`);
}

async function metricsLine(node: ClusterNode): Promise<string> {
  try {
    const text = await c.metrics(node);
    const v = (n: string) => metricValue(text, n) ?? "-";
    const probes = metricValue(text, "tdekv_probe_duration_seconds_count") ?? 0;
    const avgMs = probes ? ((metricValue(text, "tdekv_probe_duration_seconds_sum") ?? 0) / probes) * 1000 : 0;
    return `${node.name}: takeovers ${v("tdekv_lease_takeovers_total")}, leases held ${v("tdekv_probe_leases_held")}, fenced writes ${v("tdekv_fenced_writes_total")}, alert redeliveries ${v("tdekv_alert_redeliveries_total")}; ${probes} probes, mean ${avgMs.toFixed(1)} ms`;
  } catch (err) {
    return `${node.name}: metrics unavailable (${(err as Error).message})`;
  }
}

before(async () => {
  const t0 = performance.now();
  c = await Cluster.start({ nodes: 3, probeIntervalSeconds: INTERVAL_S, leaseTtlSeconds: TTL_S, leaseRenewSeconds: RENEW_S });
  log(`PostgreSQL (fsync on) and 3 nodes up in ${((performance.now() - t0) / 1000).toFixed(1)} s (ready: ${c.nodes.map((n) => `${n.name} ${n.startMs.toFixed(0)} ms`).join(", ")})`);
  assert.ok(c.clustered, "this build of tdekv start has no --node-name / --lease-ttl-seconds: the cluster slice of issue 11 is missing");
  const t1 = performance.now();
  // Every live node takes its turn: each server PUT hashes its admin password (scrypt) on the node's event loop.
  fleet = await seedFleet(c, TARGETS, { concurrency: 8, spread: true });
  const seedS = (performance.now() - t1) / 1000;
  log(`seeded ${TARGETS} servers (one vault, one key, one user-assigned identity) through the ARM API of the 3 nodes in turn in ${seedS.toFixed(1)} s: ${(TARGETS / (fleet.timings.serversMs / 1000)).toFixed(0)} servers/s at concurrency 8`);
  keys = fleet.servers.map((id) => id.toLowerCase());
  await sink.start();
  traffic = new AlertTraffic(c, sink);
  await traffic.setup();
  ruleCreatedAt = Date.now() - 1000;
  watch = new ProbeWatch(c, 250);
  watch.start();
});

after(async () => {
  await traffic?.stop().catch(() => undefined);
  await watch?.stop().catch(() => undefined);
  await c?.close();
  await sink.stop();
});

test("three nodes share the 1,000 targets by lease, and every target is probed", { timeout: 120_000 }, async () => {
  const t0 = performance.now();
  const s = await settled(["n1", "n2", "n3"]);
  log(`leases settled in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${JSON.stringify(s.byName)} (fair share ${fairShare(3)})`);
  assert.equal(s.total, TARGETS);
  assert.deepEqual(new Set(s.view.leases.map((l) => l.serverKey.toLowerCase())), new Set(keys), "one lease per seeded (server, protector) target");
  const alive = s.view.nodes.filter((n) => n.alive).map((n) => n.name).sort();
  assert.deepEqual(alive, ["n1", "n2", "n3"]);
  const since = Date.now();
  const probed = await allProbedSince(since);
  const by: Record<string, number> = {};
  for (const k of keys) {
    const who = probed.rows.get(k)?.probedBy ?? "?";
    by[who] = (by[who] ?? 0) + 1;
  }
  log(`every target probed within ${((Date.now() - since) / 1000).toFixed(1)} s after settling; last writer per target: ${JSON.stringify(by)}`);
  for (const n of c.nodes) log(await metricsLine(n));
});

test("kill -9 one node during alert traffic: every target probed again within 2 lease periods, no notification lost, duplicates counted", { timeout: 240_000 }, async () => {
  try {
    await killOne(c.node(2));
  } finally {
    sink.delayMs = 0;
    await traffic.stop();
  }
});

async function killOne(victim: ClusterNode): Promise<void> {
  const before = await spread();
  // A receiver that takes a little while, so a send is likely in flight when its node dies (the lab held it 2 s).
  sink.delayMs = 40;
  traffic.start(8);
  await sleep(5000);
  const killAt = Date.now();
  await c.kill9(victim);
  log(`kill -9 ${victim.name} (held ${before.byName[victim.name] ?? 0} leases) at +5 s of traffic`);
  const tTake = performance.now();
  const taken = await settled(["n1", "n3"], 60_000);
  log(`survivors hold every target ${((performance.now() - tTake) / 1000).toFixed(1)} s after the kill: ${JSON.stringify(taken.byName)}`);
  // Every target probed after the kill; then enough time for the gap of each to close.
  await allProbedSince(killAt + 1, 60_000);
  await sleep(Math.max(0, killAt + 3 * DESIGN_GAP_MS - Date.now()));
  await traffic.stop();
  const end = Date.now();
  // The last sample closes every gap: wait for one taken after `end`.
  const samples = watch.samples;
  await until("a probe sample after the traffic", () => watch.samples > samples + 1, 10_000, 50);
  const g = watch.gaps(keys, killAt, end);
  const over = g.all.filter((x) => x > DESIGN_GAP_MS).length;
  log(`probe gaps across the kill (${keys.length} targets, ${((end - killAt) / 1000).toFixed(0)} s window): max ${g.max} ms (${g.maxKey?.split("/").pop()}), p99 ${g.p99} ms; ${over} gaps above interval+TTL+renew = ${DESIGN_GAP_MS} ms; bound asserted ${GAP_BOUND_MS} ms`);
  assert.deepEqual(g.never, [], "targets never probed after the kill");
  assert.ok(g.max <= GAP_BOUND_MS, `max probe gap ${g.max} ms > ${GAP_BOUND_MS} ms (interval + 2×TTL + renew + 4 s)`);
  const overlaps = watch.overlaps((INTERVAL_S * 1000) / 2, killAt, end);
  log(`two nodes probing one target less than interval/2 apart: ${overlaps.length}${overlaps.length ? ` (e.g. ${JSON.stringify(overlaps[0])})` : ""}`);
  log(`traffic: ${traffic.moves} moves (2 events each), ${traffic.failedMoves} failed (sent to the dying node)`);
  await assertNothingLost("kill -9");
  for (const n of c.live()) log(await metricsLine(n));
}

test("SIGSTOP one node past its lease, SIGCONT: no stale write", { timeout: 180_000 }, async () => {
  const frozen = c.node(3);
  try {
    await frozenNode(frozen);
  } finally {
    // Whatever failed, the node runs again and the traffic stops, so the next test starts from a live cluster.
    if (frozen.status === "stopped") c.cont(frozen);
    watch.onSample = undefined;
    await traffic.stop();
  }
});

async function frozenNode(frozen: ClusterNode): Promise<void> {
  const other = c.node(1);
  const l0 = await spread(other);
  const owned0 = new Map(l0.view.leases.filter((l) => l.ownerName === frozen.name && Number(l.leaseUntil) > Number(l0.view.leaseNowMs)).map((l) => [l.serverKey.toLowerCase(), Number(l.epoch)]));
  traffic.start(4);
  await sleep(1000);
  c.stop(frozen);
  const stopAt = Date.now();
  await sleep(300);
  const s0 = await sampleTargets(c);
  log(`SIGSTOP ${frozen.name} holding ${owned0.size} leases`);
  // Its leases lapse and the survivor claims them with a higher epoch.
  let lastSeen = "";
  const l1 = await until(
    `${other.name} to take over ${frozen.name}'s leases`,
    async () => {
      const v = await c.cluster(other);
      const mine = v.leases.filter((l) => owned0.has(l.serverKey.toLowerCase()));
      const moved = mine.filter((l) => l.ownerName !== frozen.name && l.owner && Number(l.leaseUntil) > Number(v.leaseNowMs) && Number(l.epoch) > owned0.get(l.serverKey.toLowerCase())!);
      const owners: Record<string, number> = {};
      for (const l of mine) owners[`${l.ownerName ?? "none"}${Number(l.leaseUntil) > Number(v.leaseNowMs) ? "" : " (lapsed)"}`] = (owners[`${l.ownerName ?? "none"}${Number(l.leaseUntil) > Number(v.leaseNowMs) ? "" : " (lapsed)"}`] ?? 0) + 1;
      lastSeen = `${moved.length} of ${owned0.size} taken over; owners now ${JSON.stringify(owners)}; members ${JSON.stringify(v.nodes.filter((n) => n.alive).map((n) => n.name))}`;
      return moved.length === owned0.size ? v : undefined;
    },
    60_000,
    250,
  ).catch(async (err: Error) => {
    // A frozen node can hold row locks: sessions left idle in a transaction say which statement it stopped after.
    const open = await c
      .pgQuery<{ pid: number; state: string; query: string }>(`SELECT pid, state, left(query, 120) AS query FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'`)
      .catch(() => []);
    throw new Error(`${err.message}: ${lastSeen}; sessions idle in a transaction: ${JSON.stringify(open)}`);
  });
  const takenAt = Date.now();
  const epoch1 = new Map(l1.leases.map((l) => [l.serverKey.toLowerCase(), Number(l.epoch)]));
  log(`${other.name} took over all ${owned0.size} in ${((takenAt - stopAt) / 1000).toFixed(1)} s (TTL ${TTL_S} s)`);
  // Stay stopped a little past the takeover, so the frozen node's probes in flight are stale for sure.
  await sleep(Math.max(0, stopAt + (TTL_S + 3) * 1000 - Date.now()));
  // From now on, every sample: a row the frozen node wrote after the pause must carry an epoch it claimed after the takeover.
  const stale: string[] = [];
  let writesAfter = 0;
  const seen = new Set<string>();
  watch.onSample = (s) => {
    for (const [key, row] of s.rows) {
      if (row.probedBy !== frozen.name || row.raw === s0.rows.get(key)?.raw) continue;
      const e1 = epoch1.get(key);
      if (!seen.has(`${key}|${row.raw}`)) {
        seen.add(`${key}|${row.raw}`);
        writesAfter++;
      }
      if (e1 !== undefined && (row.epoch === null || row.epoch < e1)) stale.push(`${key.split("/").pop()} epoch ${row.epoch} < ${e1}`);
    }
  };
  c.cont(frozen);
  const contAt = Date.now();
  log(`SIGCONT ${frozen.name} after ${((contAt - stopAt) / 1000).toFixed(1)} s`);
  await sleep((INTERVAL_S + 3 * RENEW_S + 3) * 1000);
  const samples = watch.samples;
  await until("a probe sample after the resume window", () => watch.samples > samples + 1, 10_000, 50);
  watch.onSample = undefined;
  await traffic.stop();
  if (c.exited(frozen)) {
    frozen.status = "killed";
    assert.fail(`${frozen.name} exited after it resumed (${frozen.inst.child.exitCode ?? frozen.inst.child.signalCode}); its stderr ends with:\n${frozen.stderrTail()}`);
  }
  log(`after resume: ${writesAfter} health_targets writes by ${frozen.name} (all under epochs it claimed after the takeover), ${stale.length} stale`);
  log(await metricsLine(frozen));
  assert.deepEqual([...new Set(stale)].slice(0, 20), [], `${frozen.name} wrote results under a fenced-off lease after it resumed`);
  const g = watch.gaps(keys, stopAt, Date.now());
  const overlaps = watch.overlaps((INTERVAL_S * 1000) / 2, stopAt);
  log(`probe gaps across the pause: max ${g.max} ms, p99 ${g.p99} ms; two nodes probing one target less than interval/2 apart: ${overlaps.length}`);
  assert.deepEqual(g.never, [], "targets never probed across the pause");
  // Exactly one activity row per (resource, correlation, event).
  const dupEvents = await c.pgQuery<{ resource_id_key: string; correlation_id: string; name: string; status: string; n: string }>(
    `SELECT resource_id_key, correlation_id, (body::json -> 'eventName' ->> 'value') AS name, status, count(*) AS n FROM activity_events GROUP BY 1, 2, 3, 4 HAVING count(*) > 1`,
  );
  const transitions = await c.pgQuery<{ n: string }>(`SELECT count(*) AS n FROM activity_events WHERE body NOT LIKE $1`, [`%${MOVE_OPERATION}%`]);
  log(`activity log: ${transitions[0]!.n} events besides the alert traffic's moves (lifecycle transitions, health); duplicates per (resource, correlation, event, status): ${dupEvents.length}`);
  assert.deepEqual(dupEvents, [], "one activity row per (resource, correlation, event)");
  await assertNothingLost("SIGSTOP");
}

test("restart the killed node: leases rebalance and it gets targets back", { timeout: 120_000 }, async () => {
  const node = c.node(2);
  // A node that died in an earlier test (not on purpose) is started again too: this test is about node 2.
  for (const other of c.nodes) if (other !== node && (other.status !== "up" || c.exited(other))) await c.restart(other);
  const t0 = performance.now();
  await c.restart(node);
  const restartedAt = Date.now();
  const s = await settled(["n1", "n2", "n3"], 60_000);
  log(`${node.name} restarted (ready in ${node.startMs.toFixed(0)} ms); leases rebalanced ${((performance.now() - t0) / 1000).toFixed(1)} s after the restart: ${JSON.stringify(s.byName)}`);
  assert.ok((s.byName[node.name] ?? 0) > 0);
  await allProbedSince(restartedAt, 60_000);
  const probed = await until(`${node.name} to probe targets`, async () => {
    const sample = await sampleTargets(c);
    const n = keys.filter((k) => sample.rows.get(k)?.probedBy === node.name && (sample.rows.get(k)?.lastProbeAt ?? 0) > restartedAt).length;
    return n > 0 ? n : undefined;
  });
  log(`${node.name} probed ${probed} targets since its restart`);
  for (const n of c.live()) log(await metricsLine(n));
});

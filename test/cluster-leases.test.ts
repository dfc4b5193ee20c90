import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { BIN, run } from "./harness.js";
import { Cluster, FLEET_VAULT, type ClusterView, metricValue, seedFleet, until } from "./cluster-kit.js";

/**
 * Issue 11 slice 2: two real tdekv processes on one PostgreSQL with one shared master key file. They serve
 * one cloud, split the probe targets by lease, and stay correct through kill -9 (the survivor takes over) and
 * SIGSTOP past the lease (the frozen node's late probe results are fenced). Short leases (ttl 3 s, renew 1 s,
 * the lab's, scale-out.md §4.2) keep it quick; every wait is a generous deadline, never a speed assertion.
 */
const TARGETS = 6;

describe("two tdekv nodes on one PostgreSQL store", () => {
  let c: Cluster;
  before(async () => {
    c = await Cluster.start({ nodes: 2, durable: false, probeIntervalSeconds: 1, leaseTtlSeconds: 3, leaseRenewSeconds: 1 });
  });
  after(async () => {
    await c?.close();
  });

  const view = (n = c.live()[0]!) => c.cluster(n) as Promise<ClusterView>;
  const owners = (v: ClusterView) => {
    const live = v.leases.filter((l) => l.owner && l.leaseUntil > v.leaseNowMs);
    return { live: live.length, by: (name: string) => live.filter((l) => l.ownerName === name).length };
  };

  it("both serve the same cloud, split the targets by lease, and `tdekv nodes` lists both", async () => {
    const [n1, n2] = [c.node(1), c.node(2)];
    assert.equal(n2.inst.endpoints.tenantId, n1.inst.endpoints.tenantId, "node 2 found the tenant node 1 bootstrapped");
    const fleet = await seedFleet(c, TARGETS, { databasesPerServer: 1, dbVia: () => n1 });
    // A key made through node 1 wraps through node 2 and unwraps through node 1: one vault, one master key.
    const plain = randomBytes(32).toString("base64url");
    const wrapped = await n2.rest.vaultOk(FLEET_VAULT, "POST", `/keys/fleet/${fleet.kid.split("/").pop()}/wrapkey?api-version=7.4`, { alg: "RSA-OAEP-256", value: plain });
    const unwrapped = await n1.rest.vaultOk(FLEET_VAULT, "POST", `/keys/fleet/${fleet.kid.split("/").pop()}/unwrapkey?api-version=7.4`, { alg: "RSA-OAEP-256", value: wrapped.value });
    assert.equal(unwrapped.value, plain);

    const split = await until("the targets split between the nodes", async () => {
      const v = await view(n1);
      const o = owners(v);
      return o.live === TARGETS && o.by("n1") === TARGETS / 2 && o.by("n2") === TARGETS / 2 ? v : undefined;
    });
    assert.equal(split.self, split.nodes.find((n) => n.name === "n1")!.nodeId);
    for (const name of ["n1", "n2"]) {
      const n = split.nodes.find((x) => x.name === name && x.alive)!;
      assert.ok(n, `${name} is a live member`);
      assert.equal(n.leases, TARGETS / 2);
      assert.match(n.httpsUrl, /^https:\/\//);
      assert.ok(n.tdsPort > 0 && n.pid > 0 && n.seenAt >= n.startedAt);
    }
    // Node 1 created the database files: they are placed on it (local-disk mode).
    assert.equal(split.nodes.find((n) => n.name === "n1")!.databases.length, TARGETS);
    assert.equal(split.nodes.find((n) => n.name === "n2")!.databases.length, 0);
    assert.equal(split.leaseTtlMs, 3000);

    // Each node probes its own targets: both record probes in the shared store under their names.
    await until("both nodes probed", async () => {
      const rows = await c.pgQuery<{ probed_by: string }>("select probed_by from health_targets where probed_by is not null");
      return new Set(rows.map((r) => r.probed_by)).size === 2;
    });
    const m2 = await c.metrics(n2);
    assert.equal(metricValue(m2, "tdekv_probe_leases_held"), TARGETS / 2);

    const table = await run(process.execPath, [BIN, "nodes", "--data-dir", n2.dataDir], {});
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /n1/);
    assert.match(table.stdout, /n2/);
    assert.match(table.stdout, /\(this\)/);
    const json = await run(process.execPath, [BIN, "nodes", "--data-dir", n2.dataDir, "--json"], {});
    assert.equal(json.code, 0, json.stderr);
    const parsed = JSON.parse(json.stdout) as ClusterView;
    assert.equal(parsed.self, parsed.nodes.find((n) => n.name === "n2")!.nodeId);
    assert.equal(parsed.leases.length, TARGETS);
  });

  it("SIGSTOP past the lease, then SIGCONT: the frozen node's late probe results are fenced", async () => {
    const [n1, n2] = [c.node(1), c.node(2)];
    // Slow probes on node 2 only (faults are per process): it is always in the middle of one when it freezes.
    await n2.rest.tdekv("PUT", `/_tdekv/chaos/faults/${FLEET_VAULT}`, { kind: "slow", delay: "1500ms" });
    await until("node 2 is probing slowly", async () => (metricValue(await c.metrics(n2), "tdekv_probe_duration_seconds_count") ?? 0) > 0 && true);
    await new Promise((r) => setTimeout(r, 800));
    c.stop(n2);
    const stopped = await until("node 1 takes over every lease of the frozen node", async () => {
      const v = await view(n1);
      return owners(v).by("n1") === TARGETS ? v : undefined;
    });
    const epochs = new Map(stopped.leases.map((l) => [l.serverKey, l.epoch]));
    c.cont(n2);
    await until("node 2 drops its stale results", async () => (metricValue(await c.metrics(n2), "tdekv_fenced_writes_total") ?? 0) > 0, 30_000, 250);
    // And the store holds no result of node 2's under an epoch it no longer held: every row it wrote since the
    // takeover carries the lease it holds now.
    await until("node 2 gets its share back", async () => owners(await view(n1)).by("n2") === TARGETS / 2);
    await n2.rest.tdekv("DELETE", `/_tdekv/chaos/faults/${FLEET_VAULT}`);
    const rows = await c.pgQuery<{ server_key: string; lease_epoch: string; owner: string | null; epoch: string }>(
      "select t.server_key, t.lease_epoch, l.owner, l.epoch from health_targets t join probe_leases l on l.server_key = t.server_key where t.probed_by = 'n2'",
    );
    const n2Id = (await view(n1)).nodes.find((n) => n.name === "n2" && n.alive)!.nodeId;
    for (const r of rows) {
      const taken = epochs.get(r.server_key)!;
      assert.ok(Number(r.lease_epoch) > taken, `no write by n2 under a stale epoch on ${r.server_key} (wrote ${r.lease_epoch}, taken over at ${taken})`);
      assert.equal(r.owner, n2Id, `${r.server_key}: n2's latest write is under the lease it holds`);
    }
  });

  it("kill -9 one node: the other takes over its leases, counted as takeovers", async () => {
    const [n1, n2] = [c.node(1), c.node(2)];
    const before = metricValue(await c.metrics(n1), "tdekv_lease_takeovers_total") ?? 0;
    await until("the targets are split", async () => owners(await view(n1)).by("n2") > 0);
    await c.kill9(n2);
    const v = await until("node 1 holds every lease", async () => {
      const v = await view(n1);
      return owners(v).by("n1") === TARGETS ? v : undefined;
    });
    assert.ok(v.leases.every((l) => l.ownerName === "n1"));
    const after = metricValue(await c.metrics(n1), "tdekv_lease_takeovers_total") ?? 0;
    assert.ok(after >= before + TARGETS / 2, `takeovers counted: ${before} → ${after}`);
    await until("node 2 is reported not alive", async () => {
      const nodes = (await view(n1)).nodes.filter((n) => n.name === "n2");
      return nodes.length > 0 && nodes.every((n) => !n.alive);
    });
    // Every target is probed again, by node 1.
    await until("node 1 probes the taken-over targets", async () => {
      const rows = await c.pgQuery<{ probed_by: string }>("select probed_by from health_targets");
      return rows.length === TARGETS && rows.every((r) => r.probed_by === "n1");
    });
  });
});

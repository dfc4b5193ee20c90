import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type OpenedStore, openStore } from "../src/storage/index.js";
import { LeaseStore, Placement, fairShare, rebalance, actUntil } from "../src/cluster/index.js";
import { ConfigError, loadConfig, silentLogger } from "../src/platform/index.js";
import { HealthStore } from "../src/health/health-store.js";
import { type PgCluster, startPgCluster } from "./pg-cluster.js";

/**
 * The lease SQL of issue 11 slice 2 (scale-out.md §3.1, §3.2), run unchanged against the embedded SQLite file and
 * a real PostgreSQL, in the style of store-contract.test.ts: claim the fair share, renew, a takeover bumps the
 * epoch, the fence refuses a stale epoch, a clean leave frees everything; and the health rows' compare-and-set.
 */
const KEYS = ["srv-a", "srv-b", "srv-c", "srv-d"];
const TTL = 60_000;

const node = (id: string) => ({ nodeId: id, name: `name-${id}`, httpsUrl: `https://localhost/${id}`, tdsPort: 1433, pid: 1 });

async function fenceOnce(store: OpenedStore, nodeId: string, key: string, epoch: number): Promise<boolean> {
  return store.db.transaction().execute((trx) => LeaseStore.fence(trx, store.engine, nodeId, key, epoch));
}

function leaseContract(engine: string, open: () => Promise<OpenedStore>) {
  describe(`lease SQL: ${engine}`, () => {
    let store: OpenedStore;
    let leases: LeaseStore;
    before(async () => {
      store = await open();
      leases = new LeaseStore(store.db, store.engine);
    });
    after(async () => {
      await store?.close();
    });

    it("two live nodes each claim their fair share, with epoch 1, in key order", async () => {
      await leases.join(node("A"));
      await leases.join(node("B"));
      assert.equal(await leases.liveCount(TTL), 2);
      await leases.syncTargets(KEYS);
      await leases.syncTargets(KEYS); // idempotent
      const a = rebalance(0, 4, 2);
      assert.deepEqual(a, { claim: 2, shed: 0 });
      const claimedA = await leases.claim("A", a.claim, TTL);
      assert.deepEqual(claimedA.map((c) => [c.serverKey, c.epoch, c.previousOwner]), [["srv-a", 1, null], ["srv-b", 1, null]]);
      const claimedB = await leases.claim("B", rebalance((await leases.counts("B")).mine, 4, 2).claim, TTL);
      assert.deepEqual(claimedB.map((c) => c.serverKey), ["srv-c", "srv-d"]);
      assert.deepEqual(await leases.counts("A"), { total: 4, mine: 2 });
      assert.deepEqual(await leases.claim("A", 2, TTL), [], "nothing free is left");
      const held = await leases.held("A");
      assert.deepEqual(held.leases.map((l) => l.serverKey).sort(), ["srv-a", "srv-b"]);
      assert.ok(held.leases.every((l) => l.leaseUntil > held.now && typeof l.leaseUntil === "number"));
    });

    it("renew extends only the node's own live leases, in one statement", async () => {
      const before = (await leases.leases()).filter((l) => l.owner === "A");
      await new Promise((r) => setTimeout(r, 5));
      assert.equal(await leases.renew("A", TTL), 2);
      const after = (await leases.leases()).filter((l) => l.owner === "A");
      for (const l of after) assert.ok(l.leaseUntil >= before.find((b) => b.serverKey === l.serverKey)!.leaseUntil);
      assert.ok(after.every((l) => l.epoch === 1), "renewal keeps the epoch");
    });

    it("the fence holds for the owner at its epoch and refuses anyone else or another epoch", async () => {
      assert.equal(await fenceOnce(store, "A", "srv-a", 1), true);
      assert.equal(await fenceOnce(store, "B", "srv-a", 1), false, "not the owner");
      assert.equal(await fenceOnce(store, "A", "srv-a", 0), false, "stale epoch");
      assert.equal((await leases.leases()).find((l) => l.serverKey === "srv-a")!.epoch, 1, "the fence writes nothing");
    });

    it("a lapsed lease is taken over with epoch + 1; the old owner's writes are fenced", async () => {
      // A froze: its leases lapse (set in the past on the lease clock, as a TTL running out would).
      await (store.db as any).updateTable("probe_leases").set({ lease_until: 1 }).where("owner", "=", "A").execute();
      assert.equal(await leases.renew("A", TTL), 0, "a lapsed lease is not renewed: it must be claimed again");
      const taken = await leases.claim("B", 2, TTL);
      assert.deepEqual(taken.map((c) => [c.serverKey, c.epoch, c.previousOwner]), [["srv-a", 2, "A"], ["srv-b", 2, "A"]]);
      assert.equal(await fenceOnce(store, "A", "srv-a", 1), false, "A's stale result is dropped");
      assert.equal(await fenceOnce(store, "B", "srv-a", 2), true);
      // B sheds one back, A reclaims it: a new epoch again, so A's old token stays refused.
      assert.equal(await leases.shed("B", 1), 1);
      const back = await leases.claim("A", 1, TTL);
      assert.equal(back.length, 1);
      assert.equal(back[0]!.previousOwner, null, "shed leases have no owner: not a takeover");
      assert.equal(back[0]!.epoch, (await leases.leases()).find((l) => l.serverKey === back[0]!.serverKey)!.epoch);
      assert.equal(await fenceOnce(store, "A", back[0]!.serverKey, 1), false);
      assert.equal(await fenceOnce(store, "A", back[0]!.serverKey, back[0]!.epoch), true);
    });

    it("a clean leave marks the node stopped and frees its leases; vanished targets lose their rows", async () => {
      await leases.leave("A");
      assert.equal(await leases.liveCount(TTL), 1);
      assert.ok((await leases.leases()).every((l) => l.owner !== "A"));
      assert.equal((await leases.nodes()).find((n) => n.nodeId === "A")!.stoppedAt !== null, true);
      await leases.syncTargets(["srv-a", "srv-c"]);
      assert.deepEqual((await leases.leases()).map((l) => l.serverKey), ["srv-a", "srv-c"]);
      assert.equal(typeof (await leases.leaseNow()), "number");
    });

    it("a restarted member retires its crashed incarnation at join: its leases are free at once", async () => {
      assert.ok((await leases.leases()).some((l) => l.owner === "B"));
      await leases.join({ ...node("B2"), name: "name-B" });
      assert.equal(await leases.retirePrevious({ nodeId: "B2", name: "name-B" }), 1);
      assert.ok((await leases.leases()).every((l) => l.owner === null));
      assert.notEqual((await leases.nodes()).find((n) => n.nodeId === "B")!.stoppedAt, null);
      assert.equal(await leases.liveCount(TTL), 1);
      assert.equal(await leases.retirePrevious({ nodeId: "B2", name: "name-B" }), 0);
    });

    it("health rows compare-and-set on version: a stale writer gets false and changes nothing", async () => {
      const hs = new HealthStore(store.db);
      const fresh = await hs.database("occ-1", "srv-a", 1000);
      assert.equal(fresh.version, undefined);
      assert.equal(await hs.saveDatabase({ ...fresh, life: { state: "Inaccessible", since: 1000, phase: "autoheal" } }), true, "insert when absent");
      assert.equal(await hs.saveDatabase({ ...fresh, life: { state: "Online" } }), false, "a second insert-if-absent loses");
      const seen = await hs.database("occ-1", "srv-a", 1000);
      assert.equal(seen.version, 1);
      assert.equal(await hs.saveDatabase({ ...seen, availability: "Unavailable" }), true);
      assert.equal(await hs.saveDatabase({ ...seen, life: { state: "Online" } }), false, "version 1 was already replaced");
      const now = await hs.database("occ-1", "srv-a", 1000);
      assert.equal(now.version, 2);
      assert.equal(now.life.state, "Inaccessible");
      assert.equal(now.availability, "Unavailable");
      await hs.saveTarget("srv-a", { lost: false, failures: 0, successes: 1 }, { node: "name-B", epoch: 2 });
      await hs.saveTarget("srv-a", { lost: false, failures: 0, successes: 2 });
      assert.deepEqual(await hs.probedBy("srv-a"), { node: "name-B", epoch: 2 }, "an unfenced save keeps who probed last");
    });

    it("placement: the owner records itself; its poller closes what another node made Inaccessible and reopens it when healed", async () => {
      let me = "n1";
      const placement = new Placement({ db: store.db, engine: store.engine, log: silentLogger(), nodeName: () => me, liveNames: async () => new Set(["n1", "n2"]) });
      await placement.holds("file-1");
      assert.equal(await placement.mayOpen("file-1", false), true, "placed on this node");
      assert.equal(await placement.mayOpen("file-unplaced", false), true, "unplaced (made before placement)");
      me = "n2";
      assert.equal(await placement.heldElsewhere("file-1"), true);
      assert.equal(await placement.mayOpen("file-1", false), false, "placed on another node and not here");
      assert.equal(await placement.mayOpen("file-1", true), true, "its file is in this data dir: an earlier incarnation placed it");
      me = "n1";
      assert.deepEqual([...(await placement.byNode()).get("n1")!], ["file-1"]);

      const open = new Set(["file-1"]);
      const acts: string[] = [];
      const files = { isOpen: (id: string) => open.has(id), close: (id: string) => (open.delete(id), acts.push(`close ${id}`)), reopen: async (id: string) => (open.add(id), acts.push(`reopen ${id}`), true) };
      const hs = new HealthStore(store.db);
      await hs.saveDatabase({ ...(await hs.database("file-1", "srv-a", 0)), life: { state: "Online" } });
      await placement.poll(files);
      assert.deepEqual(acts, [], "the first poll only records versions");
      // Another node decides the loss (its own compare-and-set on the shared row).
      const other = new HealthStore(store.db);
      await other.saveDatabase({ ...(await other.database("file-1", "srv-a", 0)), life: { state: "Inaccessible", since: 1, phase: "autoheal" } });
      await placement.poll(files);
      assert.deepEqual(acts, ["close file-1"]);
      await placement.poll(files);
      assert.deepEqual(acts, ["close file-1"], "no change, nothing done");
      await other.saveDatabase({ ...(await other.database("file-1", "srv-a", 0)), life: { state: "Online" } });
      await placement.poll(files);
      assert.deepEqual(acts, ["close file-1", "reopen file-1"]);
      await placement.forget("file-1");
      assert.equal((await placement.byNode()).get("n1"), undefined);
    });
  });
}

describe("fair share and the own-clock deadline (pure)", () => {
  it("ceil(total / live); claim the shortfall; shed only beyond fair + 2, down to fair", () => {
    assert.equal(fairShare(1000, 3), 334);
    assert.equal(fairShare(5, 0), 5, "no live node counted yet: this one takes all");
    assert.deepEqual(rebalance(0, 10, 1), { claim: 10, shed: 0 });
    assert.deepEqual(rebalance(10, 10, 2), { claim: 0, shed: 5 });
    assert.deepEqual(rebalance(7, 10, 2), { claim: 0, shed: 0 });
    assert.deepEqual(rebalance(8, 10, 2), { claim: 0, shed: 3 });
  });
  it("a node stops acting a margin before lease_until, translated onto its own monotonic clock", () => {
    assert.equal(actUntil(500, 20_000, 5_000, 15_000), 500 + 15_000 - 1000);
    assert.equal(actUntil(0, 10_000, 7_000, 3_000), 3_000 - 600);
  });
});

describe("cluster settings", () => {
  it("defaults, flags over environment, and renew must stay below a positive ttl", () => {
    const d = loadConfig({ dataDir: "/tmp/tdekv-x" }, {});
    assert.deepEqual([d.nodeName, d.masterKeyFile, d.leaseTtlSeconds, d.leaseRenewSeconds], [undefined, "/tmp/tdekv-x/master.key", 15, 5]);
    const e = loadConfig({ nodeName: "n1" }, { TDEKV_NODE_NAME: "env-name", TDEKV_MASTER_KEY_FILE: "/etc/tdekv/master.key", TDEKV_LEASE_TTL: "3", TDEKV_LEASE_RENEW: "1" });
    assert.deepEqual([e.nodeName, e.masterKeyFile, e.leaseTtlSeconds, e.leaseRenewSeconds], ["n1", "/etc/tdekv/master.key", 3, 1]);
    assert.throws(() => loadConfig({ leaseTtlSeconds: "5", leaseRenewSeconds: "5" }, {}), (err: Error) => err instanceof ConfigError && /shorter than the lease ttl/.test(err.message));
    assert.throws(() => loadConfig({ leaseTtlSeconds: "0" }, {}), ConfigError);
    assert.throws(() => loadConfig({ leaseRenewSeconds: "-1" }, {}), ConfigError);
    assert.throws(() => loadConfig({ nodeName: "bad name" }, {}), ConfigError);
  });
});

const sqliteDir = fs.mkdtempSync(path.join(os.tmpdir(), "tdekv-lease-sql-"));
leaseContract("sqlite", () => openStore(path.join(sqliteDir, "tdekv.db")));

let cluster: PgCluster | undefined;
leaseContract("postgres", async () => {
  cluster = await startPgCluster();
  return openStore(await cluster.createDatabase("tdekv_leases"));
});

describe("lease SQL: postgres, two nodes at once", () => {
  it("concurrent claims through SKIP LOCKED get disjoint rows; the fence's row lock makes a takeover wait for the write", async () => {
    const url = await cluster!.createDatabase("tdekv_leases_race");
    const [s1, s2] = [await openStore(url), await openStore(url)];
    try {
      const [l1, l2] = [new LeaseStore(s1.db, s1.engine), new LeaseStore(s2.db, s2.engine)];
      await l1.join(node("P"));
      await l2.join(node("Q"));
      const keys = Array.from({ length: 40 }, (_, i) => `k${String(i).padStart(2, "0")}`);
      await l1.syncTargets(keys);
      const [p, q] = await Promise.all([l1.claim("P", 30, TTL), l2.claim("Q", 30, TTL)]);
      const all = [...p, ...q].map((c) => c.serverKey);
      assert.equal(new Set(all).size, all.length, "no row claimed twice");
      assert.equal(all.length, 40);
      // P's probe write: the fence holds (live lease) and its row stays locked until P commits. Anything that
      // would change that row (here: the lease running out, then a takeover) waits for P's write to land.
      const mine = p[0]!;
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let fenceResult: boolean | undefined;
      const write = s1.db.transaction().execute(async (trx) => {
        fenceResult = await LeaseStore.fence(trx, s1.engine, "P", mine.serverKey, mine.epoch);
        await gate;
      });
      while (fenceResult === undefined) await new Promise((r) => setTimeout(r, 10));
      assert.equal(fenceResult, true);
      // Nothing is free but P's locked row would not be handed out anyway: SKIP LOCKED passes it by.
      assert.deepEqual(await l2.claim("Q", 1, TTL), [], "the locked row is skipped, not waited for");
      // (each store has one connection: Q's blocked update below must be its last query until P commits)
      let lapsed = false;
      const lapse = (s2.db as any).updateTable("probe_leases").set({ lease_until: 1 }).where("server_key", "=", mine.serverKey).execute().then(() => (lapsed = true));
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(lapsed, false, "the row is locked by P's open write");
      release();
      await write;
      await lapse;
      const taken = await l2.claim("Q", 1, TTL);
      assert.deepEqual(taken.map((c) => [c.serverKey, c.epoch, c.previousOwner]), [[mine.serverKey, mine.epoch + 1, "P"]]);
      assert.equal(await fenceOnce(s1, "P", mine.serverKey, mine.epoch), false, "after the takeover P is fenced");
    } finally {
      await s1.close();
      await s2.close();
    }
  });
});

after(async () => {
  await cluster?.stop();
  fs.rmSync(sqliteDir, { recursive: true, force: true });
});

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ManualClock } from "../src/platform/clock.js";
import { type OpenedStore, migrate, openStore, redactStoreUrl } from "../src/storage/index.js";
import { ResourceStore } from "../src/arm/resource-store.js";
import { migrationProvider } from "../src/storage/migrations/index.js";
import { ActivityLog } from "../src/activity/activity-log.js";
import { OutboxStore } from "../src/activity/alerts/outbox-store.js";
import type { NotificationRow } from "../src/activity/alerts/schema.js";
import { KeyStore, type NewVersion } from "../src/vault/data-plane/key-store.js";
import { HealthStore } from "../src/health/health-store.js";
import { type PgCluster, startPgCluster } from "./pg-cluster.js";
import { BIN, run } from "./harness.js";

/**
 * The store contract (issue 11): what the components need from the control-plane store, run unchanged against
 * the embedded SQLite file and a real PostgreSQL cluster this test starts in a temp dir. A difference between
 * the engines (types, ordering, text comparison, transactions) shows up here rather than in a scenario.
 */
const SUB = "00000000-0000-0000-0000-00000000c0de";
const RG = `/subscriptions/${SUB}/resourceGroups/rg-Contract`;
const T0 = Date.UTC(2026, 10, 28, 12, 0, 0); // past 2^31: int4 would overflow, int8 must come back a number

function contract(engine: string, open: () => Promise<OpenedStore>, reopen: () => Promise<OpenedStore>) {
  describe(`store contract: ${engine}`, () => {
    let store: OpenedStore;
    const clock = new ManualClock(T0);
    before(async () => {
      store = await open();
    });
    after(async () => {
      await store?.close();
    });

    it("migrations are idempotent: a second run does nothing, a reopen does nothing", async () => {
      assert.equal(store.engine, engine);
      assert.deepEqual(await migrate(store.db), []);
      const again = await reopen();
      try {
        assert.deepEqual(await migrate(again.db), []);
      } finally {
        await again.close();
      }
      for (const t of ["settings", "resources", "operations", "activity_events", "alert_notifications", "vault_key_versions", "health_databases", "backup_dropped", "refresh_tokens"] as const) {
        assert.deepEqual(await (store.db as any).selectFrom(t).selectAll().execute(), [], t);
      }
    });

    it("resource store: put/get/list, deleteTree by prefix, move rewrites the prefix", async () => {
      const rs = new ResourceStore(store.db, clock);
      const vault = `${RG}/providers/Microsoft.KeyVault/vaults/kv1`;
      const put = (id: string, typeKey: string, name: string) =>
        rs.put({ id, subscriptionId: SUB, resourceGroup: "rg-Contract", typeKey, name, body: { id, name, properties: { n: 1 } } });
      assert.equal(await put(RG, "Microsoft.Resources/resourceGroups", "rg-Contract"), true);
      assert.equal(await put(vault, "Microsoft.KeyVault/vaults", "kv1"), true);
      clock.advance(1000);
      // Siblings whose ids share a prefix with kv1 ('kv1-x', 'kv1.x', 'kv1_x', 'kv10'): never kv1's children.
      for (const n of ["kv1-x", "kv1.x", "kv1_x", "kv10", "KV1a"]) await put(`${RG}/providers/Microsoft.KeyVault/vaults/${n}`, "Microsoft.KeyVault/vaults", n);
      clock.advance(1000);
      await put(`${vault}/keys/k1`, "Microsoft.KeyVault/vaults/keys", "k1");
      clock.advance(1000);
      await put(`${vault}/keys/k2`, "Microsoft.KeyVault/vaults/keys", "k2");
      await put(`${vault}/privateEndpointConnections/p1`, "Microsoft.KeyVault/vaults/privateEndpointConnections", "p1");

      assert.equal(await put(vault, "Microsoft.KeyVault/vaults", "kv1"), false, "second put replaces");
      const got = await rs.get<{ id: string }>(vault.toUpperCase());
      assert.equal(got?.id, vault);
      assert.equal(got?.createdAt, T0, "created_at survives a replace");
      assert.equal(typeof got?.createdAt, "number");

      const vaults = await rs.listByType({ subscriptionId: SUB, resourceGroup: "RG-CONTRACT", typeKey: "microsoft.keyvault/vaults" });
      // created_at, then key in byte order ('-' < '.' < '0' < '_' < 'a'): what a C collation gives on PostgreSQL.
      assert.deepEqual(vaults.map((v) => v.name), ["kv1", "kv1-x", "kv1.x", "kv10", "kv1_x", "KV1a"]);
      const keys = await rs.listByType({ subscriptionId: SUB, typeKey: "Microsoft.KeyVault/vaults/keys", parentId: vault });
      assert.deepEqual(keys.map((k) => k.name), ["k1", "k2"]);
      const top = await rs.listTopLevel({ subscriptionId: SUB, resourceGroup: "rg-contract" });
      assert.equal(top.length, 6);

      const deleted = await rs.deleteTree(vault);
      assert.deepEqual(deleted.map((d) => d.split("/").pop()).sort(), ["k1", "k2", "kv1", "p1"]);
      for (const n of ["kv1-x", "kv1.x", "kv1_x", "kv10", "KV1a"]) assert.ok(await rs.get(`${RG}/providers/Microsoft.KeyVault/vaults/${n}`), `${n} survives`);

      const src = `${RG}/providers/Microsoft.KeyVault/vaults/kv10`;
      await put(`${src}/keys/a`, "Microsoft.KeyVault/vaults/keys", "a");
      const rg2 = `/subscriptions/${SUB}/resourceGroups/rg-Target`;
      const dst = `${rg2}/providers/Microsoft.KeyVault/vaults/kv10`;
      await rs.move(src, dst, { subscriptionId: SUB, resourceGroup: "rg-Target" });
      assert.equal(await rs.get(src), undefined);
      assert.equal(await rs.get(`${src}/keys/a`), undefined);
      const moved = await rs.get<{ id: string }>(`${dst}/keys/a`);
      assert.equal(moved?.body.id, `${dst}/keys/a`, "body id rewritten");
      assert.deepEqual((await rs.listTopLevel({ subscriptionId: SUB, resourceGroup: "rg-target" })).map((r) => r.name), ["kv10"]);
    });

    it("activity log: append in seq order, newest-first pages, since(), and seq resumes after a reopen", async () => {
      const log = new ActivityLog(store.db, clock);
      const rid = `${RG}/providers/Microsoft.Sql/servers/s1/databases/db1`;
      for (let i = 0; i < 7; i++) {
        clock.advance(10);
        await log.append({ subscriptionId: SUB, tenantId: "t", resourceId: rid, category: "Administrative", operationName: "Microsoft.Sql/servers/databases/write", eventName: `e${i}`, status: "Succeeded", description: `event ${i}` });
      }
      const page1 = await log.query({ subscriptionId: SUB.toUpperCase(), resourceId: rid.toUpperCase(), limit: 3 });
      assert.deepEqual(page1.map((e) => e.seq), [7, 6, 5]);
      assert.equal(typeof page1[0]!.visibleAt, "number");
      const page2 = await log.query({ subscriptionId: SUB, limit: 3, beforeSeq: page1[2]!.seq });
      assert.deepEqual(page2.map((e) => e.seq), [4, 3, 2]);
      const page3 = await log.query({ subscriptionId: SUB, limit: 3, beforeSeq: 2 });
      assert.deepEqual(page3.map((e) => e.seq), [1]);
      assert.deepEqual((await log.since(5)).map((e) => e.seq), [6, 7]);
      assert.deepEqual((await log.query({ subscriptionId: SUB, from: T0 + 3000 + 30, to: T0 + 3000 + 50, limit: 10 })).map((e) => e.seq), [5, 4, 3]);
      const again = new ActivityLog(store.db, clock);
      const next = await again.append({ subscriptionId: SUB, tenantId: "t", resourceId: rid, category: "ResourceHealth", operationName: "x", eventName: "e7", status: "Active", description: "" });
      assert.equal(next.seq, 8);
    });

    it("outbox: enqueue once per dedupe key with the cursor, claim pending in event order, ack an attempt", async () => {
      const ob = new OutboxStore(store.db);
      assert.equal(await ob.cursor("dispatcher"), 0);
      const row = (i: number, seq: number): NotificationRow => ({
        id: `n${i}`,
        dedupe_key: `ev${seq}|rule|ag|webhook|r${i}`,
        subscription_id: SUB,
        event_seq: seq,
        event_data_id: `ev${seq}`,
        event_name: "MakeDatabaseInaccessible",
        event_status: "Started",
        resource_id: `${RG}/x`,
        alert_id: `a${seq}`,
        rule_id: `${RG}/providers/microsoft.insights/activityLogAlerts/Rule1`,
        action_group_id: "ag",
        receiver_kind: "webhook",
        receiver_name: "hook",
        queue_key: "ag|webhook|hook",
        channel: "http",
        target: "https://example.invalid/hook",
        schema_id: "azureMonitorCommonAlertSchema",
        payload: "{}",
        status: "Pending",
        detail: null,
        attempts: 0,
        next_attempt_at: T0,
        created_at: T0 + i,
        last_attempt_at: null,
        delivered_at: null,
      });
      assert.equal(await ob.commit("dispatcher", 12, [row(2, 12), row(1, 11)], T0), 2);
      assert.equal(await ob.commit("dispatcher", 12, [row(2, 12)], T0), 0, "same dedupe key: not enqueued twice");
      assert.equal(await ob.cursor("dispatcher"), 12);
      assert.deepEqual(await ob.pendingQueues(), ["ag|webhook|hook"]);
      const claimed = await ob.pending("ag|webhook|hook", 10);
      assert.deepEqual(claimed.map((r) => r.id), ["n1", "n2"]);
      for (const k of ["event_seq", "attempts", "next_attempt_at", "created_at"] as const) assert.equal(typeof claimed[0]![k], "number", k);
      await ob.recordAttempt(claimed[0]!, { startedAt: T0 + 5, durationMs: 12.4, outcome: "Delivered", detail: "200" }, { status: "Delivered", nextAttemptAt: T0 + 5, detail: null, deliveredAt: T0 + 17 });
      assert.deepEqual((await ob.pending("ag|webhook|hook", 10)).map((r) => r.id), ["n2"]);
      const acked = await ob.get("n1");
      assert.equal(acked?.row.status, "Delivered");
      assert.equal(acked?.row.delivered_at, T0 + 17);
      assert.deepEqual(acked?.attempts, [{ attempt: 1, startedAt: T0 + 5, durationMs: 12, outcome: "Delivered", detail: "200" }]);
      assert.deepEqual((await ob.query({ subscriptionIds: [SUB.toUpperCase()], rule: "RULE1" })).map((r) => r.id), ["n2", "n1"]);
      assert.deepEqual((await ob.query({ status: "Delivered" })).map((r) => r.id), ["n1"]);
    });

    it("key store: versions in seq order, booleans as 0/1, soft delete and recover, count is a number", async () => {
      const ks = new KeyStore(store.db);
      const v = (version: string, at: number): NewVersion => ({
        name: "TdeKey",
        version,
        kty: "RSA",
        keySize: 2048,
        crv: null,
        keyOps: ["wrapKey", "unwrapKey"],
        publicJwk: { kty: "RSA", n: "AQAB", e: "AQAB" } as never,
        privateSealed: "sealed:v1:opaque",
        enabled: true,
        nbfAt: null,
        expAt: T0 + 86_400_000,
        tags: { env: "test" },
        exportable: false,
        createdAt: at,
        updatedAt: at,
      });
      const a = await ks.addVersion("kv1", "tdekey", v("aaa", T0));
      const b = await ks.addVersion("kv1", "tdekey", v("bbb", T0 + 1), { requireExisting: true });
      assert.deepEqual([a.seq, b.seq], [1, 2]);
      assert.equal((await ks.findVersion("kv1", "tdekey"))?.version, "bbb");
      await ks.updateVersion("kv1", "tdekey", "aaa", { enabled: false, updatedAt: T0 + 2 });
      const all = await ks.allVersions("kv1", "tdekey");
      assert.deepEqual(all.map((r) => [r.version, r.seq, r.enabled, r.exportable, r.keySize, r.expAt]), [
        ["aaa", 1, false, false, 2048, T0 + 86_400_000],
        ["bbb", 2, true, false, 2048, T0 + 86_400_000],
      ]);
      assert.deepEqual((await ks.listVersions("kv1", "tdekey", 1, 10)).map((r) => r.version), ["bbb"]);
      assert.equal(await ks.softDelete("kv1", "tdekey", T0 + 3, T0 + 90 * 86_400_000), true);
      assert.equal(await ks.softDelete("kv1", "tdekey", T0 + 3, T0 + 90 * 86_400_000), false);
      assert.deepEqual((await ks.listDeleted("kv1", undefined, 10)).map((r) => [r.name, r.deletedAt]), [["TdeKey", T0 + 3]]);
      await assert.rejects(ks.addVersion("kv1", "tdekey", v("ccc", T0 + 4)));
      assert.equal(await ks.recover("kv1", "tdekey"), true);
      assert.deepEqual((await ks.listLive("kv1", undefined, 10)).map((r) => r.version), ["bbb"]);
      const n = await ks.countKeys();
      assert.equal(n, 2);
      await ks.purge("kv1", "tdekey");
      assert.equal(await ks.findName("kv1", "tdekey"), undefined);
    });

    it("health store: targets and databases round-trip; rekey and forget", async () => {
      const hs = new HealthStore(store.db);
      await hs.saveTarget("srv1", { lost: true, failures: 3, successes: 0, lastCause: "key-deleted" });
      await hs.saveTarget("srv1", { lost: true, failures: 4, successes: 0, lastCause: "key-deleted" });
      assert.equal((await hs.target("srv1")).failures, 4);
      await hs.saveDatabase({ databaseId: "d1", serverKey: "srv1", life: { state: "Inaccessible", since: T0, phase: "autoheal" }, availability: "Unavailable", availabilityChangedAt: T0 });
      await hs.saveDatabase({ databaseId: "d2", serverKey: "srv1", life: { state: "Online" }, availability: "Available", availabilityChangedAt: T0 });
      const d1 = await hs.database("d1", "srv1", 0);
      assert.equal(d1.availabilityChangedAt, T0);
      assert.equal(typeof d1.availabilityChangedAt, "number");
      assert.deepEqual([...(await hs.inaccessibleOf("srv1"))], ["d1"]);
      await hs.rekeyServer("srv1", "srv2");
      assert.deepEqual([...(await hs.inaccessibleOf("srv2"))], ["d1"]);
      assert.equal((await hs.target("srv2")).failures, 4);
      await hs.forgetDatabase("d1");
      await hs.forgetTarget("srv2");
      assert.deepEqual([...(await hs.inaccessibleOf("srv2"))], []);
      assert.equal((await hs.target("srv2")).failures, 0);
    });

    it("a transaction that throws rolls back everything it wrote", async () => {
      await assert.rejects(
        store.db.transaction().execute(async (trx) => {
          await trx.insertInto("settings").values({ key: "rollback-probe", value: "x" }).execute();
          await trx.insertInto("tenants").values({ id: "t-rollback", display_name: "t", default_domain: "t.example", created_at: T0 }).execute();
          throw new Error("boom");
        }),
        /boom/,
      );
      assert.equal(await store.db.selectFrom("settings").selectAll().where("key", "=", "rollback-probe").executeTakeFirst(), undefined);
      assert.equal(await store.db.selectFrom("tenants").selectAll().where("id", "=", "t-rollback").executeTakeFirst(), undefined);
      // A constraint violation inside a transaction rolls back its earlier writes too.
      await assert.rejects(
        store.db.transaction().execute(async (trx) => {
          await trx.insertInto("settings").values({ key: "dup", value: "1" }).execute();
          await trx.insertInto("settings").values({ key: "dup", value: "2" }).execute();
        }),
      );
      assert.equal(await store.db.selectFrom("settings").selectAll().where("key", "=", "dup").executeTakeFirst(), undefined);
    });

    it("numbers come back as numbers; text comparison is case-sensitive and byte-ordered", async () => {
      await store.db.insertInto("tenants").values([
        { id: "t-b", display_name: "b", default_domain: "b", created_at: 2 ** 53 - 1 },
        { id: "T-a", display_name: "a", default_domain: "a", created_at: T0 },
        { id: "t-a", display_name: "a", default_domain: "a", created_at: T0 },
      ]).execute();
      const big = await store.db.selectFrom("tenants").select("created_at").where("id", "=", "t-b").executeTakeFirstOrThrow();
      assert.equal(big.created_at, 2 ** 53 - 1);
      const count = await store.db.selectFrom("tenants").select((eb) => eb.fn.countAll().as("n")).executeTakeFirstOrThrow();
      assert.equal(count.n, 3);
      assert.deepEqual((await store.db.selectFrom("tenants").select("id").where("id", "=", "t-a").execute()).map((r) => r.id), ["t-a"]);
      assert.deepEqual((await store.db.selectFrom("tenants").select("id").orderBy("id").execute()).map((r) => r.id), ["T-a", "t-a", "t-b"]);
    });
    // Several nodes need a shared engine: a SQLite file serves one process (its writer lock is taken by a
    // blocking busy wait, which in one process would wait on itself), so this runs on PostgreSQL only.
    it("two nodes racing on one store: one creator per resource, distinct key versions, activity seqs without gaps or repeats", { skip: engine === "sqlite" ? "one process per SQLite store" : false }, async () => {
      // A second connection to the same store is what a second tdekv node is to it (issue 11 §2).
      const other = await reopen();
      try {
        const id = `${RG}/providers/Microsoft.KeyVault/vaults/raced`;
        const put = (db: OpenedStore["db"]) => new ResourceStore(db, clock).put({ id, subscriptionId: SUB, resourceGroup: "rg-Contract", typeKey: "Microsoft.KeyVault/vaults", name: "raced", body: { id } });
        const created = await Promise.all([put(store.db), put(other.db), put(store.db), put(other.db)]);
        assert.equal(created.filter(Boolean).length, 1, `exactly one PUT creates: ${created}`);

        const version = (n: number): NewVersion => ({
          name: "Raced", version: `v${n}`, kty: "RSA", keySize: 2048, crv: null, keyOps: ["wrapKey"], publicJwk: { kty: "RSA", n: "AQAB", e: "AQAB" } as never,
          privateSealed: "sealed:v1:opaque", enabled: true, nbfAt: null, expAt: null, tags: {}, exportable: false, createdAt: T0, updatedAt: T0,
        });
        const stores = [new KeyStore(store.db), new KeyStore(other.db)];
        const added = await Promise.all(Array.from({ length: 12 }, (_, n) => stores[n % 2]!.addVersion("kv-race", "raced", version(n))));
        assert.deepEqual(added.map((r) => r.seq).sort((a, b) => a - b), Array.from({ length: 12 }, (_, n) => n + 1));
        assert.equal((await stores[0]!.allVersions("kv-race", "raced")).length, 12);

        const logs = [new ActivityLog(store.db, clock), new ActivityLog(other.db, clock)];
        const before = (await logs[0]!.since(0, 100_000)).length;
        const appended = await Promise.all(
          Array.from({ length: 20 }, (_, n) => logs[n % 2]!.append({ subscriptionId: SUB, resourceId: id, category: "Administrative", operationName: "Microsoft.KeyVault/vaults/write", status: "Succeeded", level: "Informational", description: `race ${n}` } as never)),
        );
        const seqs = appended.map((e) => e.seq).sort((a, b) => a - b);
        assert.equal(new Set(seqs).size, 20, "no seq handed out twice");
        assert.equal(seqs[19]! - seqs[0]!, 19, "no gaps");
        assert.equal((await logs[1]!.since(0, 100_000)).length, before + 20);
      } finally {
        await other.close();
      }
    });

  });
}

const sqliteDir = fs.mkdtempSync(path.join(os.tmpdir(), "tdekv-contract-"));
const sqliteFile = path.join(sqliteDir, "tdekv.db");
contract(
  "sqlite",
  () => openStore(sqliteFile),
  () => openStore(sqliteFile, { migrate: false }),
);

let cluster: PgCluster | undefined;
let pgUrl = "";
contract(
  "postgres",
  async () => {
    cluster = await startPgCluster();
    pgUrl = await cluster.createDatabase();
    return openStore(pgUrl);
  },
  () => openStore(pgUrl, { migrate: false }),
);

describe("store contract: postgres, from the CLI", () => {
  it("tdekv migrate runs the migrations once, says what ran, and never prints the password", async () => {
    const db = await cluster!.createDatabase("tdekv_cli_migrate");
    const u = new URL(db);
    u.password = "pw-never-shown"; // trust auth ignores it
    const first = await run(process.execPath, [BIN, "migrate", "--store", u.toString()], {});
    assert.equal(first.code, 0, first.stderr);
    const all = Object.keys(await migrationProvider.getMigrations());
    assert.match(first.stdout, new RegExp(`ran ${all.length} migrations:\\n {2}0001_front_door\\n`));
    assert.match(first.stdout, /postgres:\*\*\*@127\.0\.0\.1/);
    const second = await run(process.execPath, [BIN, "migrate"], { TDEKV_STORE: u.toString() });
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /no migration ran/);
    for (const out of [first, second]) assert.doesNotMatch(out.stdout + out.stderr, /pw-never-shown/);
  });


  it("a database with a linguistic collation is refused with the fix, and the password is not echoed", async (t) => {
    const base = new URL(cluster!.url);
    const pg = (await import("pg")).default;
    const client = new pg.Client({ connectionString: cluster!.url });
    await client.connect();
    try {
      await client.query("CREATE DATABASE tdekv_icu TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C'");
    } catch (err) {
      t.skip(`no ICU collation here: ${(err as Error).message}`);
      return;
    } finally {
      await client.end();
    }
    base.pathname = "/tdekv_icu";
    base.username = "postgres";
    base.password = "pw-never-shown"; // trust auth ignores it; the error must not contain it
    await assert.rejects(openStore(base.toString()), (err: Error) => {
      assert.match(err.message, /LC_COLLATE 'C'/);
      assert.doesNotMatch(err.message, /pw-never-shown/);
      assert.match(err.message, /postgres:\*\*\*@/);
      return true;
    });
  });
});

after(async () => {
  await cluster?.stop();
  fs.rmSync(sqliteDir, { recursive: true, force: true });
});

describe("store URLs", () => {
  it("a password in the URL is never shown", () => {
    assert.equal(redactStoreUrl("postgres://tdekv:s3cret@db.example:5432/tdekv?sslmode=require"), "postgres://tdekv:***@db.example:5432/tdekv?sslmode=require");
    assert.equal(redactStoreUrl("postgresql://u@h/d?password=s3cret"), "postgresql://u@h/d?password=***");
    assert.equal(redactStoreUrl("/var/lib/tdekv/tdekv.db"), "/var/lib/tdekv/tdekv.db");
  });
});

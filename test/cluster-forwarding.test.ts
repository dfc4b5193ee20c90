import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import sql from "mssql";
import { Request } from "tedious";
import { clientToken, request } from "./harness.js";
import { Cluster, type ClusterNode, FLEET_VAULT, seedFleet, until } from "./cluster-kit.js";
import { mssqlConfig, tediousConfig, tediousConnect, tediousQuery } from "./tds-kit.js";
import { MessageReader, frame } from "../src/tds/packets.js";

/**
 * Issue 11 §3 (local-disk mode): requests for a database held by another node. Two real tdekv processes on one
 * PostgreSQL; the database is created through node 1 (its file lives in node 1's data dir only). Clients that
 * connect to node 2 (mssql and tedious, SQL and Entra logins, certificate verified against node 2's CA) are
 * proxied to node 1 and see its data; `tdekv sql query` on node 2 is forwarded. kill -9 node 1: 40613 on node 2
 * and Resource Health Unavailable; restart node 1: node 2 serves it again through node 1. Every wait is a
 * generous deadline, never a speed assertion.
 */
const SERVER = "fleet-0";
const DB = "db0";
const USER = "fleetadmin";
const PASSWORD = "Str0ng!Passw0rd";

const UNAVAILABLE = new RegExp(
  `^Database '${DB}' on server '${SERVER}' is not currently available\\. Please retry the connection later\\. If the problem persists, contact customer support, and provide them the session tracing ID of '[0-9A-F-]{36}'\\.$`,
);

describe("MessageReader.divert (the proxy's hand-over from parsing to relaying)", () => {
  it("hands over the bytes of a partial packet already buffered, then every chunk as it comes, unparsed", () => {
    const messages: number[] = [];
    const relayed: Buffer[] = [];
    const r = new MessageReader((m) => messages.push(m.type), 1 << 20);
    const login = frame(0x10, Buffer.from("login"), 4096);
    const next = frame(0x01, Buffer.alloc(100, 7), 4096);
    r.push(Buffer.concat([login, next.subarray(0, 5)]));
    assert.deepEqual(messages, [0x10]);
    r.divert((d) => relayed.push(d));
    r.push(next.subarray(5));
    r.push(Buffer.from([0xff, 0xff])); // not even a packet: relayed all the same
    assert.deepEqual(messages, [0x10]);
    assert.deepEqual(Buffer.concat(relayed), Buffer.concat([next, Buffer.from([0xff, 0xff])]));
  });
});

describe("a database held by another node (TDS Proxy, forwarded queries, owner down)", () => {
  let c: Cluster;
  let dbId: string;
  const pools: sql.ConnectionPool[] = [];

  const n1 = () => c.node(1);
  const n2 = () => c.node(2);
  const sqlConfig = (via: ClusterNode, opts: Parameters<typeof mssqlConfig>[2] = {}) => mssqlConfig(via.inst, SERVER, { database: DB, user: USER, password: PASSWORD, pool: { max: 2, min: 0, idleTimeoutMillis: 500 }, ...opts });
  const tedious = (via: ClusterNode, opts: Parameters<typeof tediousConfig>[2] = {}) => tediousConfig(via.inst, SERVER, { database: DB, user: USER, password: PASSWORD, ...opts });

  async function query(via: ClusterNode, text: string) {
    const token = await clientToken(via.inst, "https://management.azure.com/.default");
    return request(via.inst, "POST", "/_tdekv/sql/query", { headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ server: SERVER, database: DB, sql: text }) });
  }

  async function health(via: ClusterNode): Promise<string> {
    const token = await clientToken(via.inst, "https://management.azure.com/.default");
    const res = await request(via.inst, "GET", `${dbId}/providers/Microsoft.ResourceHealth/availabilityStatuses/current?api-version=2020-05-01`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200, res.text);
    return res.json.properties.availabilityState as string;
  }

  before(async () => {
    c = await Cluster.start({ nodes: 2, durable: false, probeIntervalSeconds: 1, leaseTtlSeconds: 3, leaseRenewSeconds: 1 });
    const fleet = await seedFleet(c, 1, { databasesPerServer: 1, dbVia: () => c.node(1) });
    dbId = fleet.databases[0]![0]!;
    const r = await query(n1(), "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    assert.equal(r.status, 200, r.text);
    assert.equal((await query(n1(), "INSERT INTO t (id, v) VALUES (1, 'written on n1')")).status, 200);
  });

  after(async () => {
    for (const p of pools) await p.close().catch(() => {});
    await c?.close();
  });

  it("each node publishes its CA; the database is placed on node 1 and its file is only there", async () => {
    const rows = await c.pgQuery<{ name: string; ca_pem: string | null }>("select name, ca_pem from cluster_nodes where stopped_at is null");
    for (const n of [n1(), n2()]) {
      const row = rows.find((r) => r.name === n.name);
      assert.ok(row?.ca_pem, `${n.name} published its CA`);
      assert.equal(row.ca_pem!.trim(), n.inst.ca.toString().trim(), `${n.name}'s published CA is the one in its data dir`);
    }
    const placed = await c.pgQuery<{ node_name: string }>("select node_name from db_placement");
    assert.deepEqual(placed.map((p) => p.node_name), ["n1"]);
    const files = (dir: string) => (fs.existsSync(path.join(dir, "databases")) ? fs.readdirSync(path.join(dir, "databases")) : []);
    assert.ok(files(n1().dataDir).length > 0, "node 1 has the database file");
    assert.equal(files(n2().dataDir).filter((f) => !f.startsWith(".")).length, 0, "node 2 has no database file");
  });

  for (const encrypt of [true, false, "strict"] as const) {
    it(`mssql on node 2 (encrypt: ${encrypt}, SQL login) reads and writes node 1's database`, async () => {
      const p = await new sql.ConnectionPool(sqlConfig(n2(), { encrypt })).connect();
      pools.push(p);
      const id = { true: 10, false: 20, strict: 30 }[String(encrypt) as "true" | "false" | "strict"];
      await p.request().input("id", sql.Int, id).input("v", sql.NVarChar, `via n2 ${encrypt}`).query("INSERT INTO t (id, v) VALUES (@id, @v)");
      const r = await p.request().query("SELECT id, v FROM t ORDER BY id");
      assert.deepEqual(r.recordset[0], { id: 1, v: "written on n1" });
      assert.ok(r.recordset.some((row: { id: number }) => row.id === id));
      const who = await p.request().query("SELECT DB_NAME() AS db, SUSER_SNAME() AS who");
      assert.deepEqual(who.recordset, [{ db: DB, who: USER }]);
      // Node 1 holds the row the client wrote through node 2.
      const onN1 = await query(n1(), `SELECT v FROM t WHERE id = ${id}`);
      assert.equal(onN1.status, 200, onN1.text);
      assert.deepEqual(onN1.json.rows, [{ v: `via n2 ${encrypt}` }]);
      await p.close();
    });
  }

  it("tedious on node 2 with an Entra token (in LOGIN7, and by the MSAL FEDAUTH exchange) is proxied; the owner checks it", async () => {
    const token = await clientToken(n2().inst, "https://database.windows.net/.default");
    const r = await tediousConnect(tedious(n2(), { token }));
    assert.ifError(r.error);
    const q = await tediousQuery(r.conn!, "SELECT v FROM t WHERE id = 1");
    assert.ifError(q.error);
    assert.deepEqual(q.rows, [{ v: "written on n1" }]);
    r.conn!.close();
    // The MSAL flow: the owner's FEDAUTHINFO and the client's FEDAUTH_TOKEN cross the proxy as packets.
    const credential = { getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3_600_000 }) };
    const m = await tediousConnect({ ...tedious(n2()), authentication: { type: "token-credential", options: { credential } } } as any);
    assert.ifError(m.error);
    const mq = await tediousQuery(m.conn!, "SELECT SUSER_SNAME() AS who");
    assert.ifError(mq.error);
    assert.equal(mq.rows.length, 1);
    m.conn!.close();
    // A wrong password is refused by the owner, through the proxy, as Azure does.
    const bad = await tediousConnect(tedious(n2(), { password: "wrong" }));
    assert.ok(bad.error);
    assert.equal(bad.messages[0]?.number, 18456);
  });

  it("a large result and many round trips relay intact", async () => {
    const p = await new sql.ConnectionPool(sqlConfig(n2())).connect();
    pools.push(p);
    const big = "x".repeat(60_000);
    await p.request().input("v", sql.NVarChar(sql.MAX), big).query("INSERT INTO t (id, v) VALUES (100, @v)");
    for (let i = 0; i < 20; i++) {
      const r = await p.request().query("SELECT v FROM t WHERE id = 100");
      assert.equal(r.recordset[0].v, big);
    }
    await p.request().query("DELETE FROM t WHERE id = 100");
    await p.close();
  });

  it("transactions and cancel (ATTENTION) work through the proxy", async () => {
    const a = await tediousConnect(tedious(n2()));
    const b = await tediousConnect(tedious(n2()));
    assert.ifError(a.error);
    assert.ifError(b.error);
    await tediousQuery(a.conn!, "BEGIN TRAN; UPDATE t SET v = 'held' WHERE id = 1");
    const cancelled = new Promise<any>((resolve) => {
      const req = new Request("SELECT v FROM t", (err) => resolve(err));
      b.conn!.execSql(req);
      setImmediate(() => setImmediate(() => b.conn!.cancel()));
    });
    const err = await cancelled;
    assert.equal(err?.code, "ECANCEL");
    await tediousQuery(a.conn!, "ROLLBACK");
    const later = await tediousQuery(b.conn!, "SELECT v FROM t WHERE id = 1");
    assert.ifError(later.error);
    assert.deepEqual(later.rows, [{ v: "written on n1" }]);
    a.conn!.close();
    b.conn!.close();
  });

  it("`tdekv sql query` on node 2 is forwarded to node 1 and answered unchanged", async () => {
    const r = await query(n2(), "SELECT id, v FROM t WHERE id = 1");
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.rows, [{ id: 1, v: "written on n1" }]);
    const bad = await query(n2(), "SELECT nope FROM missing_table");
    const direct = await query(n1(), "SELECT nope FROM missing_table");
    assert.equal(bad.status, direct.status);
    assert.equal(bad.json.error.code, direct.json.error.code);
  });

  it("ARM writes for node 1's database sent to node 2 are carried out by node 1; a new database is made where the PUT lands", async () => {
    // A tag change through node 2 is node 1's to make (it holds the file); the store then shows it everywhere.
    const db = await n1().rest.armOk("GET", `${dbId}?api-version=2021-11-01`);
    const tagged = await n2().rest.armOk("PUT", `${dbId}?api-version=2021-11-01`, { location: db.location, tags: { via: "n2" } });
    assert.deepEqual(tagged.tags, { via: "n2" });
    assert.deepEqual((await n1().rest.armOk("GET", `${dbId}?api-version=2021-11-01`)).tags, { via: "n2" });
    // A second database made through node 1, then dropped through node 2: node 1 closes and removes its file.
    const serverId = dbId.replace(/\/databases\/[^/]+$/, "");
    const extraId = `${serverId}/databases/extra`;
    const extra = await n1().rest.armOk("PUT", `${extraId}?api-version=2021-11-01`, { location: db.location });
    const fileId = extra.properties.databaseId as string;
    const onN1 = () => (fs.existsSync(path.join(n1().dataDir, "databases")) ? fs.readdirSync(path.join(n1().dataDir, "databases")).filter((f) => f.includes(fileId)) : []);
    assert.ok(onN1().length > 0, "node 1 has the new file");
    const dropped = await n2().rest.arm("DELETE", `${extraId}?api-version=2021-11-01`);
    assert.ok([200, 202, 204].includes(dropped.status), `DELETE through node 2: ${dropped.status} ${JSON.stringify(dropped.body)}`);
    for (const h of ["location", "azure-asyncoperation"]) {
      const v = dropped.headers[h];
      if (typeof v === "string") assert.ok(!v.includes(new URL(n1().inst.endpoints.armEndpoint).host), `${h} names the front door the client used, not node 1: ${v}`);
    }
    await until("the database is gone", async () => (await n2().rest.armFind(`${extraId}?api-version=2021-11-01`)) === undefined);
    await until("node 1 removed its file", () => onN1().filter((f) => !f.endsWith(".tmp")).length === 0 || undefined);
    assert.deepEqual(await c.pgQuery("select node_name from db_placement where database_id = $1", [fileId]), []);
  });

  it("a protector change made through node 2 reaches node 1's file: node 1 rewraps its DEK by the new key", async () => {
    const serverId = dbId.replace(/\/databases\/[^/]+$/, "");
    const thumbprintOnN1 = async () => {
      const r = await query(n1(), "SELECT encryptor_thumbprint FROM sys.dm_database_encryption_keys");
      assert.equal(r.status, 200, r.text);
      return String(r.json.rows[0]?.encryptor_thumbprint ?? "");
    };
    const before = await thumbprintOnN1();
    const kid = (await n2().rest.vaultOk(FLEET_VAULT, "POST", "/keys/fleet/create?api-version=7.4", { kty: "RSA", key_size: 2048 })).key.kid as string;
    const keyName = `${FLEET_VAULT}_fleet_${kid.split("/").pop()}`;
    const key = await n2().rest.armOk("PUT", `${serverId}/keys/${keyName}?api-version=2021-11-01`, { properties: { serverKeyType: "AzureKeyVault", uri: kid } });
    const want = String(key.properties.thumbprint);
    assert.notEqual(want.toLowerCase(), before.toLowerCase(), "a new key version has a new thumbprint");
    await n2().rest.armOk("PUT", `${serverId}/encryptionProtector/current?api-version=2021-11-01`, { properties: { serverKeyType: "AzureKeyVault", serverKeyName: keyName } });
    await until("node 1's file is wrapped by the new protector", async () => (await thumbprintOnN1()).toLowerCase() === want.toLowerCase() || undefined);
    // Still readable through both nodes.
    assert.deepEqual((await query(n2(), "SELECT v FROM t WHERE id = 1")).json.rows, [{ v: "written on n1" }]);
  });

  it("kill -9 node 1: node 2 answers 40613 (TDS and sql query) and Resource Health turns Unavailable", async () => {
    // A session proxied before the kill ends with its owner.
    const before = await tediousConnect(tedious(n2()));
    assert.ifError(before.error);
    // The owner's end reaches the client as a lost connection (an `error`, then `end`).
    before.conn!.on("error", () => {});
    const ended = new Promise<void>((resolve) => before.conn!.once("end", () => resolve()));
    await c.kill9(n1());
    await ended;
    const r = await tediousConnect(tedious(n2()));
    assert.ok(r.error, "the login is refused");
    assert.equal(r.messages[0]?.number, 40613);
    assert.match(r.messages[0]!.message, UNAVAILABLE);
    assert.equal(r.messages[0]!.serverName, SERVER);
    // Also once node 1 is no longer alive in the cluster view (not seen within the TTL).
    await until("node 1 is reported not alive", async () => !(await c.cluster(n2())).nodes.some((n) => n.name === "n1" && n.alive));
    const later = await tediousConnect(tedious(n2()));
    assert.equal(later.messages[0]?.number, 40613);
    const q = await query(n2(), "SELECT 1 AS one");
    assert.equal(q.status, 503, q.text);
    assert.equal(q.json.error.code, "40613");
    await until("Resource Health is Unavailable", async () => (await health(n2())) === "Unavailable");
  });

  it("restart node 1: node 2's next login is served by node 1 again", async () => {
    await c.restart(n1());
    const r = await until(
      "node 2 proxies to the restarted node 1",
      async () => {
        const t = await tediousConnect(tedious(n2()));
        if (t.error) return undefined;
        return t;
      },
      60_000,
      250,
    );
    const q = await tediousQuery(r.conn!, "SELECT v FROM t WHERE id = 1");
    assert.deepEqual(q.rows, [{ v: "written on n1" }]);
    r.conn!.close();
    const fwd = await query(n2(), "SELECT count(*) AS n FROM t WHERE id IN (10, 20, 30)");
    assert.equal(fwd.status, 200, fwd.text);
    assert.deepEqual(fwd.json.rows, [{ n: 3 }]);
  });
});

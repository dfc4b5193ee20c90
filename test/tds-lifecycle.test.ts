import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import sql from "mssql";
import { clientToken, request } from "./harness.js";
import { Drill, MARKER } from "./lifecycle-kit.js";
import { ended, mssqlConfig, tediousConfig, tediousConnect, tediousQuery } from "./tds-kit.js";

/**
 * The seed's promise over the wire (issue 8 §4): a database whose key access is revoked closes its open
 * sessions, refuses new ones with 40613 class 17 in Azure's words, turns Resource Health Unavailable on
 * the first refusal, and takes connections again once access is back. Probes are driven by hand (manual
 * clock), so nothing here waits on time.
 */
let d: Drill;

before(async () => {
  d = await Drill.start();
});
after(async () => {
  await d.inst.stop();
});

async function health(dbId: string): Promise<string> {
  const token = await clientToken(d.inst, "https://management.azure.com/.default");
  const res = await request(d.inst, "GET", `${dbId}/providers/Microsoft.ResourceHealth/availabilityStatuses/current?api-version=2020-05-01`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200, res.text);
  return res.json.properties.availabilityState as string;
}

const UNAVAILABLE = (server: string) =>
  new RegExp(
    `^Database 'db' on server '${server}' is not currently available\\. Please retry the connection later\\. If the problem persists, contact customer support, and provide them the session tracing ID of '[0-9A-F-]{36}'\\.$`,
  );

test("connected, key revoked, session closed, 40613 on reconnect, Resource Health Unavailable, access restored, connected again", async () => {
  const s = await d.scenario("tdslife");

  // Connected and querying, through tedious (one session) and through an mssql pool.
  const open = await tediousConnect(tediousConfig(d.inst, s.server));
  assert.ifError(open.error);
  assert.deepEqual((await tediousQuery(open.conn!, "SELECT v FROM t")).rows, [{ v: MARKER }]);
  open.conn!.on("error", () => {});
  const pool = await new sql.ConnectionPool(mssqlConfig(d.inst, s.server, { database: "db" })).connect();
  assert.deepEqual((await pool.request().query("SELECT v FROM t")).recordset, [{ v: MARKER }]);
  pool.on("error", () => {});

  // The key access is revoked and a probe pass sees it: the database turns Inaccessible.
  const closed = ended(open.conn!);
  await d.revoke(s.vault, s.principal);
  await d.probe();
  assert.equal(await d.status(s), "Inaccessible");

  // The open session is closed by the server.
  await closed;
  assert.equal(await health(s.dbId), "Available", "Available until a connection is denied");

  // A new connection is refused with 40613, class 17, state 1, in Azure's words.
  const refused = await tediousConnect(tediousConfig(d.inst, s.server));
  assert.ok(refused.error);
  assert.equal(refused.messages.length, 1);
  const m = refused.messages[0]!;
  assert.deepEqual([m.number, m.class, m.state, m.serverName], [40613, 17, 1, s.server]);
  assert.match(m.message, UNAVAILABLE(s.server));
  assert.equal(await health(s.dbId), "Unavailable", "the first denied connection turns Resource Health Unavailable");

  // mssql surfaces it as ELOGIN with the same text; the pooled connection is gone too.
  await assert.rejects(new sql.ConnectionPool(mssqlConfig(d.inst, s.server, { database: "db" })).connect(), (e: any) => {
    assert.equal(e.code, "ELOGIN");
    assert.match(e.message, UNAVAILABLE(s.server));
    return true;
  });
  await assert.rejects(pool.request().query("SELECT v FROM t"));
  await pool.close().catch(() => {});

  // tedious treats 40613 as transient and retries the login: 4 attempts, each refused (tds.md §4).
  const retried = await tediousConnect({ ...tediousConfig(d.inst, s.server, { retries: 3 }), options: { ...tediousConfig(d.inst, s.server, { retries: 3 }).options, connectionRetryInterval: 50 } });
  assert.deepEqual(retried.messages.map((x) => x.number), [40613, 40613, 40613, 40613]);

  // Access restored: two good probes heal it inside the window, and connections work again.
  await d.grant(s.vault, s.principal);
  await d.probe();
  await d.probe();
  assert.equal(await d.status(s), "Online");
  const again = await tediousConnect(tediousConfig(d.inst, s.server));
  assert.ifError(again.error);
  assert.deepEqual((await tediousQuery(again.conn!, "SELECT v FROM t")).rows, [{ v: MARKER }]);
  again.conn!.close();
  assert.equal(await health(s.dbId), "Available");
});

test("a session holding a transaction is closed when the database turns Inaccessible, and the transaction is gone", async () => {
  const s = await d.scenario("tdstx");
  const a = await tediousConnect(tediousConfig(d.inst, s.server));
  assert.ifError(a.error);
  a.conn!.on("error", () => {});
  await tediousQuery(a.conn!, "BEGIN TRAN; INSERT INTO t VALUES ('uncommitted')");
  const closed = ended(a.conn!);
  await d.revoke(s.vault, s.principal);
  await d.probe();
  await closed;
  await d.grant(s.vault, s.principal);
  await d.probe();
  await d.probe();
  const b = await tediousConnect(tediousConfig(d.inst, s.server));
  assert.ifError(b.error);
  assert.deepEqual((await tediousQuery(b.conn!, "SELECT v FROM t")).rows, [{ v: MARKER }]);
  b.conn!.close();
});

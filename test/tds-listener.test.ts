import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Drill, MARKER, RG } from "./lifecycle-kit.js";
import { tediousConfig, tediousConnect, tediousQuery } from "./tds-kit.js";

/**
 * Issue 10: a failover group's read-write listener `<fg>.database.windows.net` through the TDS endpoint
 * (tedious, TLS with SNI and certificate verification) reaches the current primary, and follows it after a
 * planned failover.
 */
let d: Drill;

before(async () => {
  d = await Drill.start();
});
after(async () => {
  await d.inst.stop();
});

async function onListener(host: string, sqlText: string): Promise<Record<string, unknown>[]> {
  const r = await tediousConnect(tediousConfig(d.inst, host));
  assert.ifError(r.error);
  try {
    const q = await tediousQuery(r.conn!, sqlText);
    assert.ifError(q.error);
    return q.rows;
  } finally {
    r.conn!.close();
  }
}

test("tedious to <fg>.database.windows.net lands on the primary, and on the new primary after set-primary", async () => {
  const s = await d.scenario("tdsfg");
  const sql = d.c.sql;
  const partner = "srv-tdsfg-s";
  const principal = (await sql.servers.beginCreateOrUpdateAndWait(RG, partner, { location: "westus", administratorLogin: "admin1", administratorLoginPassword: "Str0ng!Passw0rd", identity: { type: "SystemAssigned" } }, d.c.poll)).identity!.principalId!;
  await d.grant(s.vault, principal);
  await sql.serverKeys.beginCreateOrUpdateAndWait(RG, partner, s.keyName, { serverKeyType: "AzureKeyVault", uri: s.kid }, d.c.poll);
  await sql.encryptionProtectors.beginCreateOrUpdateAndWait(RG, partner, "current", { serverKeyType: "AzureKeyVault", serverKeyName: s.keyName }, d.c.poll);
  const partnerId = `/subscriptions/${d.inst.endpoints.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.Sql/servers/${partner}`;
  await sql.failoverGroups.beginCreateOrUpdateAndWait(RG, s.server, "fg-tds", { partnerServers: [{ id: partnerId }], readWriteEndpoint: { failoverPolicy: "Manual" }, databases: [s.dbId] } as any, d.c.poll);

  // Without routing the endpoint answers "Cannot open server 'fg-tds'" (40532).
  assert.deepEqual(await onListener("fg-tds", "SELECT @@SERVERNAME AS s, v FROM t"), [{ s: s.server, v: MARKER }]);
  await onListener("fg-tds", "INSERT INTO t VALUES ('via listener')");

  await sql.failoverGroups.beginFailoverAndWait(RG, partner, "fg-tds", d.c.poll);
  assert.deepEqual(await onListener("fg-tds", "SELECT @@SERVERNAME AS s, count(*) AS n FROM t"), [{ s: partner, n: 2 }]);
  await onListener("fg-tds", "INSERT INTO t VALUES ('after failover')");
  const onNew = await d.query(partner, "db", "SELECT count(*) AS n FROM t");
  assert.equal(onNew.json.rows[0].n, 3, "the write through the listener landed on the new primary");

  const unknown = await tediousConnect(tediousConfig(d.inst, "fg-none"));
  assert.ok(unknown.error, "an unknown name reaches nothing");
});

import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { createHash } from "node:crypto";
import { Drill, RG } from "./lifecycle-kit.js";
import { azCli, type Az } from "./az.js";
import { ROOT } from "./harness.js";
import sql from "mssql";
import { mssqlConfig } from "./tds-kit.js";

/**
 * Issue 10 T6-T8: failover groups and geo-replication under the customer-managed key, with the real az 2.45
 * and @azure/arm-sql: a planned failover keeps every committed transaction; a secondary needs the primary
 * protector's key material; a forced failover loses exactly the unshipped window and reports it; the
 * Automatic policy fails over after its grace period on tdekv's clock, not before.
 */
let d: Drill;
let az: Az;
const GEO_MARKER = "GEO-MARKER-c41d-never-shipped-in-clear";

before(async () => {
  d = await Drill.start();
  az = azCli(d.inst, { PYTHONPATH: path.join(ROOT, "test", "fixtures", "azshim") });
  const ep = d.inst.endpoints;
  assert.equal((await az("login", "--service-principal", "-u", ep.clientId, `--password=${ep.clientSecret}`, "--tenant", ep.tenantId, "-o", "none")).code, 0);
});
after(async () => {
  await d.inst.stop();
});

const ok = async (...args: string[]) => {
  const r = await az(...args);
  assert.equal(r.code, 0, `az ${args.join(" ")}\n${r.stderr}`);
  return r;
};

async function query(server: string, db: string, sql: string, params: unknown[] = []) {
  const q = await d.query(server, db, sql, params);
  assert.equal(q.status, 200, `${server}/${db}: ${q.text}`);
  return q.json.rows as Record<string, unknown>[];
}

/** Files holding `needle`; a file removed while scanning (a WAL being replayed) is skipped. */
function filesContaining(dir: string, needle: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => {
    try {
      const p = path.join(dir, f);
      return fs.statSync(p).isFile() && fs.readFileSync(p).includes(needle);
    } catch {
      return false;
    }
  });
}

/** Row count and a hash of every row, in order: equal on both ends means the same committed data. */
async function fingerprint(server: string, db: string): Promise<{ n: number; hash: string }> {
  const rows = await query(server, db, "SELECT id, v FROM t ORDER BY id");
  return { n: rows.length, hash: createHash("sha256").update(JSON.stringify(rows)).digest("hex") };
}

/**
 * Two CMK servers in different regions whose identities can use the same key: the primary's protector, also
 * registered on the partner (same material: "secondary first"). Returns the names and the key.
 */
async function geoPair(name: string, opts: { partnerHasKey?: boolean } = {}) {
  const vault = `kv-${name}`;
  await d.vault(vault);
  const kid = (await d.c.keys(vault).createRsaKey("tde", { keySize: 2048 })).id!;
  const keyName = `${vault}_tde_${kid.split("/").pop()}`;
  const sql = d.c.sql;
  const mk = async (server: string, location: string, register: boolean) => {
    const principal = (await sql.servers.beginCreateOrUpdateAndWait(RG, server, { location, administratorLogin: "admin1", administratorLoginPassword: "Str0ng!Passw0rd", identity: { type: "SystemAssigned" } }, d.c.poll)).identity!.principalId!;
    await d.grant(vault, principal);
    if (register) {
      await sql.serverKeys.beginCreateOrUpdateAndWait(RG, server, keyName, { serverKeyType: "AzureKeyVault", uri: kid }, d.c.poll);
      await sql.encryptionProtectors.beginCreateOrUpdateAndWait(RG, server, "current", { serverKeyType: "AzureKeyVault", serverKeyName: keyName }, d.c.poll);
    }
    return principal;
  };
  const p1 = `${name}-p`;
  const p2 = `${name}-s`;
  const principal1 = await mk(p1, "eastus", true);
  const principal2 = await mk(p2, "westus", opts.partnerHasKey !== false);
  await sql.databases.beginCreateOrUpdateAndWait(RG, p1, "db", { location: "eastus", tags: { app: "geo" } }, d.c.poll);
  await query(p1, "db", "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
  await query(p1, "db", "INSERT INTO t (v) VALUES (?)", [GEO_MARKER]);
  const sub = d.inst.endpoints.subscriptionId;
  const serverId = (s: string) => `/subscriptions/${sub}/resourceGroups/${RG}/providers/Microsoft.Sql/servers/${s}`;
  return { vault, kid, keyName, p1, p2, principal1, principal2, serverId };
}

async function fog(server: string, name: string) {
  return d.admin("GET", `/subscriptions/${d.inst.endpoints.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.Sql/servers/${server}/failoverGroups/${name}?api-version=2020-11-01-preview`);
}

async function links(server: string) {
  return (await d.c.sql.replicationLinks.listByDatabase(RG, server, "db").byPage().next()).value as { role?: string; partnerRole?: string; partnerServer?: string; name?: string }[];
}

describe("T6 a planned failover keeps committed data", () => {
  test("az failover-group create (Manual) --add-db; 100 commits; set-primary; both views flip; the old primary refuses writes; fail back", async () => {
    const g = await geoPair("fo");
    const created = await ok("sql", "failover-group", "create", "-g", RG, "-s", g.p1, "-n", "fg-fo", "--partner-server", g.p2, "--failover-policy", "Manual", "--add-db", "db", "-o", "json");
    assert.equal(created.json.replicationRole, "Primary");
    assert.deepEqual(created.json.databases.map((x: string) => x.toLowerCase()), [`${g.serverId(g.p1)}/databases/db`.toLowerCase()]);
    assert.equal(created.json.readWriteEndpoint.failoverPolicy, "Manual");
    const secondary = await d.c.sql.databases.get(RG, g.p2, "db");
    assert.equal(secondary.secondaryType, "Geo");
    assert.equal(secondary.failoverGroupId, `${g.serverId(g.p2)}/failoverGroups/fg-fo`);
    assert.deepEqual((await links(g.p2)).map((l) => [l.role, l.partnerRole, l.partnerServer]), [["Secondary", "Primary", g.p1]]);
    assert.deepEqual((await links(g.p1)).map((l) => [l.role, l.partnerRole, l.partnerServer]), [["Primary", "Secondary", g.p2]]);
    // The secondary is readable and refuses writes.
    assert.deepEqual(await query(g.p2, "db", "SELECT v FROM t"), [{ v: GEO_MARKER }]);
    const refused = await d.query(g.p2, "db", "INSERT INTO t (v) VALUES ('x')");
    assert.equal(refused.status, 400);
    assert.match(refused.json.error.message, /attempt to write a readonly database/);

    for (let i = 0; i < 100; i++) await query(g.p1, "db", "INSERT INTO t (v) VALUES (?)", [`row ${i}`]);
    const before = await fingerprint(g.p1, "db");
    assert.equal(before.n, 101);

    await ok("sql", "failover-group", "set-primary", "-g", RG, "-s", g.p2, "-n", "fg-fo");
    assert.deepEqual(await fingerprint(g.p2, "db"), before, "the new primary has every committed transaction");
    const onP1 = await fog(g.p1, "fg-fo");
    const onP2 = await fog(g.p2, "fg-fo");
    assert.deepEqual([onP1.properties.replicationRole, onP1.properties.partnerServers[0].replicationRole], ["Secondary", "Primary"]);
    assert.deepEqual([onP2.properties.replicationRole, onP2.properties.partnerServers[0].replicationRole], ["Primary", "Secondary"]);
    assert.equal(onP2.properties.tdekvLastFailover.lostTransactions, 0);
    assert.equal(onP2.properties.databases[0].toLowerCase(), `${g.serverId(g.p2)}/databases/db`.toLowerCase());
    const old = await d.query(g.p1, "db", "INSERT INTO t (v) VALUES ('late')");
    assert.equal(old.status, 400, "the old primary is read-only");
    assert.match(old.json.error.message, /attempt to write a readonly database/);
    // set-primary where it already is primary does nothing.
    await ok("sql", "failover-group", "set-primary", "-g", RG, "-s", g.p2, "-n", "fg-fo");
    assert.equal((await fog(g.p2, "fg-fo")).properties.replicationRole, "Primary");

    // Writes on the new primary reach the old one; failing back loses nothing either.
    for (let i = 0; i < 10; i++) await query(g.p2, "db", "INSERT INTO t (v) VALUES (?)", [`on p2 ${i}`]);
    const beforeBack = await fingerprint(g.p2, "db");
    await ok("sql", "failover-group", "set-primary", "-g", RG, "-s", g.p1, "-n", "fg-fo");
    assert.deepEqual(await fingerprint(g.p1, "db"), beforeBack);
    assert.equal((await fog(g.p1, "fg-fo")).properties.replicationRole, "Primary");
    await query(g.p1, "db", "INSERT INTO t (v) VALUES ('primary again')");
    // Nothing shipped or archived is plaintext.
    const hits = filesContaining(d.inst.dataDir, GEO_MARKER);
    assert.deepEqual(hits, []);
  });
});

describe("T6b the failover group listener follows the primary", () => {
  test("<fg>.database.windows.net reaches the current primary and <fg>.secondary.database.windows.net the secondary, before and after set-primary", async () => {
    const g = await geoPair("ls");
    await ok("sql", "failover-group", "create", "-g", RG, "-s", g.p1, "-n", "fg-ls", "--partner-server", g.p2, "--failover-policy", "Manual", "--add-db", "db", "-o", "none");
    const rw = "fg-ls.database.windows.net";
    const ro = "fg-ls.secondary.database.windows.net";
    // The listener is not a server: without routing the data path answers "no such server".
    await query(rw, "db", "INSERT INTO t (v) VALUES ('via listener 1')");
    assert.deepEqual(await fingerprint(rw, "db"), await fingerprint(g.p1, "db"), "the read-write listener is the primary");
    assert.equal((await query(g.p1, "db", "SELECT count(*) AS n FROM t WHERE v = 'via listener 1'"))[0]!.n, 1, "the write landed on the primary");
    const refused = await d.query(ro, "db", "INSERT INTO t (v) VALUES ('x')");
    assert.equal(refused.status, 400, "the read-only listener is the secondary");
    assert.match(refused.json.error.message, /attempt to write a readonly database/);

    await ok("sql", "failover-group", "set-primary", "-g", RG, "-s", g.p2, "-n", "fg-ls");
    await query(rw, "db", "INSERT INTO t (v) VALUES ('via listener 2')");
    assert.equal((await query(g.p2, "db", "SELECT count(*) AS n FROM t WHERE v LIKE 'via listener %'"))[0]!.n, 2, "after the failover the listener writes on the new primary");
    const old = await d.query(ro, "db", "INSERT INTO t (v) VALUES ('x')");
    assert.equal(old.status, 400, "the read-only listener now reaches the old primary, a secondary");
    assert.match(old.json.error.message, /attempt to write a readonly database/);
    // The same listeners over TDS (mssql/tedious, TLS verified): SNI and LOGIN7 carry the listener name.
    const overTds = async (server: string, statement: string) => {
      const pool = await new sql.ConnectionPool(mssqlConfig(d.inst, server, { database: "db", pool: { max: 1 } })).connect();
      try {
        return await pool.request().batch(statement);
      } finally {
        await pool.close();
      }
    };
    await overTds("fg-ls", "INSERT INTO t (v) VALUES ('via tds listener')");
    assert.equal((await query(g.p2, "db", "SELECT count(*) AS n FROM t WHERE v = 'via tds listener'"))[0]!.n, 1, "the TDS read-write listener is the new primary");
    await assert.rejects(overTds("fg-ls.secondary", "INSERT INTO t (v) VALUES ('x')"), /because the database is read-only/, "the TDS read-only listener is the secondary");
    const readBack = await overTds("fg-ls.secondary", "SELECT count(*) AS n FROM t WHERE v = 'via tds listener'");
    assert.equal(readBack.recordset[0].n, 1, "the secondary serves reads over TDS once the frames shipped");
    const unknown = await d.query("fg-none.database.windows.net", "db", "SELECT 1");
    assert.notEqual(unknown.status, 200, "an unknown listener reaches nothing");
  });
});

describe("T7 the CMK precondition of a geo-secondary", () => {
  test("az sql db replica create: SameKeyMaterialNotFoundOnRemoteServer until the partner has the key; then the secondary opens through its own identity", async () => {
    const g = await geoPair("km", { partnerHasKey: false });
    const refused = await az("sql", "db", "replica", "create", "-g", RG, "-s", g.p1, "-n", "db", "--partner-server", g.p2);
    assert.equal(refused.code, 1);
    assert.ok(
      refused.stderr.includes(
        `(SameKeyMaterialNotFoundOnRemoteServer) All servers linked by Geo replication should have the same key material as the encryption protector of the primary server. Please add the key '${g.kid}' with the same key material to the secondary server '${g.p2}'.`,
      ),
      refused.stderr,
    );
    await assert.rejects(d.c.sql.databases.get(RG, g.p2, "db"), (e: { statusCode?: number }) => e.statusCode === 404);
    // The same key as az sees it through the proxy (the SDK reached the vault in direct mode).
    const azKid = g.kid.replace(/\.vault\.localhost:\d+\//, ".vault.azure.net/");
    await ok("sql", "server", "key", "create", "-g", RG, "-s", g.p2, "--kid", azKid, "-o", "none");
    const replica = await ok("sql", "db", "replica", "create", "-g", RG, "-s", g.p1, "-n", "db", "--partner-server", g.p2, "-o", "json");
    assert.equal(replica.json.secondaryType, "Geo");
    assert.deepEqual(await query(g.p2, "db", "SELECT v FROM t"), [{ v: GEO_MARKER }]);
    const listed = await ok("sql", "db", "replica", "list-links", "-g", RG, "-s", g.p2, "-n", "db", "-o", "json");
    assert.deepEqual(listed.json.map((l: { role: string; partnerServer: string }) => [l.role, l.partnerServer]), [["Secondary", g.p1]]);
    // The shared DEK (same wrapped bytes: no decryption happened) is bound to the partner's own server key
    // with the primary protector's material, and the partner's identity unwrapped it to open the secondary.
    const boot = async (server: string) => {
      const id = (await d.c.sql.databases.get(RG, server, "db")).databaseId!;
      return JSON.parse(fs.readFileSync(path.join(d.inst.dataDir, "databases", `${id}.db.boot.json`), "utf8")).dek;
    };
    const [onPrimary, onSecondary] = [await boot(g.p1), await boot(g.p2)];
    assert.equal(onPrimary.protector.kid, g.kid);
    assert.equal(onSecondary.protector.kid, azKid);
    assert.equal(onSecondary.protector.thumbprint, onPrimary.protector.thumbprint);
    assert.equal(onSecondary.value, onPrimary.value);
    // Point-in-time restore is refused on a geo-secondary; az replica set-primary then swaps the roles.
    await assert.rejects(
      d.c.sql.databases.beginCreateOrUpdateAndWait(RG, g.p2, "pitr", { location: "westus", createMode: "PointInTimeRestore", sourceDatabaseId: `${g.serverId(g.p2)}/databases/db`, restorePointInTime: new Date(Date.parse((await d.admin("GET", "/_tdekv/clock")).now)) }, d.c.poll),
      (e: { code?: string }) => e.code === "RestoreNotSupportedForGeoDrSecondary",
    );
    await query(g.p1, "db", "INSERT INTO t (v) VALUES ('before link failover')");
    await ok("sql", "db", "replica", "set-primary", "-g", RG, "-s", g.p2, "-n", "db");
    assert.deepEqual((await links(g.p2)).map((l) => l.role), ["Primary"]);
    assert.equal((await query(g.p2, "db", "SELECT count(*) AS n FROM t"))[0]!.n, 2);
    await ok("sql", "db", "replica", "delete-link", "-g", RG, "-s", g.p2, "-n", "db", "--partner-server", g.p1, "--yes");
    assert.deepEqual(await links(g.p1), []);
    await query(g.p1, "db", "INSERT INTO t (v) VALUES ('standalone again')");
  });
});

describe("T8 forced and automatic failover", () => {
  test("shipping paused, 4 commits, set-primary --allow-data-loss: exactly those 4 are lost and reported; the old primary is reseeded", async () => {
    const g = await geoPair("ff");
    await ok("sql", "failover-group", "create", "-g", RG, "-s", g.p1, "-n", "fg-ff", "--partner-server", g.p2, "--failover-policy", "Manual", "--add-db", "db", "-o", "none");
    for (let i = 0; i < 20; i++) await query(g.p1, "db", "INSERT INTO t (v) VALUES (?)", [`shipped ${i}`]);
    await d.admin("POST", "/_tdekv/geo/pause", { server: g.p1 });
    const shipped = await fingerprint(g.p1, "db");
    for (let i = 0; i < 4; i++) await query(g.p1, "db", "INSERT INTO t (v) VALUES (?)", [`unshipped ${i}`]);
    const status = await d.admin("GET", "/_tdekv/geo/links");
    assert.equal(status.value.find((l: { primary: { serverName: string } }) => l.primary.serverName === g.p1).unshipped, 4);
    await ok("sql", "failover-group", "set-primary", "-g", RG, "-s", g.p2, "-n", "fg-ff", "--allow-data-loss");
    assert.deepEqual(await fingerprint(g.p2, "db"), shipped, "the new primary has exactly the shipped transactions");
    const report = (await fog(g.p2, "fg-ff")).properties.tdekvLastFailover;
    assert.equal(report.kind, "Forced");
    assert.equal(report.lostTransactions, 4);
    assert.equal(report.lostTxids[1] - report.lostTxids[0], 3);
    // The old primary came back as the secondary, reseeded from the new primary: the tail is gone, never merged.
    assert.deepEqual(await fingerprint(g.p1, "db"), shipped);
    await query(g.p2, "db", "INSERT INTO t (v) VALUES ('after forced')");
    await d.admin("POST", "/_tdekv/geo/resume", {});
    assert.deepEqual(await fingerprint(g.p1, "db"), await fingerprint(g.p2, "db"));
  });

  test("Automatic (grace 1 hour): the primary's key lost for 59 minutes fails nothing over; at 60 the secondary is promoted", async () => {
    const g = await geoPair("au");
    const created = await ok("sql", "failover-group", "create", "-g", RG, "-s", g.p1, "-n", "fg-au", "--partner-server", g.p2, "--grace-period", "1", "--add-db", "db", "-o", "json");
    assert.deepEqual(created.json.readWriteEndpoint, { failoverPolicy: "Automatic", failoverWithDataLossGracePeriodMinutes: 60 });
    await query(g.p1, "db", "INSERT INTO t (v) VALUES ('last before the outage')");
    const before = await fingerprint(g.p1, "db");
    // The primary server loses its key: its database goes Inaccessible (the secondary's identity keeps access).
    await d.revoke(g.vault, g.principal1);
    await d.probe();
    assert.equal((await d.c.sql.databases.get(RG, g.p1, "db")).status, "Inaccessible");
    await d.admin("POST", "/_tdekv/backup/pass", {});
    await d.advance("59m");
    assert.deepEqual((await d.admin("POST", "/_tdekv/backup/pass", {})).failedOver, []);
    assert.equal((await fog(g.p2, "fg-au")).properties.replicationRole, "Secondary");
    await d.advance("1m");
    assert.deepEqual((await d.admin("POST", "/_tdekv/backup/pass", {})).failedOver, ["fg-au"]);
    const after = await fog(g.p2, "fg-au");
    assert.equal(after.properties.replicationRole, "Primary");
    assert.equal(after.properties.tdekvLastFailover.kind, "Automatic");
    assert.equal(after.properties.tdekvLastFailover.lostTransactions, 0);
    assert.deepEqual(await fingerprint(g.p2, "db"), before);
    await query(g.p2, "db", "INSERT INTO t (v) VALUES ('served by the new primary')");
  });

  test("failover group rules answer with Azure's codes", async () => {
    const g = await geoPair("rules");
    const put = (server: string, name: string, props: Record<string, unknown>) =>
      d.c.sql.failoverGroups.beginCreateOrUpdateAndWait(RG, server, name, { partnerServers: [{ id: g.serverId(g.p2) }], readWriteEndpoint: { failoverPolicy: "Manual" }, ...props } as any, d.c.poll);
    const code = (c: string) => (e: { code?: string }) => e.code === c;
    await assert.rejects(put(g.p1, "r1", { readWriteEndpoint: { failoverPolicy: "Automatic" } }), code("FailoverGroupCreateOrUpdateRequestInvalidReadWriteEndpointFields"));
    await assert.rejects(put(g.p1, "r1", { readWriteEndpoint: { failoverPolicy: "Automatic", failoverWithDataLossGracePeriodMinutes: 30 } }), code("FailoverGroupCreateOrUpdateRequestLessThanMinimumGracePeriodValues"));
    await assert.rejects(put(g.p1, "r1", { readWriteEndpoint: { failoverPolicy: "Manual", failoverWithDataLossGracePeriodMinutes: 60 } }), code("FailoverGroupCreateOrUpdateRequestInvalidReadWriteEndpointFieldsForManualPolicy"));
    await assert.rejects(put(g.p1, "r1", { partnerServers: [{ id: g.serverId(g.p1) }] }), code("InvalidFailoverGroupRegion"));
    await put(g.p1, "r1", { databases: [`${g.serverId(g.p1)}/databases/db`] });
    await assert.rejects(put(g.p1, "r2", { databases: [`${g.serverId(g.p1)}/databases/db`] }), code("DatabaseBelongsToOtherFailoverGroup"));
    await assert.rejects(put(g.p2, "r1", {}), code("FailoverGroupUpdateOrDeleteRequestOnSecondary"));
    await assert.rejects(d.c.sql.failoverGroups.beginFailoverAndWait(RG, g.p1, "r1", d.c.poll), code("FailoverGroupFailoverRequestOnPrimary"));
    const linkId = (await links(g.p1))[0]!.name!;
    await assert.rejects(d.c.sql.replicationLinks.beginDeleteAndWait(RG, g.p1, "db", linkId, d.c.poll), code("FailoverGroupAlreadySetup"));
    await d.c.sql.failoverGroups.beginDeleteAndWait(RG, g.p1, "r1", d.c.poll);
    assert.equal((await links(g.p1)).length, 1, "deleting the group keeps the link");
  });
});

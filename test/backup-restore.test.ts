import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { Drill, RG, MARKER } from "./lifecycle-kit.js";
import { azCli, type Az } from "./az.js";
import { ROOT } from "./harness.js";

/**
 * Issue 10 T4 and T5: point-in-time restore, restorable dropped databases, copies and short-term retention
 * through @azure/arm-sql and the real az 2.45, and the binding of backups to the protector version that was
 * current when they were taken. A manual clock makes every restore point exact.
 */
let d: Drill;
let az: Az;
let strServer = "";
const MIN = 60_000;

before(async () => {
  d = await Drill.start();
  az = azCli(d.inst, { PYTHONPATH: path.join(ROOT, "test", "fixtures", "azshim") });
  const ep = d.inst.endpoints;
  assert.equal((await az("login", "--service-principal", "-u", ep.clientId, `--password=${ep.clientSecret}`, "--tenant", ep.tenantId, "-o", "none")).code, 0);
});
after(async () => {
  await d.inst.stop();
});

function rejectsWith(status: number, code: string, message?: RegExp) {
  return (e: { statusCode?: number; code?: string; message?: string }) => {
    assert.equal(e.code, code, e.message);
    assert.equal(e.statusCode, status, e.message);
    if (message) assert.match(e.message ?? "", message);
    return true;
  };
}

async function now(): Promise<number> {
  return Date.parse((await d.admin("GET", "/_tdekv/clock")).now);
}

async function rows(server: string, db: string): Promise<string[]> {
  const q = await d.query(server, db, "SELECT v FROM t ORDER BY rowid");
  assert.equal(q.status, 200, q.text);
  return (q.json.rows as { v: string }[]).map((r) => r.v);
}

/** Files holding `needle`; a file removed while scanning (a WAL being checkpointed) is skipped. */
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

describe("T4 ARM and clients", () => {
  test("arm-sql: PointInTimeRestore between two writes, the window, Copy, a dropped database and its Restore", async () => {
    const s = await d.scenario("pitr");
    const sql = d.c.sql;
    const tA = await now();
    await d.advance("2m");
    await d.query(s.server, "db", "INSERT INTO t VALUES ('B')");
    const tB = await now();
    await d.advance("2m");
    const live = await sql.databases.get(RG, s.server, "db");
    const earliest = live.earliestRestoreDate!.getTime();
    assert.ok(earliest <= tA, "earliestRestoreDate is the creation: the archive is continuous");

    const restored = await sql.databases.beginCreateOrUpdateAndWait(RG, s.server, "db-at-a", { location: "eastus", createMode: "PointInTimeRestore", sourceDatabaseId: s.dbId, restorePointInTime: new Date(tA + MIN) }, d.c.poll);
    assert.equal(restored.status, "Online");
    assert.notEqual(restored.databaseId, live.databaseId, "a new database, never an overwrite");
    assert.equal(restored.tags, undefined, "a restore does not restore tags");
    assert.deepEqual(await rows(s.server, "db-at-a"), [MARKER]);
    assert.deepEqual(await rows(s.server, "db"), [MARKER, "B"], "the source is untouched");
    await sql.databases.beginCreateOrUpdateAndWait(RG, s.server, "db-at-b", { location: "eastus", createMode: "PointInTimeRestore", sourceDatabaseId: s.dbId, restorePointInTime: new Date(tB) }, d.c.poll);
    assert.deepEqual(await rows(s.server, "db-at-b"), [MARKER, "B"]);

    const pitr = (restorePointInTime: Date | undefined) => sql.databases.beginCreateOrUpdateAndWait(RG, s.server, "db-bad", { location: "eastus", createMode: "PointInTimeRestore", sourceDatabaseId: s.dbId, restorePointInTime }, d.c.poll);
    await assert.rejects(pitr(new Date(earliest - 1)), rejectsWith(400, "InvalidPointInTime", /^The specified point in time is not valid for the database\.$/));
    await assert.rejects(pitr(new Date((await now()) + MIN)), rejectsWith(400, "InvalidPointInTime"));
    await assert.rejects(pitr(undefined), rejectsWith(400, "MissingRestorePointInTime"));
    await assert.rejects(
      sql.databases.beginCreateOrUpdateAndWait(RG, s.server, "db-at-a", { location: "eastus", createMode: "PointInTimeRestore", sourceDatabaseId: s.dbId, restorePointInTime: new Date(tB) }, d.c.poll),
      rejectsWith(409, "DatabaseAlreadyExists"),
    );
    await assert.rejects(
      sql.databases.beginCreateOrUpdateAndWait(RG, s.server, "db-bad", { location: "eastus", createMode: "PointInTimeRestore", sourceDatabaseId: `${s.dbId}-nope`, restorePointInTime: new Date(tB) }, d.c.poll),
      rejectsWith(400, "InvalidLiveDatabase"),
    );

    const copy = await sql.databases.beginCreateOrUpdateAndWait(RG, s.server, "db-copy", { location: "eastus", createMode: "Copy", sourceDatabaseId: s.dbId }, d.c.poll);
    assert.equal(copy.status, "Online");
    assert.deepEqual(await rows(s.server, "db-copy"), [MARKER, "B"]);

    // Drop a restored database: it is listed with a FILETIME id and restores by that id, as it was.
    await d.query(s.server, "db-at-a", "INSERT INTO t VALUES ('final')");
    await d.advance("1m");
    await sql.databases.beginDeleteAndWait(RG, s.server, "db-at-a", d.c.poll);
    const dropped: any[] = [];
    for await (const r of sql.restorableDroppedDatabases.listByServer(RG, s.server)) dropped.push(r);
    assert.equal(dropped.length, 1);
    const rdd = dropped[0];
    assert.match(rdd.name, /^db-at-a,\d{18}$/);
    const ticks = BigInt(rdd.name.split(",")[1]);
    assert.equal(Number(ticks / 10_000n - 11_644_473_600_000n), rdd.deletionDate.getTime(), "the id is the deletion time as a Windows FILETIME");
    assert.equal(rdd.databaseName, "db-at-a");
    assert.equal((await sql.restorableDroppedDatabases.get(RG, s.server, rdd.name)).databaseName, "db-at-a");
    const back = await sql.databases.beginCreateOrUpdateAndWait(RG, s.server, "db-back", { location: "eastus", createMode: "Restore", sourceDatabaseId: rdd.id }, d.c.poll);
    assert.equal(back.status, "Online");
    assert.deepEqual(await rows(s.server, "db-back"), [MARKER, "final"], "restored as it was when dropped (the final log backup)");
    assert.deepEqual(filesContaining(d.inst.dataDir, MARKER), [], "no plaintext in any database, archive or staging file");
  });

  test("arm-sql: backupShortTermRetentionPolicies/default, 1-35 days, 12 or 24 hours", async () => {
    const s = await d.scenario("str");
    const str = d.c.sql.backupShortTermRetentionPolicies;
    const got = await str.get(RG, s.server, "db", "default");
    assert.deepEqual([got.name, got.retentionDays, got.diffBackupIntervalInHours], ["default", 7, 12]);
    await assert.rejects(
      str.beginCreateOrUpdateAndWait(RG, s.server, "db", "default", { retentionDays: 36 }, d.c.poll),
      rejectsWith(400, "InvalidBackupRetentionPeriod", /^The retention days of 36 is not a valid configuration\. Valid backup retention in days must be between 1 and 35$/),
    );
    await assert.rejects(str.beginCreateOrUpdateAndWait(RG, s.server, "db", "default", { retentionDays: 0 }, d.c.poll), rejectsWith(400, "InvalidBackupRetentionPeriod"));
    await assert.rejects(str.beginCreateOrUpdateAndWait(RG, s.server, "db", "default", { diffBackupIntervalInHours: 6 as any }, d.c.poll), rejectsWith(400, "InvalidDiffBackupIntervalHours"));
    const set = await str.beginCreateOrUpdateAndWait(RG, s.server, "db", "default", { retentionDays: 14, diffBackupIntervalInHours: 24 }, d.c.poll);
    assert.deepEqual([set.retentionDays, set.diffBackupIntervalInHours], [14, 24]);
    const patched = await str.beginUpdateAndWait(RG, s.server, "db", "default", { retentionDays: 3 }, d.c.poll);
    assert.deepEqual([patched.retentionDays, patched.diffBackupIntervalInHours], [3, 24]);
    strServer = s.server;
  });

  test("az 2.45: sql db restore --time (naive UTC), db show, list-deleted, restore --deleted-time, str-policy", async () => {
    const s = await d.scenario("azr");
    const t0 = await now();
    await d.advance("2m");
    await d.query(s.server, "db", "INSERT INTO t VALUES ('later')");
    await d.advance("1m");
    const naive = new Date(t0 + 90_000).toISOString().slice(0, 19);
    const ok = async (...args: string[]) => {
      const r = await az(...args);
      assert.equal(r.code, 0, `az ${args.join(" ")}\n${r.stderr}`);
      return r;
    };
    const restored = await ok("sql", "db", "restore", "-g", RG, "-s", s.server, "-n", "db", "--dest-name", "db-az", "--time", naive, "-o", "json");
    assert.equal(restored.json.name, "db-az");
    assert.equal(restored.json.status, "Online");
    assert.deepEqual(await rows(s.server, "db-az"), [MARKER]);
    const shown = await ok("sql", "db", "show", "-g", RG, "-s", s.server, "-n", "db", "-o", "json");
    assert.match(shown.json.earliestRestoreDate, /^\d{4}-\d\d-\d\dT/);
    await ok("sql", "db", "delete", "-g", RG, "-s", s.server, "-n", "db-az", "--yes");
    const deleted = await ok("sql", "db", "list-deleted", "-g", RG, "-s", s.server, "-o", "json");
    assert.equal(deleted.json.length, 1);
    assert.match(deleted.json[0].name, /^db-az,\d{18}$/);
    const when = String(deleted.json[0].deletionDate).slice(0, 19);
    await ok("sql", "db", "restore", "-g", RG, "-s", s.server, "-n", "db-az", "--dest-name", "db-az2", "--deleted-time", when, "-o", "none");
    assert.deepEqual(await rows(s.server, "db-az2"), [MARKER]);
    const bad = await az("sql", "db", "str-policy", "set", "-g", RG, "-s", s.server, "-n", "db", "--retention-days", "36");
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /\(InvalidBackupRetentionPeriod\) The retention days of 36 is not a valid configuration/);
    await ok("sql", "db", "str-policy", "set", "-g", RG, "-s", s.server, "-n", "db", "--retention-days", "21", "--diffbackup-hours", "24", "-o", "none");
    const policy = await ok("sql", "db", "str-policy", "show", "-g", RG, "-s", s.server, "-n", "db", "-o", "json");
    assert.deepEqual([policy.json.retentionDays, policy.json.diffBackupIntervalInHours], [21, 24]);
    const early = await az("sql", "db", "restore", "-g", RG, "-s", s.server, "-n", "db", "--dest-name", "db-early", "--time", new Date(t0 - 3_600_000).toISOString().slice(0, 19));
    assert.equal(early.code, 1);
    assert.match(early.stderr, /\(InvalidPointInTime\) The specified point in time is not valid for the database\./);
  });
});

describe("T5 the customer-managed key binds each backup", () => {
  test("a restore from before a protector rotation needs the old key version; after it, only the new one", async () => {
    const s = await d.scenario("keys");
    const sql = d.c.sql;
    await d.advance("1m");
    await d.query(s.server, "db", "INSERT INTO t VALUES ('under v1')");
    const t1 = await now();
    await d.advance("1m");
    // Rotate the protector to a new version of the key.
    const kid2 = (await d.c.keys(s.vault).createRsaKey("tde", { keySize: 2048 })).id!;
    const keyName2 = `${s.vault}_tde_${kid2.split("/").pop()}`;
    await sql.serverKeys.beginCreateOrUpdateAndWait(RG, s.server, keyName2, { serverKeyType: "AzureKeyVault", uri: kid2 }, d.c.poll);
    await sql.encryptionProtectors.beginCreateOrUpdateAndWait(RG, s.server, "current", { serverKeyType: "AzureKeyVault", serverKeyName: keyName2 }, d.c.poll);
    await d.advance("1m");
    await d.query(s.server, "db", "INSERT INTO t VALUES ('under v2')");
    const t2 = await now();
    await d.advance("1m");
    const pitr = (name: string, at: number) => sql.databases.beginCreateOrUpdateAndWait(RG, s.server, name, { location: "eastus", createMode: "PointInTimeRestore", sourceDatabaseId: s.dbId, restorePointInTime: new Date(at) }, d.c.poll);

    // Unregister v1 from the server: the backup taken under it cannot be restored, and the error names it.
    await sql.serverKeys.beginDeleteAndWait(RG, s.server, s.keyName, d.c.poll);
    const missing = new RegExp(`^Azure Key Vault key URI '${s.kid.replace(/[.]/g, "\\.")}' is required to successfully restore the database 'db' under server '${s.server}'\\.$`);
    await assert.rejects(pitr("k-before", t1), rejectsWith(400, "MissingKeyVaultUriForRestore", missing));
    await pitr("k-after", t2);
    assert.deepEqual(await rows(s.server, "k-after"), [MARKER, "under v1", "under v2"], "after the rotation only v2 is needed");

    // Back on the server, v1 restores the earlier point again.
    await sql.serverKeys.beginCreateOrUpdateAndWait(RG, s.server, s.keyName, { serverKeyType: "AzureKeyVault", uri: s.kid }, d.c.poll);
    await pitr("k-before", t1);
    assert.deepEqual(await rows(s.server, "k-before"), [MARKER, "under v1"]);

    // Registered but not accessible (disabled in the vault): IncorrectAccessToAzureKeyVault, until enabled.
    const v1 = s.kid.split("/").pop()!;
    await d.c.keys(s.vault).updateKeyProperties("tde", v1, { enabled: false });
    await assert.rejects(pitr("k-denied", t1), rejectsWith(400, "IncorrectAccessToAzureKeyVault", /^Target server does not have access to all AKV Uris created during the backup time\./));
    await d.c.keys(s.vault).updateKeyProperties("tde", v1, { enabled: true });
    await pitr("k-denied", t1);
    assert.deepEqual(await rows(s.server, "k-denied"), [MARKER, "under v1"]);
  });
});

describe("retention moves the window (last: it moves the clock by days)", () => {
  test("with 3 retention days, 4 days later the earliest restore point is 3 days back and older points are refused", async () => {
    const sql = d.c.sql;
    const created = (await sql.databases.get(RG, strServer, "db")).earliestRestoreDate!.getTime();
    await d.advance("4d");
    // Tokens carry tdekv's clock: take fresh ones after moving it by days.
    await d.init();
    const pass = await d.admin("POST", "/_tdekv/backup/pass", {});
    assert.equal(typeof pass.pruned, "number");
    const earliest = (await d.c.sql.databases.get(RG, strServer, "db")).earliestRestoreDate!.getTime();
    assert.equal(earliest, (await now()) - 3 * 86_400_000);
    assert.ok(earliest > created);
    const dbId = `/subscriptions/${d.inst.endpoints.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.Sql/servers/${strServer}/databases/db`;
    await assert.rejects(
      d.c.sql.databases.beginCreateOrUpdateAndWait(RG, strServer, "too-old", { location: "eastus", createMode: "PointInTimeRestore", sourceDatabaseId: dbId, restorePointInTime: new Date(created + 60_000) }, d.c.poll),
      rejectsWith(400, "InvalidPointInTime"),
    );
    const inWindow = await d.c.sql.databases.beginCreateOrUpdateAndWait(RG, strServer, "in-window", { location: "eastus", createMode: "PointInTimeRestore", sourceDatabaseId: dbId, restorePointInTime: new Date(earliest + 60_000) }, d.c.poll);
    assert.equal(inWindow.status, "Online");
    assert.deepEqual(await rows(strServer, "in-window"), [MARKER]);
  });
});

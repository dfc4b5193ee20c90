import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { MonitorClient } from "@azure/arm-monitor";
import { Drill, RG } from "./lifecycle-kit.js";
import { azCli } from "./az.js";
import { ROOT, request, clientToken } from "./harness.js";

/**
 * Issue 5: the 30-minute window (crossed with the manual clock), revalidation success and failure, the
 * settings lost after a late recovery, Resource Health, managed-instance event names, a restart while
 * Inaccessible, and the Activity Log read by @azure/arm-monitor and the real az.
 */
let d: Drill;
before(async () => {
  d = await Drill.start();
});
after(async () => {
  await d.inst.stop();
});

async function health(dbId: string) {
  const token = await clientToken(d.inst, "https://management.azure.com/.default");
  const res = await request(d.inst, "GET", `${dbId}/providers/Microsoft.ResourceHealth/availabilityStatuses/current?api-version=2020-05-01`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200, res.text);
  return res.json.properties.availabilityState as string;
}

describe("past the window: no auto-heal, revalidation, lost tags", () => {
  test("MakeDatabaseInaccessible Succeeded at 30 minutes; access back does not heal; a failed then a successful revalidation", async () => {
    const s = await d.scenario("late");
    await d.revoke(s.vault, s.principal);
    await d.probe();
    assert.equal(await health(s.dbId), "Available", "Available until a connection is denied");
    await d.assertInaccessible(s, "AzureKeyVaultMissingPermissions");
    assert.equal(await health(s.dbId), "Unavailable", "Unavailable once a connection has been denied");
    await d.advance("29m");
    assert.deepEqual(await d.events(s.dbId), ["MakeDatabaseInaccessible/Started"], "still inside the window at 29 minutes");
    await d.advance("2m");
    assert.deepEqual(await d.events(s.dbId), ["MakeDatabaseInaccessible/Started", "MakeDatabaseInaccessible/Succeeded"]);

    // A revalidation while access is still missing fails, and the operation and the event say so.
    await assert.rejects(d.c.sql.encryptionProtectors.beginRevalidateAndWait(RG, s.server, "current", d.c.poll), /AzureKeyVaultMissingPermissions/);
    assert.deepEqual((await d.events(s.dbId)).slice(2), ["MakeDatabaseAccessible/Started", "MakeDatabaseAccessible/Failed"]);

    await d.grant(s.vault, s.principal);
    for (let i = 0; i < 3; i++) await d.probe();
    assert.equal(await d.status(s), "Inaccessible", "past the window, access alone does not heal");

    await d.c.sql.encryptionProtectors.beginRevalidateAndWait(RG, s.server, "current", d.c.poll);
    await d.assertOnline(s);
    assert.deepEqual(await d.events(s.dbId), [
      "MakeDatabaseInaccessible/Started",
      "MakeDatabaseInaccessible/Succeeded",
      "MakeDatabaseAccessible/Started",
      "MakeDatabaseAccessible/Failed",
      "MakeDatabaseAccessible/Started",
      "MakeDatabaseAccessible/Succeeded",
    ]);
    assert.equal((await d.c.sql.databases.get(RG, s.server, "db")).tags, undefined, "the seed: after a late recovery the tags are lost");
    assert.equal(await health(s.dbId), "Available");
    assert.deepEqual(await d.events(s.dbId, "ResourceHealth"), ["Activated/Active", "Resolved/Resolved"]);
  });

  test("the per-database revalidation brings back one database", async () => {
    const s = await d.scenario("perdb");
    await d.revoke(s.vault, s.principal);
    await d.probe();
    await d.advance("31m");
    await d.grant(s.vault, s.principal);
    const token = await clientToken(d.inst, "https://management.azure.com/.default");
    const res = await request(d.inst, "POST", `${s.dbId}/encryptionProtector/current/revalidate?api-version=2022-08-01-preview`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 202);
    const poll = await request(d.inst, "GET", new URL(String(res.headers["azure-asyncoperation"])).pathname + "?api-version=2022-08-01-preview", { headers: { authorization: `Bearer ${token}` } });
    assert.equal(poll.json.status, "Succeeded");
    await d.assertOnline(s);
  });

  test("deleting an inaccessible database is allowed", async () => {
    const s = await d.scenario("drop");
    await d.revoke(s.vault, s.principal);
    await d.probe();
    assert.equal(await d.status(s), "Inaccessible");
    await d.c.sql.databases.beginDeleteAndWait(RG, s.server, "db", d.c.poll);
    await assert.rejects(d.c.sql.databases.get(RG, s.server, "db"), (e: { statusCode?: number }) => e.statusCode === 404);
  });
});

describe("managed instances", () => {
  test("use their own event names", async () => {
    const s = await d.scenario("mi", { managed: true });
    await d.revoke(s.vault, s.principal);
    await d.probe();
    assert.equal(await d.status(s), "Inaccessible");
    await d.advance("31m");
    await d.grant(s.vault, s.principal);
    await d.c.sql.managedInstanceEncryptionProtectors.beginRevalidateAndWait(RG, s.server, "current", d.c.poll);
    assert.equal(await d.status(s), "Online");
    assert.deepEqual(await d.events(s.dbId), ["MakeManagedDbInaccessible/Started", "MakeManagedDbInaccessible/Succeeded", "MakeManagedDatabaseAccessible/Started", "MakeManagedDatabaseAccessible/Succeeded"]);
  });
});

describe("restart", () => {
  test("a database stays Inaccessible across a restart, with its file closed, until revalidated", async () => {
    const s = await d.scenario("restart");
    await d.revoke(s.vault, s.principal);
    await d.probe();
    await d.advance("31m");
    await d.restart();
    assert.equal(await d.status(s), "Inaccessible");
    assert.equal((await d.query(s.server, "db", "SELECT v FROM t")).json.error.code, "40613");
    await d.grant(s.vault, s.principal);
    await d.c.sql.encryptionProtectors.beginRevalidateAndWait(RG, s.server, "current", d.c.poll);
    await d.assertOnline(s);
  });

  test("a key lost while tdekv was down: the start-time open is a probe", async () => {
    const s = await d.scenario("cold");
    // The policy goes and tdekv restarts before any probe ran: opening the file at start finds it out.
    await d.revoke(s.vault, s.principal);
    await d.restart();
    assert.match(d.inst.stdout(), /1 closed: key unreachable \(missing-permissions\)|closed: key unreachable/);
    assert.equal(await d.status(s), "Inaccessible");
  });
});

describe("the Activity Log through real clients", () => {
  test("@azure/arm-monitor lists the seed's events with Azure's $filter", async () => {
    const monitor = new MonitorClient(d.c.credential, d.inst.endpoints.subscriptionId, { endpoint: d.inst.endpoints.armEndpoint, tlsOptions: { ca: d.inst.ca.toString() } } as any);
    const from = new Date(Date.now() - 7 * 86_400_000).toISOString();
    const seen: string[] = [];
    for await (const e of monitor.activityLogs.list(`eventTimestamp ge '${from}' and resourceGroupName eq '${RG}' and status eq 'Succeeded'`)) seen.push(`${e.eventName?.value}/${e.status?.value}`);
    assert.ok(seen.includes("MakeDatabaseInaccessible/Succeeded"));
    assert.ok(seen.every((x) => x.endsWith("/Succeeded")));
  });

  test("az monitor activity-log list, and a revalidation through az rest, via the proxy", async () => {
    const az = azCli(d.inst, { PYTHONPATH: path.join(ROOT, "test", "fixtures", "azshim") });
    const ep = d.inst.endpoints;
    assert.equal((await az("login", "--service-principal", "-u", ep.clientId, "-p", ep.clientSecret, "--tenant", ep.tenantId, "-o", "none")).code, 0);
    const s = await d.scenario("azrev");
    await d.revoke(s.vault, s.principal);
    await d.probe();
    await d.advance("31m");
    await d.grant(s.vault, s.principal);
    // az 2.45 has no `sql server tde-key revalidate` (newer az does); `az rest` sends the same POST.
    const serverId = s.dbId.replace(/\/databases\/db$/, "");
    const rev = await az("rest", "--method", "post", "--url", `https://management.azure.com${serverId}/encryptionProtector/current/revalidate?api-version=2020-11-01-preview`);
    assert.equal(rev.code, 0, rev.stderr);
    assert.equal((await az("sql", "db", "show", "-g", RG, "-s", s.server, "-n", "db", "--query", "status", "-o", "tsv")).stdout.trim(), "Online");
    // The manual clock ran ahead of the real one, so give az the window explicitly, in tdekv's time.
    const clockNow = Date.parse((await d.admin("GET", "/_tdekv/clock")).now);
    const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");
    const log = await az("monitor", "activity-log", "list", "--resource-id", s.dbId, "--start-time", iso(clockNow - 86_400_000), "--end-time", iso(clockNow + 60_000), "--query", "[].{event:eventName.value,status:status.value,desc:description}", "-o", "json");
    assert.equal(log.code, 0, log.stderr);
    const rows = (log.json as { event: string; status: string; desc: string }[]).reverse();
    assert.deepEqual(rows.map((r) => `${r.event}/${r.status}`), ["MakeDatabaseInaccessible/Started", "MakeDatabaseInaccessible/Succeeded", "MakeDatabaseAccessible/Started", "MakeDatabaseAccessible/Succeeded"]);
    assert.equal(rows[0]!.desc, `Database db on Server ${s.server} has lost access to Azure Key Vault Key and is now transitioning to inaccessible state.`);
    assert.equal(rows[1]!.desc, "Database is inaccessible and requires user to resolve Azure key vault errors and reestablish access to Azure key vault key using Re-validate key.");
  });
});

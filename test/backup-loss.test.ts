import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { Drill, RG, MARKER } from "./lifecycle-kit.js";

/**
 * Issue 10 T9, the seed's loss rule: "Once the database is back online, previously configured settings such
 * as failover group, PITR history, and any tags will be lost." A revalidation after the 30-minute window
 * drops the restore history before it, the failover group membership and the replication links on both
 * servers, and the tags; an auto-heal inside the window keeps all four.
 */
let d: Drill;
before(async () => {
  d = await Drill.start();
});
after(async () => {
  await d.inst.stop();
});

async function now(): Promise<number> {
  return Date.parse((await d.admin("GET", "/_tdekv/clock")).now);
}

/** A CMK database with history, a failover group (partner in another region, same key material) and tags. */
async function setup(name: string) {
  const s = await d.scenario(name);
  const sql = d.c.sql;
  const partner = `${s.server}-geo`;
  const principal2 = (await sql.servers.beginCreateOrUpdateAndWait(RG, partner, { location: "westus", administratorLogin: "admin1", administratorLoginPassword: "Str0ng!Passw0rd", identity: { type: "SystemAssigned" } }, d.c.poll)).identity!.principalId!;
  await d.grant(s.vault, principal2);
  await sql.serverKeys.beginCreateOrUpdateAndWait(RG, partner, s.keyName, { serverKeyType: "AzureKeyVault", uri: s.kid }, d.c.poll);
  await d.advance("2m");
  await d.query(s.server, "db", "INSERT INTO t VALUES ('history')");
  const preIncident = await now();
  await d.advance("2m");
  const serverId = s.dbId.slice(0, s.dbId.lastIndexOf("/databases/"));
  const partnerId = serverId.replace(/\/servers\/[^/]+$/, `/servers/${partner}`);
  await sql.failoverGroups.beginCreateOrUpdateAndWait(RG, s.server, `fg-${name}`, { partnerServers: [{ id: partnerId }], readWriteEndpoint: { failoverPolicy: "Manual" }, databases: [s.dbId] }, d.c.poll);
  const before = await settings(s.server, partner, `fg-${name}`);
  assert.deepEqual(before.groups, [[s.dbId.toLowerCase()], [`${partnerId}/databases/db`.toLowerCase()]]);
  assert.deepEqual(before.links, [1, 1]);
  assert.deepEqual(before.tags, { owner: "team-a" });
  return { ...s, partner, preIncident, fog: `fg-${name}` };
}

/** What the seed says is lost: group membership on both servers, links on both, tags, and the window. */
async function settings(server: string, partner: string, fog: string) {
  const sql = d.c.sql;
  const members = async (srv: string) => {
    const out: string[] = [];
    for await (const g of sql.failoverGroups.listByServer(RG, srv)) if (g.name === fog) out.push(...(g.databases ?? []).map((x) => x.toLowerCase()));
    return out;
  };
  const linkCount = async (srv: string) => {
    let n = 0;
    for await (const _ of sql.replicationLinks.listByDatabase(RG, srv, "db")) n++;
    return n;
  };
  const db = await sql.databases.get(RG, server, "db");
  return { groups: [await members(server), await members(partner)], links: [await linkCount(server), await linkCount(partner)], tags: db.tags, earliest: db.earliestRestoreDate!.getTime() };
}

const pitr = (s: { server: string; dbId: string }, name: string, at: number) =>
  d.c.sql.databases.beginCreateOrUpdateAndWait(RG, s.server, name, { location: "eastus", createMode: "PointInTimeRestore", sourceDatabaseId: s.dbId, restorePointInTime: new Date(at) }, d.c.poll);

describe("T9 the seed's loss rule", () => {
  test("revalidated after 31 minutes: history, failover group, links and tags are gone on both servers", async () => {
    const s = await setup("late");
    await d.revoke(s.vault, s.principal);
    await d.probe();
    assert.equal(await d.status(s), "Inaccessible");
    await d.advance("31m");
    await d.grant(s.vault, s.principal);
    await d.c.sql.encryptionProtectors.beginRevalidateAndWait(RG, s.server, "current", d.c.poll);
    const revalidatedAt = await now();
    assert.equal(await d.status(s), "Online");
    const after = await settings(s.server, s.partner, s.fog);
    assert.ok(after.earliest >= revalidatedAt, "earliestRestoreDate becomes the revalidation time");
    assert.deepEqual(after.groups, [[], []], "the failover group lists the database on neither server");
    assert.deepEqual(after.links, [0, 0], "no replication link on either server");
    assert.equal(after.tags, undefined, "tags are cleared");
    await assert.rejects(pitr(s, "pre-incident", s.preIncident), (e: { code?: string; statusCode?: number }) => e.code === "InvalidPointInTime" && e.statusCode === 400);
    // The data itself is all there, and the new history restores it.
    await pitr(s, "post-incident", revalidatedAt);
    const q = await d.query(s.server, "post-incident", "SELECT v FROM t ORDER BY rowid");
    assert.deepEqual(q.json.rows, [{ v: MARKER }, { v: "history" }]);
    // The former secondary is a standalone read-write database now.
    const w = await d.query(s.partner, "db", "INSERT INTO t VALUES ('standalone')");
    assert.equal(w.status, 200, w.text);
  });

  test("healed inside the window (29 minutes): history, failover group, links and tags are kept", async () => {
    const s = await setup("heal");
    await d.revoke(s.vault, s.principal);
    await d.probe();
    assert.equal(await d.status(s), "Inaccessible");
    await d.advance("29m");
    await d.grant(s.vault, s.principal);
    for (let i = 0; i < 2; i++) await d.probe();
    assert.equal(await d.status(s), "Online");
    const after = await settings(s.server, s.partner, s.fog);
    assert.ok(after.earliest <= s.preIncident, "the history before the incident is kept");
    assert.equal(after.groups[0]!.length, 1);
    assert.equal(after.groups[1]!.length, 1);
    assert.deepEqual(after.links, [1, 1]);
    assert.deepEqual(after.tags, { owner: "team-a" });
    await pitr(s, "pre-incident", s.preIncident);
    const q = await d.query(s.server, "pre-incident", "SELECT v FROM t ORDER BY rowid");
    assert.deepEqual(q.json.rows, [{ v: MARKER }, { v: "history" }]);
    // Replication resumes after the heal.
    await d.query(s.server, "db", "INSERT INTO t VALUES ('after heal')");
    await d.admin("POST", "/_tdekv/geo/resume", {});
    const r = await d.query(s.partner, "db", "SELECT count(*) AS n FROM t");
    assert.equal(r.json.rows[0].n, 3);
  });
});

import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { SqlManagementClient } from "@azure/arm-sql";
import { Drill, RG } from "./lifecycle-kit.js";

/**
 * Issue 5: every cause in the seed, each made with the real operation (or, for the ones no Azure operation
 * can cause, the chaos fault), takes the database Inaccessible with the seed's code, refuses connections with
 * 40613, logs the seed's events, and heals inside the window once fixed.
 */
let d: Drill;
before(async () => {
  d = await Drill.start();
});
after(async () => {
  await d.inst.stop();
});

type S = Awaited<ReturnType<Drill["scenario"]>>;
const now = async () => Date.parse((await d.admin("GET", "/_tdekv/clock")).now);

const causes: { name: string; code: string; transient?: boolean; break(s: S): Promise<void>; fix(s: S): Promise<void> }[] = [
  {
    name: "policy-revoked",
    code: "AzureKeyVaultMissingPermissions",
    break: (s) => d.revoke(s.vault, s.principal),
    fix: (s) => d.grant(s.vault, s.principal),
  },
  {
    name: "policy-insufficient",
    code: "AzureKeyVaultMissingPermissions",
    async break(s) {
      await d.revoke(s.vault, s.principal);
      await d.grant(s.vault, s.principal, ["get", "wrapKey"]);
    },
    fix: (s) => d.grant(s.vault, s.principal, ["get", "wrapKey", "unwrapKey"]),
  },
  {
    name: "key-disabled",
    code: "AzureKeyVaultKeyDisabled",
    break: async (s) => void (await d.c.keys(s.vault).updateKeyProperties("tde", s.kid.split("/").pop()!, { enabled: false })),
    fix: async (s) => void (await d.c.keys(s.vault).updateKeyProperties("tde", s.kid.split("/").pop()!, { enabled: true })),
  },
  {
    name: "key-expired",
    code: "AzureKeyVaultInvalidExpirationDate",
    async break(s) {
      await d.c.keys(s.vault).updateKeyProperties("tde", s.kid.split("/").pop()!, { expiresOn: new Date((await now()) + 60_000) });
      await d.advance("2m");
    },
    fix: async (s) => void (await d.c.keys(s.vault).updateKeyProperties("tde", s.kid.split("/").pop()!, { expiresOn: new Date((await now()) + 86_400_000) })),
  },
  {
    name: "key-deleted",
    code: "ServerKeyNotFound",
    break: async (s) => void (await (await d.c.keys(s.vault).beginDeleteKey("tde", { intervalInMs: 10 })).pollUntilDone()),
    fix: async (s) => void (await (await d.c.keys(s.vault).beginRecoverDeletedKey("tde", { intervalInMs: 10 })).pollUntilDone()),
  },
  {
    name: "vault-deleted",
    code: "AzureKeyVaultConnectionFailed",
    break: async (s) => void (await d.c.kvm.vaults.delete(RG, s.vault)),
    fix: async (s) =>
      void (await d.c.kvm.vaults.beginCreateOrUpdateAndWait(RG, s.vault, { location: "eastus", properties: { tenantId: d.tenantId, sku: { family: "A", name: "standard" }, createMode: "recover" } } as any, d.c.poll as any)),
  },
  {
    name: "firewall",
    code: "AzureKeyVaultConnectionFailed",
    break: async (s) => void (await d.c.kvm.vaults.update(RG, s.vault, { properties: { networkAcls: { defaultAction: "Deny", bypass: "None", ipRules: [], virtualNetworkRules: [] } } } as any)),
    fix: async (s) => void (await d.c.kvm.vaults.update(RG, s.vault, { properties: { networkAcls: { defaultAction: "Deny", bypass: "AzureServices", ipRules: [], virtualNetworkRules: [] } } } as any)),
  },
  {
    name: "identity-deleted",
    code: "AzureKeyVaultNoServerIdentity",
    break: async (s) => void (await d.c.sql.servers.beginCreateOrUpdateAndWait(RG, s.server, { location: "eastus", identity: { type: "None" } }, d.c.poll)),
    async fix(s) {
      const fresh = (await d.c.sql.servers.beginCreateOrUpdateAndWait(RG, s.server, { location: "eastus", identity: { type: "SystemAssigned" } }, d.c.poll)).identity!.principalId!;
      assert.notEqual(fresh, s.principal, "a new identity is a new principal");
      await d.grant(s.vault, fresh);
    },
  },
  { name: "vault-unreachable", code: "AzureKeyVaultConnectionFailed", transient: true, break: (s) => d.fault(s.vault, "unreachable"), fix: () => d.clearFaults() },
  { name: "vault-5xx", code: "AzureKeyVaultConnectionFailed", transient: true, break: (s) => d.fault(s.vault, "5xx"), fix: () => d.clearFaults() },
  { name: "vault-slow", code: "AzureKeyVaultConnectionFailed", transient: true, break: (s) => d.fault(s.vault, "slow", { delay: "1s" }), fix: () => d.clearFaults() },
  { name: "vault-intermittent", code: "AzureKeyVaultConnectionFailed", transient: true, break: (s) => d.fault(s.vault, "intermittent", { rate: 1 }), fix: () => d.clearFaults() },
];

describe("each seed cause: Inaccessible with its code, 40613, events, and auto-heal within the window", () => {
  for (const cause of causes) {
    test(cause.name, async () => {
      const s = await d.scenario(cause.name);
      await d.probe();
      assert.equal(await d.status(s), "Online");
      await cause.break(s);
      if (cause.transient) {
        // A blip is not a loss: two failed probes in a row leave the database online.
        await d.probe();
        await d.probe();
        assert.equal(await d.status(s), "Online", "still online after two failed probes");
      }
      await d.probe();
      await d.assertInaccessible(s, cause.code);
      assert.deepEqual(await d.events(s.dbId), ["MakeDatabaseInaccessible/Started"]);
      const listed = [];
      for await (const x of d.c.sql.databases.listInaccessibleByServer(RG, s.server)) listed.push(x.name);
      assert.deepEqual(listed, ["db"]);
      // Only DELETE is allowed; other operations get a clear 4xx.
      await assert.rejects(d.c.sql.databases.beginUpdateAndWait(RG, s.server, "db", { tags: { x: "y" } }, d.c.poll), (e: { statusCode?: number; code?: string }) => e.statusCode === 400 && e.code === "DatabaseInaccessible");
      await assert.rejects(
        d.c.sql.encryptionProtectors.beginCreateOrUpdateAndWait(RG, s.server, "current", { serverKeyType: "ServiceManaged", serverKeyName: "ServiceManaged" }, d.c.poll),
        (e: { statusCode?: number; code?: string }) => e.statusCode === 400 && e.code === "CMKOperationNotAllowed",
      );
      await d.advance("10m");
      await cause.fix(s);
      await d.probe();
      await d.probe();
      await d.assertOnline(s);
      assert.deepEqual(await d.events(s.dbId), ["MakeDatabaseInaccessible/Started", "MakeDatabaseAccessible/Started", "MakeDatabaseAccessible/Succeeded"]);
      assert.deepEqual((await d.c.sql.databases.get(RG, s.server, "db")).tags, { owner: "team-a" }, "an auto-heal keeps the tags");
    });
  }

  test("a low intermittent failure rate never takes the database down (no flapping)", async () => {
    const s = await d.scenario("blips");
    await d.fault(s.vault, "intermittent", { rate: 0.05 });
    for (let i = 0; i < 25; i++) await d.probe();
    await d.clearFaults();
    assert.equal(await d.status(s), "Online");
    assert.deepEqual(await d.events(s.dbId), []);
  });
});

describe("moved: to another subscription, then its subscription to another tenant", () => {
  test("a server moved to another subscription loses its identity until a new one is assigned", async () => {
    const s = await d.scenario("mover");
    const sub2 = (await d.admin("POST", "/_tdekv/subscriptions", { displayName: "second" })).id as string;
    const sql2 = new SqlManagementClient(d.c.credential, sub2, { endpoint: d.inst.endpoints.armEndpoint, tlsOptions: { ca: d.inst.ca.toString() }, retryOptions: { maxRetries: 0 }, credentialScopes: ["https://management.azure.com/.default"] });
    const rm2 = (await import("@azure/arm-resources")).ResourceManagementClient;
    await new rm2(d.c.credential, sub2, { endpoint: d.inst.endpoints.armEndpoint, tlsOptions: { ca: d.inst.ca.toString() } }).resourceGroups.createOrUpdate("rg2", { location: "eastus" });
    const serverId = (await d.c.sql.servers.get(RG, s.server)).id!;
    await d.c.rm.resources.beginMoveResourcesAndWait(RG, { resources: [serverId], targetResourceGroup: `/subscriptions/${sub2}/resourceGroups/rg2` }, d.c.poll);
    const moved = { ...s, dbId: `/subscriptions/${sub2}/resourceGroups/rg2/providers/Microsoft.Sql/servers/${s.server}/databases/db` };
    await d.probe();
    assert.equal((await sql2.databases.get("rg2", s.server, "db")).status, "Inaccessible");
    const probe = await d.probe();
    assert.equal((probe.failing as { server: string; code: string }[]).find((f) => f.server === s.server)?.code, "AzureKeyVaultNoServerIdentity");
    const fresh = (await sql2.servers.beginCreateOrUpdateAndWait("rg2", s.server, { location: "eastus", identity: { type: "SystemAssigned" } }, d.c.poll)).identity!.principalId!;
    await d.grant(s.vault, fresh);
    await d.probe();
    await d.probe();
    assert.equal((await sql2.databases.get("rg2", s.server, "db")).status, "Online");
    assert.deepEqual((await d.query(s.server, "db", "SELECT v FROM t")).json.rows.length, 1);
    void moved;

    // Transfer that subscription to another tenant: its managed identities do not survive the move.
    const tenant2 = await d.admin("POST", "/_tdekv/tenants", { displayName: "Fabrikam" });
    await d.admin("PUT", `/_tdekv/subscriptions/${sub2}/tenant`, { tenantId: tenant2.tenantId });
    await d.probe();
    const afterTenantMove = await d.probe();
    assert.equal((afterTenantMove.failing as { server: string; code: string }[]).find((f) => f.server === s.server)?.code, "AzureKeyVaultNoServerIdentity");
  });
});

import assert from "node:assert/strict";
import { decodeJwt } from "jose";
import type { Page } from "playwright-core";
import { clientToken, request } from "../harness.js";
import type { PortalSuite } from "./harness.js";
import { createVault, updateKeyPolicy, type VaultFixtureContext } from "../lifecycle-kit.js";

/**
 * Fixtures for the SQL page suites (portal.md §3.8 #3, #6–#9), seeded through the official SDKs like
 * test/lifecycle-kit.ts: a vault and key, a server with a system-assigned identity granted get/wrapKey/unwrapKey,
 * the key as TDE protector, and one database with tags. Faults and minutes are driven through the public
 * APIs and tdekv's admin routes (manual clock, explicit probes): nothing waits on time.
 */
export const RG = "portal-sql";

export class SqlKit {
  adminOid = "";
  private constructor(readonly s: PortalSuite) {}

  static async start(s: PortalSuite): Promise<SqlKit> {
    const k = new SqlKit(s);
    k.adminOid = decodeJwt(await clientToken(s.inst, "https://management.azure.com/.default")).oid as string;
    await s.sdk.rm.resourceGroups.createOrUpdate(RG, { location: "eastus" });
    return k;
  }

  get tenantId(): string {
    return this.s.inst.endpoints.tenantId;
  }

  get sub(): string {
    return this.s.inst.endpoints.subscriptionId;
  }

  probe() {
    return this.s.admin("POST", "/_tdekv/health/probe", {});
  }

  advance(by: string) {
    return this.s.admin("POST", "/_tdekv/clock/advance", { by });
  }

  private get fixtures(): VaultFixtureContext {
    return { c: this.s.sdk, rg: RG, tenantId: this.tenantId, adminOid: this.adminOid };
  }

  vault(name: string, extraPolicies: { objectId: string; keys: string[] }[] = []) {
    return createVault(this.fixtures, name, { extraPolicies });
  }

  grant(vault: string, objectId: string, keys = ["get", "wrapKey", "unwrapKey"]) {
    return updateKeyPolicy(this.fixtures, vault, objectId, "add", keys);
  }

  revoke(vault: string, objectId: string) {
    return updateKeyPolicy(this.fixtures, vault, objectId, "remove");
  }

  /** A server with a system-assigned identity, and no customer-managed key yet. */
  async server(name: string) {
    const s = await this.s.sdk.sql.servers.beginCreateOrUpdateAndWait(RG, name, { location: "eastus", administratorLogin: "admin1", administratorLoginPassword: "Str0ng!Passw0rd", identity: { type: "SystemAssigned" } }, this.s.sdk.poll);
    return { id: s.id!, principal: s.identity!.principalId! };
  }

  /** Vault + key + server (granted) + CMK protector + database `db` with tags owner=team-a, env=drill. */
  async scenario(name: string) {
    const vault = `kv-${name}`;
    await this.vault(vault);
    const kid = (await this.s.sdk.keys(vault).createRsaKey("tde", { keySize: 2048 })).id!;
    const keyName = `${vault}_tde_${kid.split("/").pop()}`;
    const server = `srv-${name}`;
    const { id: serverId, principal } = await this.server(server);
    await this.grant(vault, principal);
    const sql = this.s.sdk.sql;
    await sql.serverKeys.beginCreateOrUpdateAndWait(RG, server, keyName, { serverKeyType: "AzureKeyVault", uri: kid }, this.s.sdk.poll);
    await sql.encryptionProtectors.beginCreateOrUpdateAndWait(RG, server, "current", { serverKeyType: "AzureKeyVault", serverKeyName: keyName }, this.s.sdk.poll);
    const db = await sql.databases.beginCreateOrUpdateAndWait(RG, server, "db", { location: "eastus", tags: { owner: "team-a", env: "drill" } }, this.s.sdk.poll);
    return { vault, kid, keyName, server, serverId, principal, dbId: db.id! };
  }

  async status(server: string): Promise<string> {
    return (await this.s.sdk.sql.databases.get(RG, server, "db")).status!;
  }

  /** A connection to an inaccessible database is refused with 40613, which turns Resource Health Unavailable. */
  async deniedLogin(server: string) {
    const token = await clientToken(this.s.inst, "https://management.azure.com/.default");
    const res = await request(this.s.inst, "POST", "/_tdekv/sql/query", { headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ server, database: "db", sql: "SELECT 1" }) });
    assert.equal(res.status, 503, res.text);
    assert.equal(res.json.error.code, "40613");
  }
}

/**
 * Opens `hash` in the signed-in page and returns the user's object id, read from the ARM bearer the page
 * sends for it (decoded here, never logged).
 */
export async function openAndGetOid(page: Page, s: PortalSuite, hash: string): Promise<string> {
  const req = page.waitForRequest((r) => r.url().startsWith(`${s.portalOrigin}/subscriptions`) && !!r.headers().authorization);
  await page.evaluate((h) => {
    location.hash = h;
  }, hash);
  const auth = (await req).headers().authorization!;
  return decodeJwt(auth.replace(/^Bearer\s+/i, "")).oid as string;
}

/** Moves the signed-in page to another hash route (no reload: tokens live in memory only). */
export async function go(page: Page, hash: string): Promise<void> {
  await page.evaluate((h) => {
    location.hash = h;
  }, hash);
}

/** The hash of a resource blade, as the portal's router writes it. */
export const bladeHash = (id: string, blade?: string) => `#/resource${id}${blade ? `/${blade}` : ""}`;

/**
 * An action group with one webhook (common alert schema) and an activity-log alert rule on the seed's database
 * writes in the kit's resource group, like test/alerts-e2e.test.ts, through @azure/arm-monitor.
 */
export async function alertOnDatabaseWrites(s: PortalSuite, hookUrl: string): Promise<void> {
  const { MonitorClient } = await import("@azure/arm-monitor");
  const ep = s.inst.endpoints;
  const monitor = new MonitorClient(s.sdk.credential, ep.subscriptionId, { endpoint: ep.armEndpoint, tlsOptions: { ca: s.inst.ca.toString() }, retryOptions: { maxRetries: 0 } } as any);
  const scope = `/subscriptions/${ep.subscriptionId}/resourceGroups/${RG}`;
  await monitor.actionGroups.createOrUpdate(RG, "tde-ag", { location: "Global", groupShortName: "tde-ag", enabled: true, webhookReceivers: [{ name: "oncall", serviceUri: `${hookUrl}/oncall`, useCommonAlertSchema: true }] });
  await monitor.activityLogAlerts.createOrUpdate(RG, "tde-rule", {
    location: "Global",
    scopes: [scope],
    enabled: true,
    condition: { allOf: [{ field: "category", equals: "Administrative" }, { field: "operationName", equals: "Microsoft.Sql/servers/databases/write" }] },
    actions: { actionGroups: [{ actionGroupId: `${scope}/providers/microsoft.insights/actionGroups/tde-ag` }] },
  });
}

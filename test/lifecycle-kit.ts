import assert from "node:assert/strict";
import { decodeJwt } from "jose";
import { startInstance, request, clientToken, type Instance } from "./harness.js";
import { sdkClients } from "./clients.js";

/**
 * Shared drill kit for the lifecycle suites: a tdekv with a manual clock and the background probe off, so
 * every probe pass and every minute of the autoheal window is driven explicitly (no waits, no timing).
 */
export const RG = "life-rg";
export const MARKER = "LIFECYCLE-MARKER-77e1";

/** Who makes the Key Vault fixtures: the SDK clients, the resource group, the tenant and the admin's object id. */
export interface VaultFixtureContext {
  c: ReturnType<typeof sdkClients>;
  rg: string;
  tenantId: string;
  adminOid: string;
}

/**
 * A vault with soft delete and purge protection whose admin may do anything with keys, plus `extraPolicies`
 * (shared by the lifecycle Drill and the portal's SqlKit).
 */
export async function createVault(f: VaultFixtureContext, name: string, opts: { rbac?: boolean; extraPolicies?: { objectId: string; keys: string[] }[] } = {}): Promise<void> {
  await f.c.kvm.vaults.beginCreateOrUpdateAndWait(
    f.rg,
    name,
    {
      location: "eastus",
      properties: {
        tenantId: f.tenantId,
        sku: { family: "A", name: "standard" },
        accessPolicies: [
          { tenantId: f.tenantId, objectId: f.adminOid, permissions: { keys: ["all"] } },
          ...(opts.extraPolicies ?? []).map((p) => ({ tenantId: f.tenantId, objectId: p.objectId, permissions: { keys: p.keys } })),
        ],
        enableSoftDelete: true,
        enablePurgeProtection: true,
        ...(opts.rbac ? { enableRbacAuthorization: true } : {}),
      },
    } as any,
    f.c.poll as any,
  );
}

/** Adds (`add`) or removes (`remove`) an object's key permissions on a vault, through the management API. */
export async function updateKeyPolicy(f: VaultFixtureContext, vault: string, objectId: string, op: "add" | "remove", keys: string[] = []): Promise<void> {
  await f.c.kvm.vaults.updateAccessPolicy(f.rg, vault, op, { properties: { accessPolicies: [{ tenantId: f.tenantId, objectId, permissions: { keys } }] } } as any);
}

export class Drill {
  c!: ReturnType<typeof sdkClients>;
  tenantId!: string;
  adminOid!: string;
  private constructor(public inst: Instance) {}

  static async start(extra: string[] = []): Promise<Drill> {
    const inst = await startInstance({ args: ["--clock", "manual", "--probe-interval", "3600", "--vault-timeout", "0.3", "--token-lifetime", "86400", ...extra] });
    const d = new Drill(inst);
    await d.init();
    await d.c.rm.resourceGroups.createOrUpdate(RG, { location: "eastus" });
    return d;
  }

  async init(): Promise<void> {
    this.c = sdkClients(this.inst);
    this.tenantId = this.inst.endpoints.tenantId;
    this.adminOid = decodeJwt(await clientToken(this.inst, "https://management.azure.com/.default")).oid as string;
  }

  async restart(extra: string[] = []): Promise<void> {
    assert.equal(await this.inst.stop(), 0);
    this.inst = await startInstance({ dataDir: this.inst.dataDir, args: ["--clock", "manual", "--probe-interval", "3600", "--vault-timeout", "0.3", "--token-lifetime", "86400", ...extra] });
    await this.init();
  }

  async admin(method: string, path: string, body?: unknown) {
    const token = await clientToken(this.inst, "https://management.azure.com/.default");
    const res = await request(this.inst, method, path, { headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${res.text}`);
    return res.json;
  }

  probe() {
    return this.admin("POST", "/_tdekv/health/probe", {});
  }
  advance(by: string) {
    return this.admin("POST", "/_tdekv/clock/advance", { by });
  }
  fault(vault: string, kind: string, extra: Record<string, unknown> = {}) {
    return this.admin("PUT", `/_tdekv/chaos/faults/${vault}`, { kind, ...extra });
  }
  clearFaults() {
    return this.admin("DELETE", "/_tdekv/chaos/faults");
  }

  async query(server: string, db: string, sql: string, params: unknown[] = []) {
    const token = await clientToken(this.inst, "https://management.azure.com/.default");
    return request(this.inst, "POST", "/_tdekv/sql/query", { headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ server, database: db, sql, params }) });
  }

  /** The database's Activity Log, oldest first, as `EventName/Status`. */
  async events(dbId: string, category = "Administrative"): Promise<string[]> {
    const token = await clientToken(this.inst, "https://management.azure.com/.default");
    const filter = `eventTimestamp ge '2000-01-01T00:00:00Z' and resourceId eq '${dbId}'`;
    const res = await request(this.inst, "GET", `/subscriptions/${this.inst.endpoints.subscriptionId}/providers/Microsoft.Insights/eventtypes/management/values?api-version=2015-04-01&$filter=${encodeURIComponent(filter)}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(res.status, 200, res.text);
    return (res.json.value as { category: { value: string }; eventName: { value: string }; status: { value: string } }[])
      .filter((e) => e.category.value === category)
      .reverse()
      .map((e) => `${e.eventName.value}/${e.status.value}`);
  }

  private get fixtures(): VaultFixtureContext {
    return { c: this.c, rg: RG, tenantId: this.tenantId, adminOid: this.adminOid };
  }

  vault(name: string, opts: { rbac?: boolean } = {}) {
    return createVault(this.fixtures, name, opts);
  }

  grant(vault: string, objectId: string, keys = ["get", "wrapKey", "unwrapKey"]) {
    return updateKeyPolicy(this.fixtures, vault, objectId, "add", keys);
  }

  revoke(vault: string, objectId: string) {
    return updateKeyPolicy(this.fixtures, vault, objectId, "remove");
  }

  /** Vault + key + server (system identity, granted) + CMK protector + one database with a row and tags. */
  async scenario(name: string, opts: { managed?: boolean } = {}) {
    const vault = `kv-${name}`;
    await this.vault(vault);
    const kid = (await this.c.keys(vault).createRsaKey("tde", { keySize: 2048 })).id!;
    const keyName = `${vault}_tde_${kid.split("/").pop()}`;
    const sql = this.c.sql;
    const server = `srv-${name}`;
    let principal: string;
    if (opts.managed) {
      principal = (await sql.managedInstances.beginCreateOrUpdateAndWait(RG, server, { location: "eastus", administratorLogin: "admin1", administratorLoginPassword: "Str0ng!Passw0rd", identity: { type: "SystemAssigned" } }, this.c.poll)).identity!.principalId!;
      await this.grant(vault, principal);
      await sql.managedInstanceKeys.beginCreateOrUpdateAndWait(RG, server, keyName, { serverKeyType: "AzureKeyVault", uri: kid }, this.c.poll);
      await sql.managedInstanceEncryptionProtectors.beginCreateOrUpdateAndWait(RG, server, "current", { serverKeyType: "AzureKeyVault", serverKeyName: keyName }, this.c.poll);
      await sql.managedDatabases.beginCreateOrUpdateAndWait(RG, server, "db", { location: "eastus", tags: { owner: "team-a" } }, this.c.poll);
    } else {
      principal = (await sql.servers.beginCreateOrUpdateAndWait(RG, server, { location: "eastus", administratorLogin: "admin1", administratorLoginPassword: "Str0ng!Passw0rd", identity: { type: "SystemAssigned" } }, this.c.poll)).identity!.principalId!;
      await this.grant(vault, principal);
      await sql.serverKeys.beginCreateOrUpdateAndWait(RG, server, keyName, { serverKeyType: "AzureKeyVault", uri: kid }, this.c.poll);
      await sql.encryptionProtectors.beginCreateOrUpdateAndWait(RG, server, "current", { serverKeyType: "AzureKeyVault", serverKeyName: keyName }, this.c.poll);
      await sql.databases.beginCreateOrUpdateAndWait(RG, server, "db", { location: "eastus", tags: { owner: "team-a" } }, this.c.poll);
    }
    assert.equal((await this.query(server, "db", "CREATE TABLE t (v TEXT)")).status, 200);
    await this.query(server, "db", "INSERT INTO t VALUES (?)", [MARKER]);
    const parent = opts.managed ? "managedInstances" : "servers";
    const dbId = `/subscriptions/${this.inst.endpoints.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.Sql/${parent}/${server}/databases/db`;
    return { vault, kid, keyName, server, principal, dbId, managed: !!opts.managed };
  }

  async status(s: { server: string; managed: boolean }): Promise<string> {
    return s.managed ? (await this.c.sql.managedDatabases.get(RG, s.server, "db")).status! : (await this.c.sql.databases.get(RG, s.server, "db")).status!;
  }

  /** Everything the seed says about an inaccessible database, checked through the public APIs. */
  async assertInaccessible(s: { server: string; managed: boolean; dbId: string }, code: string) {
    assert.equal(await this.status(s), "Inaccessible");
    const q = await this.query(s.server, "db", "SELECT v FROM t");
    assert.equal(q.status, 503);
    assert.equal(q.json.error.code, "40613");
    assert.match(q.json.error.message, new RegExp(`^Database 'db' on server '${s.server}' is not currently available\\. Please retry the connection later\\.`));
    const probe = await this.probe();
    const failing = (probe.failing as { server: string; code: string }[]).find((f) => f.server === s.server);
    assert.equal(failing?.code, code, JSON.stringify(probe.failing));
  }

  async assertOnline(s: { server: string; managed: boolean }) {
    assert.equal(await this.status(s), "Online");
    const q = await this.query(s.server, "db", "SELECT v FROM t");
    assert.equal(q.status, 200, q.text);
    assert.deepEqual(q.json.rows, [{ v: MARKER }]);
  }
}

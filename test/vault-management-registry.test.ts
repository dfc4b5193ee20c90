import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { ManualClock, SecretBox, silentLogger, type SurfaceRequest } from "../src/platform/index.js";
import { openSqliteStore, type OpenedStore } from "../src/storage/index.js";
import { createIdentity, type Identity } from "../src/identity/index.js";
import { createArm, armAudiences, type Arm } from "../src/arm/index.js";
import { createVaultManagement, dataActionsOf, findRoleByName, type VaultManagement, type PurgedVault } from "../src/vault/management/index.js";
import { tempDir } from "./harness.js";

/**
 * The management plane in-process, behind the real ARM surface, with a manual clock: the VaultRegistry seam
 * the data plane reads (live vaults only, RBAC data actions at or above the vault), soft-delete dates, purge
 * protection expiry, resource-group cascade and moves. HTTP clients are covered by the other vault-management
 * suites; this one needs to move time.
 */
const DAY = 24 * 60 * 60 * 1000;
const HTTPS_PORT = 48443;
let opened: OpenedStore;
let identity: Identity;
let arm: Arm;
let mgmt: VaultManagement;
let clock: ManualClock;
let token: string;
let sub: string;
let tenantId: string;
const purged: PurgedVault[] = [];

before(async () => {
  clock = new ManualClock(Date.UTC(2026, 10, 28));
  opened = await openSqliteStore(path.join(tempDir("vm-reg"), "tdekv.db"));
  identity = await createIdentity({ db: opened.db, clock, box: new SecretBox(randomBytes(32)), tokenLifetimeSeconds: 365 * 24 * 3600 });
  const boot = await identity.directory.bootstrap();
  sub = boot.subscription.id;
  tenantId = boot.tenant.id;
  arm = createArm({ db: opened.db, clock, directory: identity.directory, tokens: identity.tokens, audiences: () => armAudiences([]), adminTenantId: () => tenantId });
  mgmt = createVaultManagement({ db: opened.db, clock, box: new SecretBox(randomBytes(32)), log: silentLogger(), directory: identity.directory, tokens: identity.tokens, arm: arm.services, httpsPort: () => HTTPS_PORT });
  mgmt.onVaultPurged((v) => void purged.push(v));
  for (const p of mgmt.providers) arm.register(p);
  const principal = await identity.directory.findPrincipal({ objectId: boot.credentials.objectId });
  token = (await identity.tokens.issue(principal!, "https://management.azure.com/")).accessToken;
});
after(async () => {
  await opened.close();
});

async function call(method: string, p: string, body?: unknown, host = "localhost:48443") {
  const [pathname, query = ""] = p.split("?");
  const q = new URLSearchParams(query);
  if (!q.has("api-version")) q.set("api-version", "2023-07-01");
  const req: SurfaceRequest = {
    method,
    host,
    origin: `https://${host}`,
    path: pathname!,
    query: q,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(body)),
    requestId: "r",
    correlationId: "c",
    remoteAddress: "127.0.0.1",
  };
  const res = await arm.surface(req);
  return { status: res.status, body: res.body as any };
}

const rgPath = (rg: string, s = sub) => `/subscriptions/${s}/resourceGroups/${rg}`;
const vaultPath = (rg: string, name: string, s = sub) => `${rgPath(rg, s)}/providers/Microsoft.KeyVault/vaults/${name}`;
const vaultBody = (props: Record<string, unknown> = {}) => ({ location: "eastus", properties: { tenantId, sku: { family: "A", name: "standard" }, accessPolicies: [], ...props } });

async function group(rg: string, s = sub) {
  const res = await call("PUT", rgPath(rg, s), { location: "eastus" });
  assert.ok(res.status === 200 || res.status === 201, JSON.stringify(res.body));
}

async function identityPrincipal(rg: string, name: string): Promise<string> {
  const res = await call("PUT", `${rgPath(rg)}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`, { location: "eastus" });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.properties.principalId;
}

describe("registry.findVault", () => {
  test("returns a live vault with its properties, and nothing for an unknown name", async () => {
    await group("rg-reg");
    const created = await call("PUT", vaultPath("rg-reg", "Reg-Vault1"), vaultBody({ enableRbacAuthorization: true, networkAcls: { defaultAction: "Deny", bypass: "AzureServices", ipRules: [{ value: "203.0.113.7" }] } }));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.properties.vaultUri, `https://reg-vault1.vault.localhost:${HTTPS_PORT}/`);
    const v = await mgmt.registry.findVault("REG-VAULT1");
    assert.ok(v);
    assert.equal(v.name, "reg-vault1");
    assert.equal(v.id, vaultPath("rg-reg", "Reg-Vault1"));
    assert.equal(v.subscriptionId, sub);
    assert.equal(v.resourceGroup, "rg-reg");
    assert.equal(v.tenantId, tenantId);
    assert.equal(v.enableRbacAuthorization, true);
    assert.equal(v.enableSoftDelete, true);
    assert.equal(v.softDeleteRetentionInDays, 90);
    assert.deepEqual(v.networkAcls, { defaultAction: "Deny", bypass: "AzureServices", ipRules: [{ value: "203.0.113.7/32" }], virtualNetworkRules: [] });
    assert.match(v.uid, /^[0-9a-f-]{36}$/);
    assert.equal(await mgmt.registry.findVault("no-such-vault"), undefined);
  });

  test("vaultUri follows the host of the ARM request: vault.azure.net through the proxy", async () => {
    const viaProxy = await call("GET", vaultPath("rg-reg", "reg-vault1"), undefined, "management.azure.com");
    assert.equal(viaProxy.body.properties.vaultUri, "https://reg-vault1.vault.azure.net/");
    const direct = await call("GET", vaultPath("rg-reg", "reg-vault1"));
    assert.equal(direct.body.properties.vaultUri, `https://reg-vault1.vault.localhost:${HTTPS_PORT}/`);
  });

  test("a write is visible at once (the cache is cleared by every change)", async () => {
    assert.equal((await mgmt.registry.findVault("reg-vault1"))!.accessPolicies.length, 0);
    const oid = await identityPrincipal("rg-reg", "reg-id1");
    const res = await call("PUT", `${vaultPath("rg-reg", "reg-vault1")}/accessPolicies/add`, { properties: { accessPolicies: [{ tenantId, objectId: oid, permissions: { keys: ["get", "wrapKey", "unwrapKey"] } }] } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const v = await mgmt.registry.findVault("reg-vault1");
    assert.deepEqual(v!.accessPolicies, [{ tenantId, objectId: oid, permissions: { keys: ["get", "wrapKey", "unwrapKey"] } }]);
  });
});

describe("soft delete, recover and purge on the manual clock", () => {
  test("a deleted vault is unreachable, scheduled for purge after its retention, and recovers with its uid", async () => {
    await group("rg-sd");
    assert.equal((await call("PUT", vaultPath("rg-sd", "sd-vault"), vaultBody({ softDeleteRetentionInDays: 7 }))).status, 201);
    const uid = (await mgmt.registry.findVault("sd-vault"))!.uid;
    const deletedAt = clock.now();
    assert.equal((await call("DELETE", vaultPath("rg-sd", "sd-vault"))).status, 200);
    assert.equal(await mgmt.registry.findVault("sd-vault"), undefined);
    const gone = await mgmt.registry.findDeletedVault("SD-VAULT");
    assert.equal(gone?.uid, uid);
    assert.equal(gone?.scheduledPurgeDate, deletedAt + 7 * DAY);
    assert.equal(await mgmt.registry.findDeletedVault("never-was"), undefined);
    assert.equal((await call("GET", vaultPath("rg-sd", "sd-vault"))).status, 404);
    const got = await call("GET", `/subscriptions/${sub}/providers/Microsoft.KeyVault/locations/eastus/deletedVaults/sd-vault`);
    assert.equal(got.status, 200, JSON.stringify(got.body));
    assert.equal(got.body.properties.deletionDate, new Date(deletedAt).toISOString());
    assert.equal(got.body.properties.scheduledPurgeDate, new Date(deletedAt + 7 * DAY).toISOString());
    assert.equal(got.body.properties.vaultId, vaultPath("rg-sd", "sd-vault"));
    const recovered = await call("PUT", vaultPath("rg-sd", "sd-vault"), { location: "eastus", properties: { tenantId, sku: { family: "A", name: "standard" }, createMode: "recover" } });
    assert.equal(recovered.status, 200, JSON.stringify(recovered.body));
    assert.equal(recovered.body.properties.softDeleteRetentionInDays, 7);
    assert.equal((await mgmt.registry.findVault("sd-vault"))!.uid, uid, "recover keeps the vault's identity, hence its keys");
    assert.equal(await mgmt.registry.findDeletedVault("sd-vault"), undefined);
  });

  test("purge protection refuses purge until the scheduled date, then the service purges by itself", async () => {
    assert.equal((await call("PUT", vaultPath("rg-sd", "pp-vault"), vaultBody({ enablePurgeProtection: true, softDeleteRetentionInDays: 10 }))).status, 201);
    const uid = (await mgmt.registry.findVault("pp-vault"))!.uid;
    assert.equal((await call("DELETE", vaultPath("rg-sd", "pp-vault"))).status, 200);
    const purgeUrl = `/subscriptions/${sub}/providers/Microsoft.KeyVault/locations/eastus/deletedVaults/pp-vault/purge`;
    const refused = await call("POST", purgeUrl);
    assert.equal(refused.status, 405);
    assert.deepEqual(refused.body.error, { code: "MethodNotAllowed", message: "Operation 'DeletedVaultPurge' is not allowed." });
    clock.advance(9 * DAY);
    assert.equal((await call("POST", purgeUrl)).status, 405, "still inside the retention interval");
    assert.equal((await call("PUT", vaultPath("rg-sd", "pp-vault"), vaultBody())).body.error.code, "ConflictError");
    clock.advance(DAY + 1);
    const list = await call("GET", `/subscriptions/${sub}/providers/Microsoft.KeyVault/deletedVaults`);
    assert.ok(!list.body.value.some((d: any) => d.name === "pp-vault"), "purged once the scheduled purge date passed");
    assert.ok(purged.some((p) => p.uid === uid && p.name === "pp-vault"));
    const again = await call("PUT", vaultPath("rg-sd", "pp-vault"), vaultBody());
    assert.equal(again.status, 201, "the name is free again");
    assert.notEqual((await mgmt.registry.findVault("pp-vault"))!.uid, uid, "a new vault, not the purged one");
  });

  test("a vault without soft delete is gone at once, and listeners hear of it", async () => {
    assert.equal((await call("PUT", vaultPath("rg-sd", "nosd-vault"), vaultBody({ enableSoftDelete: false }))).status, 201);
    const uid = (await mgmt.registry.findVault("nosd-vault"))!.uid;
    assert.equal((await call("DELETE", vaultPath("rg-sd", "nosd-vault"))).status, 200);
    assert.ok(purged.some((p) => p.uid === uid));
    assert.equal((await call("GET", `/subscriptions/${sub}/providers/Microsoft.KeyVault/locations/eastus/deletedVaults/nosd-vault`)).status, 404);
    assert.equal((await call("PUT", vaultPath("rg-sd", "nosd-vault"), vaultBody())).status, 201);
  });
});

describe("RBAC: registry.dataActionsFor", () => {
  let oid: string;
  let other: string;
  const assign = (scope: string, role: string, principalId: string, name = crypto.randomUUID()) =>
    call("PUT", `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`, {
      properties: { roleDefinitionId: `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/${role}`, principalId, principalType: "ServicePrincipal" },
    });

  before(async () => {
    await group("rg-rbac");
    await group("rg-rbac-2");
    oid = await identityPrincipal("rg-rbac", "rbac-id");
    other = await identityPrincipal("rg-rbac", "rbac-id-2");
    assert.equal((await call("PUT", vaultPath("rg-rbac", "rbac-vault"), vaultBody({ enableRbacAuthorization: true }))).status, 201);
    assert.equal((await call("PUT", vaultPath("rg-rbac-2", "rbac-vault-2"), vaultBody({ enableRbacAuthorization: true }))).status, 201);
  });

  test("the union of roles at the vault and above it, and nothing from a sibling vault", async () => {
    assert.deepEqual(await mgmt.registry.dataActionsFor(oid, vaultPath("rg-rbac", "rbac-vault")), []);
    const atVault = await assign(vaultPath("rg-rbac", "rbac-vault"), "e147488a-f6f5-4113-8e2d-b22465e65bf6", oid);
    assert.equal(atVault.status, 201, JSON.stringify(atVault.body));
    assert.deepEqual(
      (await mgmt.registry.dataActionsFor(oid.toUpperCase(), vaultPath("rg-rbac", "rbac-vault").toLowerCase())).sort(),
      ["Microsoft.KeyVault/vaults/keys/read", "Microsoft.KeyVault/vaults/keys/unwrap/action", "Microsoft.KeyVault/vaults/keys/wrap/action"],
    );
    assert.equal((await assign(rgPath("rg-rbac"), "12338af0-0e69-4776-bea7-57ae8d297424", oid)).status, 201);
    const both = await mgmt.registry.dataActionsFor(oid, vaultPath("rg-rbac", "rbac-vault"));
    assert.ok(both.includes("Microsoft.KeyVault/vaults/keys/sign/action"), "Crypto User at the resource group");
    assert.ok(both.includes("Microsoft.KeyVault/vaults/keys/unwrap/action"));
    assert.ok(!both.includes("Microsoft.KeyVault/vaults/keys/create/action"));
    assert.deepEqual(await mgmt.registry.dataActionsFor(oid, vaultPath("rg-rbac-2", "rbac-vault-2")), [], "another group's vault");
    assert.deepEqual(await mgmt.registry.dataActionsFor(other, vaultPath("rg-rbac", "rbac-vault")), [], "another principal");
  });

  test("wildcards expand: Administrator at the subscription grants every key, secret and certificate action", async () => {
    assert.equal((await assign(`/subscriptions/${sub}`, "00482a5a-887f-4fb3-b363-3b7fe8e74483", other)).status, 201);
    const actions = await mgmt.registry.dataActionsFor(other, vaultPath("rg-rbac-2", "rbac-vault-2"));
    for (const a of ["Microsoft.KeyVault/vaults/keys/create/action", "Microsoft.KeyVault/vaults/keys/purge/action", "Microsoft.KeyVault/vaults/keyrotationpolicies/write", "Microsoft.KeyVault/vaults/secrets/getSecret/action"]) {
      assert.ok(actions.includes(a), a);
    }
  });

  test("soft delete drops the vault's role assignments, and recover does not bring them back", async () => {
    assert.equal((await call("DELETE", vaultPath("rg-rbac", "rbac-vault"))).status, 200);
    const recovered = await call("PUT", vaultPath("rg-rbac", "rbac-vault"), { location: "eastus", properties: { tenantId, sku: { family: "A", name: "standard" }, createMode: "recover" } });
    assert.equal(recovered.status, 200);
    const actions = await mgmt.registry.dataActionsFor(oid, vaultPath("rg-rbac", "rbac-vault"));
    assert.deepEqual(actions.sort(), dataActionsOf([findRoleByName("Key Vault Crypto User")!]).sort(), "only the group-level Crypto User remains");
    const list = await call("GET", `${vaultPath("rg-rbac", "rbac-vault")}/providers/Microsoft.Authorization/roleAssignments?$filter=atScope()`);
    assert.equal(list.status, 200);
    assert.ok(list.body.value.every((a: any) => !a.properties.scope.toLowerCase().endsWith("/vaults/rbac-vault")), "no assignment at the vault scope");
  });
});

describe("ARM cascade and move", () => {
  test("deleting the resource group soft-deletes its vaults and their names stay taken", async () => {
    await group("rg-cascade");
    assert.equal((await call("PUT", vaultPath("rg-cascade", "cascade-vault"), vaultBody())).status, 201);
    const del = await call("DELETE", rgPath("rg-cascade"));
    assert.equal(del.status, 202);
    assert.equal(await mgmt.registry.findVault("cascade-vault"), undefined);
    const deleted = await call("GET", `/subscriptions/${sub}/providers/Microsoft.KeyVault/deletedVaults`);
    assert.ok(deleted.body.value.some((d: any) => d.name === "cascade-vault"));
    await group("rg-cascade-2");
    const conflict = await call("PUT", vaultPath("rg-cascade-2", "cascade-vault"), vaultBody());
    assert.equal(conflict.status, 409);
    assert.equal(conflict.body.error.code, "ConflictError");
  });

  test("a vault moved to another subscription keeps its name and uid; its own role assignments do not follow", async () => {
    const created = await call("POST", "/_tdekv/subscriptions", { tenantId, displayName: "second" });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const sub2 = created.body.id as string;
    await group("rg-move");
    await group("rg-target", sub2);
    assert.equal((await call("PUT", vaultPath("rg-move", "move-vault"), vaultBody())).status, 201);
    const uid = (await mgmt.registry.findVault("move-vault"))!.uid;
    const oid = await identityPrincipal("rg-move", "move-id");
    const ra = await call("PUT", `${vaultPath("rg-move", "move-vault")}/providers/Microsoft.Authorization/roleAssignments/${crypto.randomUUID()}`, {
      properties: { roleDefinitionId: `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/14b46e9e-c2b7-41b4-b07b-48a6ebf60603`, principalId: oid },
    });
    assert.equal(ra.status, 201, JSON.stringify(ra.body));
    const moved = await call("POST", `${rgPath("rg-move")}/moveResources`, { resources: [vaultPath("rg-move", "move-vault")], targetResourceGroup: rgPath("rg-target", sub2) });
    assert.equal(moved.status, 202, JSON.stringify(moved.body));
    const v = await mgmt.registry.findVault("move-vault");
    assert.ok(v);
    assert.equal(v.id, vaultPath("rg-target", "move-vault", sub2));
    assert.equal(v.subscriptionId, sub2);
    assert.equal(v.resourceGroup, "rg-target");
    assert.equal(v.uid, uid);
    assert.deepEqual(await mgmt.registry.dataActionsFor(oid, v.id), []);
    const got = await call("GET", vaultPath("rg-target", "move-vault", sub2));
    assert.equal(got.status, 200);
    assert.equal(got.body.id, vaultPath("rg-target", "move-vault", sub2));
    // The name is still global: nobody can take it in the old subscription.
    assert.equal((await call("PUT", vaultPath("rg-move", "move-vault"), vaultBody())).body.error.code, "VaultAlreadyExists");
  });
});

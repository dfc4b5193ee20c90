import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { ClientSecretCredential } from "@azure/identity";
import { KeyVaultManagementClient } from "@azure/arm-keyvault";
import type { PipelinePolicy } from "@azure/core-rest-pipeline";
import { startInstance, request, clientToken, type Instance } from "./harness.js";

/**
 * Issue 3 §1 with the unmodified @azure/arm-keyvault 5 (direct mode, verified TLS, a real
 * ClientSecretCredential) and raw ARM requests for Microsoft.Authorization: vault CRUD finishing in one
 * round trip, access policies, global names across subscriptions and tenants, soft delete, recover and
 * purge, checkNameAvailability, Azure's errors, and role assignments at vault, group and subscription scope.
 */
let inst: Instance;
let kvm: KeyVaultManagementClient;
let token: string;
let sub: string;
let tenantId: string;
let requests: { method: string; url: string }[] = [];

const counter: PipelinePolicy = {
  name: "count-requests",
  async sendRequest(req, next) {
    requests.push({ method: req.method, url: req.url });
    return next(req);
  },
};

before(async () => {
  inst = await startInstance();
  const ep = inst.endpoints;
  sub = ep.subscriptionId;
  tenantId = ep.tenantId;
  const tlsOptions = { ca: inst.ca.toString() };
  const credential = new ClientSecretCredential(ep.tenantId, ep.clientId, ep.clientSecret, { authorityHost: ep.authorityHost, disableInstanceDiscovery: true, tlsOptions });
  kvm = new KeyVaultManagementClient(credential, sub, {
    endpoint: ep.armEndpoint,
    credentials: { scopes: ["https://management.azure.com/.default"] },
    tlsOptions,
    retryOptions: { maxRetries: 0 },
    additionalPolicies: [{ policy: counter, position: "perCall" }],
  });
  token = await clientToken(inst, "https://management.azure.com/.default");
  for (const rg of ["rg-kv", "rg-kv-2"]) assert.equal((await arm("PUT", `/subscriptions/${sub}/resourceGroups/${rg}`, { location: "eastus" })).status, 201);
});
after(async () => {
  await inst.stop();
});

async function arm(method: string, path: string, body?: unknown, bearer = token) {
  const url = path.includes("api-version=") ? path : `${path}${path.includes("?") ? "&" : "?"}api-version=2022-04-01`;
  const res = await request(inst, method, url, { headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json" }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  return res;
}

const vaultId = (rg: string, name: string, s = sub) => `/subscriptions/${s}/resourceGroups/${rg}/providers/Microsoft.KeyVault/vaults/${name}`;
const params = (props: Record<string, unknown> = {}) => ({ location: "eastus", properties: { tenantId, sku: { family: "A" as const, name: "standard" as const }, ...props } });

async function newIdentity(rg: string, name: string): Promise<string> {
  const res = await arm("PUT", `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}?api-version=2023-01-31`, { location: "eastus" });
  assert.equal(res.status, 201, res.text);
  return res.json.properties.principalId;
}

/** SDK models carry `undefined` for absent optional members; compare what went over the wire. */
const plain = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

const restError = (code: string, status: number, message?: RegExp) => (e: any) => {
  assert.equal(e.code, code, e.message);
  assert.equal(e.statusCode, status);
  if (message) assert.match(e.message, message);
  return true;
};

describe("vaults with arm-keyvault 5", () => {
  test("create finishes in one round trip with the full body, accessPolicies always an array", async () => {
    requests = [];
    const v = await kvm.vaults.createOrUpdate("rg-kv", "kv-sdk-1", params({ accessPolicies: undefined }));
    assert.deepEqual(requests.map((r) => r.method), ["PUT"], "no polling");
    assert.equal(v.id, vaultId("rg-kv", "kv-sdk-1"));
    assert.equal(v.name, "kv-sdk-1");
    assert.equal(v.type, "Microsoft.KeyVault/vaults");
    assert.equal(v.location, "eastus");
    assert.equal(v.properties.provisioningState, "Succeeded");
    assert.equal(v.properties.tenantId, tenantId);
    assert.deepEqual(plain(v.properties.sku), { family: "A", name: "standard" });
    assert.deepEqual(v.properties.accessPolicies, []);
    assert.equal(v.properties.vaultUri, `https://kv-sdk-1.vault.localhost:${inst.endpoints.httpsPort}/`);
    assert.equal(v.properties.enableSoftDelete, true);
    assert.equal(v.properties.softDeleteRetentionInDays, 90);
    assert.equal(v.properties.enableRbacAuthorization, false);
    assert.equal(v.properties.enablePurgeProtection, undefined, "Azure omits it until it is switched on");
    assert.equal(v.properties.publicNetworkAccess, "Enabled");
    assert.deepEqual(plain(v.properties.networkAcls), { bypass: "AzureServices", defaultAction: "Allow", ipRules: [], virtualNetworkRules: [] });
  });

  test("get, list by group, list by subscription and the /resources lookup", async () => {
    await kvm.vaults.createOrUpdate("rg-kv-2", "kv-sdk-2", params({ enableRbacAuthorization: true }));
    const got = await kvm.vaults.get("rg-kv", "KV-SDK-1");
    assert.equal(got.id, vaultId("rg-kv", "kv-sdk-1"), "names compare case-insensitively and keep their first casing");
    const inGroup: string[] = [];
    for await (const v of kvm.vaults.listByResourceGroup("rg-kv")) inGroup.push(v.name!);
    assert.deepEqual(inGroup, ["kv-sdk-1"]);
    const inSub: string[] = [];
    for await (const v of kvm.vaults.listBySubscription()) inSub.push(v.name!);
    assert.deepEqual(inSub.sort(), ["kv-sdk-1", "kv-sdk-2"]);
    const resources: string[] = [];
    for await (const r of kvm.vaults.list()) resources.push(r.id!);
    assert.deepEqual(resources.sort(), [vaultId("rg-kv", "kv-sdk-1"), vaultId("rg-kv-2", "kv-sdk-2")].sort());
    await assert.rejects(kvm.vaults.get("rg-kv", "kv-none"), restError("ResourceNotFound", 404));
  });

  test("PATCH is a synchronous 200 that changes only what it names", async () => {
    requests = [];
    const v = await kvm.vaults.update("rg-kv", "kv-sdk-1", { tags: { env: "test" }, properties: { networkAcls: { bypass: "AzureServices", defaultAction: "Deny", ipRules: [{ value: "203.0.113.7" }] }, enabledForDiskEncryption: true } });
    assert.deepEqual(requests.map((r) => r.method), ["PATCH"]);
    assert.deepEqual(v.tags, { env: "test" });
    assert.deepEqual(plain(v.properties.networkAcls), { bypass: "AzureServices", defaultAction: "Deny", ipRules: [{ value: "203.0.113.7/32" }], virtualNetworkRules: [] });
    assert.equal(v.properties.enabledForDiskEncryption, true);
    assert.equal(v.properties.softDeleteRetentionInDays, 90);
    assert.equal((await kvm.vaults.get("rg-kv", "kv-sdk-1")).properties.networkAcls?.defaultAction, "Deny");
  });

  test("access policies: add, replace and remove, with Key Vault's permission names", async () => {
    const oid = await newIdentity("rg-kv", "kv-id-1");
    const added = await kvm.vaults.updateAccessPolicy("rg-kv", "kv-sdk-1", "add", { properties: { accessPolicies: [{ tenantId, objectId: oid, permissions: { keys: ["get", "wrapKey", "unwrapKey"] } }] } });
    assert.equal(added.type, "Microsoft.KeyVault/vaults/accessPolicies");
    assert.deepEqual(plain(added.properties.accessPolicies), [{ tenantId, objectId: oid, permissions: { keys: ["get", "wrapKey", "unwrapKey"] } }]);
    await kvm.vaults.updateAccessPolicy("rg-kv", "kv-sdk-1", "add", { properties: { accessPolicies: [{ tenantId, objectId: oid, permissions: { keys: ["sign"], secrets: ["get"] } }] } });
    let v = await kvm.vaults.get("rg-kv", "kv-sdk-1");
    assert.deepEqual(plain(v.properties.accessPolicies![0]!.permissions), { keys: ["get", "wrapKey", "unwrapKey", "sign"], secrets: ["get"] });
    await kvm.vaults.updateAccessPolicy("rg-kv", "kv-sdk-1", "replace", { properties: { accessPolicies: [{ tenantId, objectId: oid, permissions: { keys: ["get"] } }] } });
    v = await kvm.vaults.get("rg-kv", "kv-sdk-1");
    assert.deepEqual(plain(v.properties.accessPolicies![0]!.permissions), { keys: ["get"] });
    await kvm.vaults.updateAccessPolicy("rg-kv", "kv-sdk-1", "remove", { properties: { accessPolicies: [{ tenantId, objectId: oid, permissions: { keys: ["get"] } }] } });
    v = await kvm.vaults.get("rg-kv", "kv-sdk-1");
    assert.deepEqual(v.properties.accessPolicies, []);
    await assert.rejects(
      kvm.vaults.updateAccessPolicy("rg-kv", "kv-sdk-1", "add", { properties: { accessPolicies: [{ tenantId, objectId: oid, permissions: { keys: ["get", "fly" as "get"] } }] } }),
      restError("BadRequest", 400, /An invalid value was provided for 'accessPolicies'\./),
    );
  });

  test("checkNameAvailability", async () => {
    assert.deepEqual(plain(await kvm.vaults.checkNameAvailability({ name: "kv-free-name", type: "Microsoft.KeyVault/vaults" })), { nameAvailable: true });
    const taken = await kvm.vaults.checkNameAvailability({ name: "KV-SDK-1", type: "Microsoft.KeyVault/vaults" });
    assert.equal(taken.nameAvailable, false);
    assert.equal(taken.reason, "AlreadyExists");
    const invalid = await kvm.vaults.checkNameAvailability({ name: "1-bad", type: "Microsoft.KeyVault/vaults" });
    assert.equal(invalid.reason, "AccountNameInvalid");
  });

  test("Azure's errors for bad names, unknown tenants, retention and purge protection", async () => {
    await assert.rejects(kvm.vaults.createOrUpdate("rg-kv", "bad--name", params()), restError("VaultNameNotValid", 400, /The vault name 'bad--name' is invalid/));
    await assert.rejects(kvm.vaults.createOrUpdate("rg-kv", "kv-tenant", params({ tenantId: randomUUID() })), restError("BadRequest", 400, /'tenantId'/));
    await assert.rejects(kvm.vaults.createOrUpdate("rg-kv", "kv-retention", params({ softDeleteRetentionInDays: 91 })), restError("BadRequest", 400, /softDeleteRetentionInDays/));
    await kvm.vaults.createOrUpdate("rg-kv", "kv-pp", params({ enablePurgeProtection: true, softDeleteRetentionInDays: 7 }));
    await assert.rejects(kvm.vaults.update("rg-kv", "kv-pp", { properties: { enablePurgeProtection: false } }), restError("BadRequest", 400, /cannot be set to false/));
    await assert.rejects(kvm.vaults.update("rg-kv", "kv-pp", { properties: { softDeleteRetentionInDays: 30 } }), restError("BadRequest", 400, /can't be modified/));
    await assert.rejects(kvm.vaults.createOrUpdate("rg-kv", "kv-pp", { ...params(), location: "westus" }), restError("InvalidResourceLocation", 400));
  });
});

describe("global names, soft delete, recover and purge", () => {
  test("a vault name is taken in every subscription and tenant", async () => {
    const t2 = await arm("POST", "/_tdekv/tenants", { displayName: "other tenant" });
    assert.equal(t2.status, 201, t2.text);
    const s2 = await arm("POST", "/_tdekv/subscriptions", { tenantId: t2.json.tenantId, displayName: "other sub" });
    assert.equal(s2.status, 201, s2.text);
    const other = await clientToken(inst, "https://management.azure.com/.default", { tenantId: t2.json.tenantId, clientId: t2.json.clientId, clientSecret: t2.json.clientSecret });
    assert.equal((await arm("PUT", `/subscriptions/${s2.json.id}/resourceGroups/rg-other`, { location: "eastus" }, other)).status, 201);
    const body = { location: "eastus", properties: { tenantId: t2.json.tenantId, sku: { family: "A", name: "standard" }, accessPolicies: [] } };
    const res = await arm("PUT", `${vaultId("rg-other", "Kv-Sdk-1", s2.json.id)}?api-version=2023-07-01`, body, other);
    assert.equal(res.status, 409, res.text);
    assert.equal(res.json.error.code, "VaultAlreadyExists");
    assert.match(res.json.error.message, /^The vault name 'Kv-Sdk-1' is already in use\. Vault names are globally unique/);
    const inOtherGroup = await arm("PUT", `${vaultId("rg-kv-2", "kv-sdk-1")}?api-version=2023-07-01`, { location: "eastus", properties: { tenantId, sku: { family: "A", name: "standard" }, accessPolicies: [] } });
    assert.equal(inOtherGroup.json.error.code, "VaultAlreadyExists", "another group of the same subscription too");
    const fresh = await arm("PUT", `${vaultId("rg-other", "kv-other-tenant", s2.json.id)}?api-version=2023-07-01`, body, other);
    assert.equal(fresh.status, 201, fresh.text);
  });

  test("delete soft-deletes; the name conflicts until recover; recover restores properties and policies", async () => {
    const oid = await newIdentity("rg-kv", "kv-id-2");
    await kvm.vaults.createOrUpdate("rg-kv", "kv-sd", params({ softDeleteRetentionInDays: 14, accessPolicies: [{ tenantId, objectId: oid, permissions: { keys: ["get", "unwrapKey"] } }] }));
    requests = [];
    await kvm.vaults.delete("rg-kv", "kv-sd");
    assert.deepEqual(requests.map((r) => r.method), ["DELETE"]);
    await assert.rejects(kvm.vaults.get("rg-kv", "kv-sd"), restError("ResourceNotFound", 404));
    const deleted = await kvm.vaults.getDeleted("kv-sd", "eastus");
    assert.equal(deleted.id, `/subscriptions/${sub}/providers/Microsoft.KeyVault/locations/eastus/deletedVaults/kv-sd`);
    assert.equal(deleted.properties!.vaultId, vaultId("rg-kv", "kv-sd"));
    assert.equal(deleted.properties!.location, "eastus");
    assert.equal(deleted.properties!.purgeProtectionEnabled, false);
    assert.equal(deleted.properties!.scheduledPurgeDate!.getTime() - deleted.properties!.deletionDate!.getTime(), 14 * 24 * 3600 * 1000);
    const names: string[] = [];
    for await (const d of kvm.vaults.listDeleted()) names.push(d.name!);
    assert.ok(names.includes("kv-sd"));
    await assert.rejects(kvm.vaults.createOrUpdate("rg-kv", "kv-sd", params()), restError("ConflictError", 409, /already exists in deleted state/));
    await assert.rejects(kvm.vaults.getDeleted("kv-sd", "westus"), restError("ResourceNotFound", 404));
    const recovered = await kvm.vaults.createOrUpdate("rg-kv", "kv-sd", params({ createMode: "recover" }));
    assert.equal(recovered.properties.softDeleteRetentionInDays, 14);
    assert.deepEqual(plain(recovered.properties.accessPolicies), [{ tenantId, objectId: oid, permissions: { keys: ["get", "unwrapKey"] } }]);
    await assert.rejects(kvm.vaults.getDeleted("kv-sd", "eastus"), restError("ResourceNotFound", 404));
    await assert.rejects(kvm.vaults.createOrUpdate("rg-kv", "kv-never", params({ createMode: "recover" })), restError("SoftDeletedVaultDoesNotExist", 400));
  });

  test("purge is refused under purge protection, allowed without it, and frees the name", async () => {
    await kvm.vaults.delete("rg-kv", "kv-pp");
    await assert.rejects(kvm.vaults.purgeDeleted("kv-pp", "eastus"), restError("MethodNotAllowed", 405, /Operation 'DeletedVaultPurge' is not allowed\./));
    assert.equal((await kvm.vaults.getDeleted("kv-pp", "eastus")).properties!.purgeProtectionEnabled, true);
    await kvm.vaults.createOrUpdate("rg-kv", "kv-purge", params());
    await kvm.vaults.delete("rg-kv", "kv-purge");
    requests = [];
    await kvm.vaults.purgeDeleted("kv-purge", "eastus");
    assert.deepEqual(requests.map((r) => r.method), ["POST"], "no polling");
    await assert.rejects(kvm.vaults.getDeleted("kv-purge", "eastus"), restError("ResourceNotFound", 404));
    assert.equal((await kvm.vaults.createOrUpdate("rg-kv-2", "kv-purge", params())).id, vaultId("rg-kv-2", "kv-purge"), "the name is free, in any group");
  });
});

describe("RBAC: Microsoft.Authorization at vault, group and subscription scope (raw ARM)", () => {
  const CSEU = "e147488a-f6f5-4113-8e2d-b22465e65bf6";
  const defId = (guid: string) => `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/${guid}`;
  let oid: string;
  let vault: string;

  before(async () => {
    oid = await newIdentity("rg-kv", "kv-rbac-id");
    vault = vaultId("rg-kv-2", "kv-sdk-2");
  });

  test("role definitions by name at a vault scope, as az looks them up", async () => {
    const res = await arm("GET", `${vault}/providers/Microsoft.Authorization/roleDefinitions?$filter=${encodeURIComponent("roleName eq 'Key Vault Crypto Service Encryption User'")}`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.value.length, 1);
    const def = res.json.value[0];
    assert.equal(def.id, defId(CSEU));
    assert.equal(def.properties.roleName, "Key Vault Crypto Service Encryption User");
    assert.deepEqual(def.properties.permissions[0].dataActions, ["Microsoft.KeyVault/vaults/keys/read", "Microsoft.KeyVault/vaults/keys/wrap/action", "Microsoft.KeyVault/vaults/keys/unwrap/action"]);
    const one = await arm("GET", `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/00482a5a-887f-4fb3-b363-3b7fe8e74483`);
    assert.equal(one.json.properties.roleName, "Key Vault Administrator");
    const all = await arm("GET", `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions`);
    for (const name of ["Owner", "Contributor", "Reader", "Key Vault Crypto Officer", "Key Vault Crypto User", "Key Vault Reader"]) assert.ok(all.json.value.some((d: any) => d.properties.roleName === name), name);
    assert.equal((await arm("GET", `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/${randomUUID()}`)).json.error.code, "RoleDefinitionDoesNotExist");
  });

  test("assign at the vault: create, read, list, duplicate, delete", async () => {
    const name = randomUUID();
    const url = `${vault}/providers/Microsoft.Authorization/roleAssignments/${name}`;
    const created = await arm("PUT", url, { properties: { roleDefinitionId: defId(CSEU), principalId: oid, principalType: "ServicePrincipal" } });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.json.id, `${vault}/providers/Microsoft.Authorization/roleAssignments/${name}`);
    assert.equal(created.json.type, "Microsoft.Authorization/roleAssignments");
    assert.equal(created.json.properties.scope, vault);
    assert.equal(created.json.properties.principalId, oid);
    assert.equal(created.json.properties.roleDefinitionId, defId(CSEU));
    assert.equal((await arm("PUT", url, { properties: { roleDefinitionId: defId(CSEU), principalId: oid } })).status, 200, "the same PUT again is idempotent");
    assert.equal((await arm("GET", url)).json.name, name);
    const dup = await arm("PUT", `${vault}/providers/Microsoft.Authorization/roleAssignments/${randomUUID()}`, { properties: { roleDefinitionId: defId(CSEU), principalId: oid } });
    assert.equal(dup.status, 409);
    assert.deepEqual(dup.json.error, { code: "RoleAssignmentExists", message: "The role assignment already exists." });
    const atVault = await arm("GET", `${vault}/providers/Microsoft.Authorization/roleAssignments?$filter=${encodeURIComponent(`atScope() and assignedTo('${oid}')`)}`);
    assert.deepEqual(atVault.json.value.map((a: any) => a.name), [name]);
    const fromSub = await arm("GET", `/subscriptions/${sub}/providers/Microsoft.Authorization/roleAssignments?$filter=${encodeURIComponent(`principalId eq '${oid}'`)}`);
    assert.deepEqual(fromSub.json.value.map((a: any) => a.name), [name], "below the scope by default");
    const fromSubAtScope = await arm("GET", `/subscriptions/${sub}/providers/Microsoft.Authorization/roleAssignments?$filter=atScope()`);
    assert.ok(!fromSubAtScope.json.value.some((a: any) => a.name === name));
    assert.equal((await arm("DELETE", url)).status, 200);
    assert.equal((await arm("DELETE", url)).status, 204);
    assert.equal((await arm("GET", url)).json.error.code, "RoleAssignmentNotFound");
  });

  test("resource group and subscription scopes work too", async () => {
    for (const scope of [`/subscriptions/${sub}/resourceGroups/rg-kv-2`, `/subscriptions/${sub}`]) {
      const res = await arm("PUT", `${scope}/providers/Microsoft.Authorization/roleAssignments/${randomUUID()}`, { properties: { roleDefinitionId: defId("12338af0-0e69-4776-bea7-57ae8d297424"), principalId: oid } });
      assert.equal(res.status, 201, res.text);
      assert.equal(res.json.properties.scope, scope);
    }
  });

  test("Azure's errors: unknown principal, unknown role, bad name, missing scope", async () => {
    const ghost = randomUUID();
    const notFound = await arm("PUT", `${vault}/providers/Microsoft.Authorization/roleAssignments/${randomUUID()}`, { properties: { roleDefinitionId: defId(CSEU), principalId: ghost, principalType: "ServicePrincipal" } });
    assert.equal(notFound.status, 400);
    assert.equal(notFound.json.error.code, "PrincipalNotFound");
    assert.match(notFound.json.error.message, new RegExp(`^Principal ${ghost.replace(/-/g, "")} does not exist in the directory ${tenantId}\\.`));
    const badRole = await arm("PUT", `${vault}/providers/Microsoft.Authorization/roleAssignments/${randomUUID()}`, { properties: { roleDefinitionId: defId(randomUUID()), principalId: oid } });
    assert.equal(badRole.json.error.code, "RoleDefinitionDoesNotExist");
    const badName = await arm("PUT", `${vault}/providers/Microsoft.Authorization/roleAssignments/not-a-guid`, { properties: { roleDefinitionId: defId(CSEU), principalId: oid } });
    assert.equal(badName.json.error.code, "InvalidRoleAssignmentId");
    const noVault = await arm("PUT", `${vaultId("rg-kv-2", "kv-missing")}/providers/Microsoft.Authorization/roleAssignments/${randomUUID()}`, { properties: { roleDefinitionId: defId(CSEU), principalId: oid } });
    assert.equal(noVault.status, 404);
    assert.equal(noVault.json.error.code, "ResourceNotFound");
    const notExtension = await arm("GET", `${vault}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/x`);
    assert.equal(notExtension.json.error.code, "InvalidResourceType", "only extension providers serve paths under a resource");
  });
});

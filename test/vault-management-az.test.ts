import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { startInstance, tempDir, type Instance } from "./harness.js";
import { azCli, azAvailable, type Az } from "./az.js";

/**
 * Issue 3 "How it is verified", management plane, with the real az 2.45 in proxy mode (az-cli-compat.md §0,
 * §6): keyvault create/show/update/set-policy/delete-policy/network-rule add/delete/recover/purge/
 * list-deleted, and role assignment create/list at a vault scope. `az keyvault create` without
 * --no-self-perms asks tdekv's Graph for the caller's object id and gives it an "all" access policy.
 */

/**
 * Test-only shim for a Debian az 2.45 packaging bug (like the key-module shim of az-cli-compat.md §4): its
 * role module reads `client.config.subscription_id`, which azure-mgmt-authorization 3.0 calls `_config`, so
 * every `az role assignment create` dies with "'RoleAssignmentsOperations' object has no attribute 'config'"
 * before sending a request. The hook gives the authorization operation classes a read-only `config` alias
 * when Python loads them; no az file changes, nothing else is touched.
 */
const ROLE_SHIM = `import sys, importlib.abc, importlib.util


class _AuthorizationConfigAlias(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if not (name.startswith("azure.mgmt.authorization.") and name.rsplit(".", 1)[-1].endswith("_operations")):
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return None
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            for v in list(vars(module).values()):
                if isinstance(v, type) and v.__name__.endswith("Operations") and not hasattr(v, "config"):
                    v.config = property(lambda self: self._config)

        spec.loader.exec_module = exec_module
        return spec


sys.meta_path.insert(0, _AuthorizationConfigAlias())
`;

function roleShimDir(): string {
  const dir = tempDir("az-role-shim");
  fs.writeFileSync(path.join(dir, "sitecustomize.py"), ROLE_SHIM);
  return dir;
}
let inst: Instance;
let az: Az;
let sub: string;
const RG = "rg-az-kv";
const VAULT = "az-kv-main";

const skip = !azAvailable();

before(async () => {
  if (skip) return;
  inst = await startInstance();
  az = azCli(inst, { PYTHONPATH: roleShimDir() });
  sub = inst.endpoints.subscriptionId;
  const ep = inst.endpoints;
  const login = await az("login", "--service-principal", "-u", ep.clientId, "-p", ep.clientSecret, "--tenant", ep.tenantId, "-o", "none");
  assert.equal(login.code, 0, login.stderr);
  assert.equal((await az("group", "create", "-n", RG, "-l", "eastus", "-o", "none")).code, 0);
  assert.equal((await az("group", "create", "-n", `${RG}-2`, "-l", "eastus", "-o", "none")).code, 0);
});
after(async () => {
  await inst?.stop();
});

const vaultId = (name: string, rg = RG) => `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.KeyVault/vaults/${name}`;

test("az keyvault create with purge protection, then show (without -g) gives the vault.azure.net URI", { skip }, async () => {
  const created = await az("keyvault", "create", "-g", RG, "-n", VAULT, "--location", "eastus", "--enable-purge-protection", "true", "--retention-days", "7", "-o", "json");
  assert.equal(created.code, 0, created.stderr);
  assert.equal(created.json.id, vaultId(VAULT));
  assert.equal(created.json.properties.provisioningState, "Succeeded");
  assert.equal(created.json.properties.enablePurgeProtection, true);
  assert.equal(created.json.properties.softDeleteRetentionInDays, 7);
  // az's self policy: the signed-in service principal, with "all" of every kind.
  const self = created.json.properties.accessPolicies as any[];
  assert.equal(self.length, 1);
  assert.equal(self[0].tenantId, inst.endpoints.tenantId);
  assert.match(self[0].objectId, /^[0-9a-f-]{36}$/);
  assert.deepEqual(self[0].permissions, { keys: ["all"], secrets: ["all"], certificates: ["all"], storage: ["all"] });
  const shown = await az("keyvault", "show", "-n", VAULT, "-o", "json");
  assert.equal(shown.code, 0, shown.stderr);
  assert.equal(shown.json.resourceGroup, RG);
  assert.equal(shown.json.properties.vaultUri, `https://${VAULT}.vault.azure.net/`);
  assert.equal(shown.json.properties.tenantId, inst.endpoints.tenantId);
  const listed = await az("keyvault", "list", "--query", "[].name", "-o", "json");
  assert.equal(listed.code, 0, listed.stderr);
  assert.deepEqual(listed.json, [VAULT]);
});

test("az keyvault update --bypass AzureServices --default-action Deny", { skip }, async () => {
  const res = await az("keyvault", "update", "-g", RG, "-n", VAULT, "--bypass", "AzureServices", "--default-action", "Deny", "-o", "json");
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.json.properties.networkAcls.bypass, "AzureServices");
  assert.equal(res.json.properties.networkAcls.defaultAction, "Deny");
  const shown = await az("keyvault", "show", "-g", RG, "-n", VAULT, "--query", "properties.networkAcls.defaultAction", "-o", "tsv");
  assert.equal(shown.stdout.trim(), "Deny");
});

test("az keyvault set-policy and delete-policy for a user-assigned identity (GET + PUT of the whole vault)", { skip }, async () => {
  const id = await az("identity", "create", "-g", RG, "-n", "az-kv-id", "-o", "json");
  assert.equal(id.code, 0, id.stderr);
  const oid = id.json.principalId as string;
  const set = await az("keyvault", "set-policy", "-n", VAULT, "--object-id", oid, "--key-permissions", "get", "wrapKey", "unwrapKey", "-o", "json");
  assert.equal(set.code, 0, set.stderr);
  const policies = set.json.properties.accessPolicies as any[];
  assert.equal(policies.length, 2);
  assert.equal(policies[1].objectId, oid);
  assert.deepEqual([...policies[1].permissions.keys].sort(), ["get", "unwrapKey", "wrapKey"]);
  const shown = await az("keyvault", "show", "-n", VAULT, "--query", `properties.accessPolicies[?objectId=='${oid}'].permissions.keys | [0]`, "-o", "json");
  assert.deepEqual([...shown.json].sort(), ["get", "unwrapKey", "wrapKey"]);
  const secrets = await az("keyvault", "set-policy", "-n", VAULT, "--object-id", oid, "--secret-permissions", "get", "-o", "json");
  assert.equal(secrets.code, 0, secrets.stderr);
  assert.deepEqual(secrets.json.properties.accessPolicies[1].permissions.secrets, ["get"], "a second kind of permission joins the same entry");
  assert.equal(secrets.json.properties.accessPolicies[1].permissions.keys.length, 3);
  const removed = await az("keyvault", "delete-policy", "-n", VAULT, "--object-id", oid, "-o", "json");
  assert.equal(removed.code, 0, removed.stderr);
  assert.deepEqual((removed.json.properties.accessPolicies as any[]).map((p) => p.objectId), [policies[0].objectId], "only the self policy is left");
  const bad = await az("keyvault", "set-policy", "-n", VAULT, "--object-id", "not-a-guid", "--key-permissions", "get");
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /\(BadRequest\) Invalid value found at accessPolicies\[1\]\.ObjectId: not-a-guid/);
});

test("az keyvault network-rule add --ip-address", { skip }, async () => {
  const res = await az("keyvault", "network-rule", "add", "-n", VAULT, "--ip-address", "203.0.113.7", "-o", "json");
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(res.json.properties.networkAcls.ipRules, [{ value: "203.0.113.7/32" }]);
  const again = await az("keyvault", "network-rule", "add", "-n", VAULT, "--ip-address", "203.0.113.7", "-o", "none");
  assert.equal(again.code, 0, "az sees the /32 rule as the same address and does not add it twice");
  const rules = await az("keyvault", "network-rule", "list", "-n", VAULT, "--query", "ipRules[].value", "-o", "json");
  assert.deepEqual(rules.json, ["203.0.113.7/32"]);
});

test("errors: a name in use elsewhere, and an invalid retention", { skip }, async () => {
  const taken = await az("keyvault", "create", "-g", `${RG}-2`, "-n", VAULT, "--location", "eastus");
  assert.equal(taken.code, 1);
  assert.match(taken.stderr, /\(VaultAlreadyExists\) The vault name 'az-kv-main' is already in use\. Vault names are globally unique/);
  const retention = await az("keyvault", "create", "-g", RG, "-n", "az-kv-retention", "--location", "eastus", "--retention-days", "100");
  assert.equal(retention.code, 1);
  assert.match(retention.stderr, /\(BadRequest\) The specified value '100' for 'softDeleteRetentionInDays' is invalid/);
  const name = await az("keyvault", "create", "-g", RG, "-n", "az--bad", "--location", "eastus");
  assert.equal(name.code, 1);
  assert.match(name.stderr, /\(VaultNameNotValid\)/);
});

test("az keyvault delete, list-deleted, purge refused under purge protection, recover", { skip }, async () => {
  const del = await az("keyvault", "delete", "-g", RG, "-n", VAULT);
  assert.equal(del.code, 0, del.stderr);
  assert.equal((await az("keyvault", "show", "-g", RG, "-n", VAULT)).code, 3);
  const listed = await az("keyvault", "list-deleted", "-o", "json");
  assert.equal(listed.code, 0, listed.stderr);
  const entry = (listed.json as any[]).find((d) => d.name === VAULT);
  assert.ok(entry, listed.stdout);
  assert.equal(entry.properties.vaultId, vaultId(VAULT));
  assert.equal(entry.properties.purgeProtectionEnabled, true);
  const conflict = await az("keyvault", "create", "-g", RG, "-n", VAULT, "--location", "eastus");
  assert.equal(conflict.code, 1);
  assert.match(conflict.stderr, /\(ConflictError\) A vault with the same name already exists in deleted state/);
  const purge = await az("keyvault", "purge", "-n", VAULT);
  assert.equal(purge.code, 1);
  assert.match(purge.stderr, /\(MethodNotAllowed\) Operation 'DeletedVaultPurge' is not allowed\./);
  const recovered = await az("keyvault", "recover", "-n", VAULT, "-o", "json");
  assert.equal(recovered.code, 0, recovered.stderr);
  const shown = await az("keyvault", "show", "-n", VAULT, "-o", "json");
  assert.equal(shown.code, 0, shown.stderr);
  assert.equal(shown.json.properties.enablePurgeProtection, true);
  assert.deepEqual(shown.json.properties.networkAcls.ipRules, [{ value: "203.0.113.7/32" }], "recover keeps the vault's settings");
});

test("az keyvault purge of a vault without purge protection frees the name", { skip }, async () => {
  assert.equal((await az("keyvault", "create", "-g", RG, "-n", "az-kv-purge", "--location", "eastus", "-o", "none")).code, 0);
  assert.equal((await az("keyvault", "delete", "-n", "az-kv-purge")).code, 0);
  const purge = await az("keyvault", "purge", "-n", "az-kv-purge");
  assert.equal(purge.code, 0, purge.stderr);
  const listed = await az("keyvault", "list-deleted", "--resource-type", "vault", "--query", "[].name", "-o", "json");
  assert.ok(!(listed.json as string[]).includes("az-kv-purge"));
  const again = await az("keyvault", "create", "-g", `${RG}-2`, "-n", "az-kv-purge", "--location", "eastus", "-o", "json");
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.json.id, vaultId("az-kv-purge", `${RG}-2`));
});

test("az role assignment create --role 'Key Vault Crypto Service Encryption User' at a vault scope", { skip }, async () => {
  const rbac = await az("keyvault", "create", "-g", RG, "-n", "az-kv-rbac", "--location", "eastus", "--enable-rbac-authorization", "true", "-o", "json");
  assert.equal(rbac.code, 0, rbac.stderr);
  assert.equal(rbac.json.properties.enableRbacAuthorization, true);
  const oid = (await az("identity", "show", "-g", RG, "-n", "az-kv-id", "--query", "principalId", "-o", "tsv")).stdout.trim();
  const scope = vaultId("az-kv-rbac");
  const res = await az("role", "assignment", "create", "--role", "Key Vault Crypto Service Encryption User", "--assignee-object-id", oid, "--assignee-principal-type", "ServicePrincipal", "--scope", scope, "-o", "json");
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.json.scope, scope);
  assert.equal(res.json.principalId, oid);
  assert.equal(res.json.principalType, "ServicePrincipal");
  assert.equal(res.json.roleDefinitionId, `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/e147488a-f6f5-4113-8e2d-b22465e65bf6`);
  const ghost = await az("role", "assignment", "create", "--role", "Key Vault Crypto Officer", "--assignee-object-id", "00000000-0000-0000-0000-000000000001", "--assignee-principal-type", "ServicePrincipal", "--scope", scope);
  assert.equal(ghost.code, 1);
  assert.match(ghost.stderr, /\(PrincipalNotFound\) Principal 00000000000000000000000000000001 does not exist in the directory/);
  const listed = await az("role", "assignment", "list", "--scope", scope, "-o", "json");
  assert.equal(listed.code, 0, listed.stderr);
  assert.deepEqual((listed.json as any[]).map((a) => [a.principalId, a.roleDefinitionName]), [[oid, "Key Vault Crypto Service Encryption User"]]);
  const unknownRole = await az("role", "assignment", "create", "--role", "Key Vault Nonsense", "--assignee-object-id", oid, "--assignee-principal-type", "ServicePrincipal", "--scope", scope);
  assert.equal(unknownRole.code, 1);
  assert.match(unknownRole.stderr, /Role 'Key Vault Nonsense' doesn't exist\./);
});

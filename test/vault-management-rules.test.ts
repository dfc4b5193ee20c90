import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { ArmError } from "../src/arm/index.js";
import {
  applyAccessPolicyOperation,
  isValidVaultName,
  normalizeIpRule,
  purgeAllowed,
  readAccessPolicies,
  readNetworkAcls,
  resolveVaultProps,
  scheduledPurgeDate,
  vaultUriFor,
  type VaultProps,
} from "../src/vault/management/vault-rules.js";
import { actionMatches, dataActionsOf, findRole, findRoleByName } from "../src/vault/management/role-definitions.js";
import { parseAuthorizationFilter, roleGuidFromId } from "../src/vault/management/role-assignments.js";

/** The pure rules of the management plane (vault-rules.ts, role-definitions.ts, filter and id parsing). */
const T = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const O = "11111111-2222-3333-4444-555555555555";
const O2 = "66666666-2222-3333-4444-555555555555";

const armError = (code: string, message?: RegExp | string) => (e: unknown) => {
  assert.ok(e instanceof ArmError, String(e));
  assert.equal(e.code, code);
  if (typeof message === "string") assert.equal(e.message, message);
  else if (message) assert.match(e.message, message);
  return true;
};

describe("vault names", () => {
  test("3-24 letters, digits and hyphens, starting with a letter, ending with a letter or digit, no '--'", () => {
    for (const ok of ["abc", "a-b-c1", "Vault-01", "a".repeat(24), "kv9"]) assert.equal(isValidVaultName(ok), true, ok);
    for (const bad of ["ab", "a".repeat(25), "1abc", "ab--c", "abc-", "ab_c", "-abc", "ab.c", ""]) assert.equal(isValidVaultName(bad), false, bad);
  });
});

describe("access policies", () => {
  test("permission names compare case-insensitively and keep the caller's spelling", () => {
    const [p] = readAccessPolicies([{ tenantId: T, objectId: O, permissions: { keys: ["Get", "WRAPKEY", "unwrapKey", "get"], secrets: ["list"] } }]);
    assert.deepEqual(p, { tenantId: T, objectId: O, permissions: { keys: ["Get", "WRAPKEY", "unwrapKey", "get"], secrets: ["list"] } });
  });

  test("an unknown permission, or a permission of another kind, is Azure's 400", () => {
    assert.throws(() => readAccessPolicies([{ tenantId: T, objectId: O, permissions: { keys: ["fly"] } }]), armError("BadRequest", "An invalid value was provided for 'accessPolicies'."));
    assert.throws(() => readAccessPolicies([{ tenantId: T, objectId: O, permissions: { keys: ["set"] } }]), armError("BadRequest"), "set is a secret permission");
    assert.throws(() => readAccessPolicies([{ tenantId: T, objectId: O, permissions: { keys: [" get"] } }]), armError("BadRequest"), "Azure/azure-libraries-for-net#361: a stray space");
    assert.throws(() => readAccessPolicies({}), armError("BadRequest"));
  });

  test("object and tenant ids must be GUIDs", () => {
    assert.throws(() => readAccessPolicies([{ tenantId: T, objectId: "me", permissions: {} }]), armError("BadRequest", "Invalid value found at accessPolicies[0].ObjectId: me"));
    assert.throws(() => readAccessPolicies([{ tenantId: T, objectId: O, permissions: {} }, { tenantId: "x", objectId: O, permissions: {} }]), armError("BadRequest", "Invalid value found at accessPolicies[1].TenantId: x"));
  });

  test("add merges into the matching entry or appends; replace overwrites; remove drops permissions, then the entry", () => {
    const base = readAccessPolicies([{ tenantId: T, objectId: O, permissions: { keys: ["get"] } }]);
    const added = applyAccessPolicyOperation(base, "add", readAccessPolicies([{ tenantId: T, objectId: O.toUpperCase(), permissions: { keys: ["GET", "wrapKey"], secrets: ["get"] } }, { tenantId: T, objectId: O2, permissions: { keys: ["list"] } }]));
    assert.deepEqual(added, [
      { tenantId: T, objectId: O, permissions: { keys: ["get", "wrapKey"], secrets: ["get"] } },
      { tenantId: T, objectId: O2, permissions: { keys: ["list"] } },
    ]);
    assert.deepEqual(base[0]!.permissions, { keys: ["get"] }, "the input is not mutated");
    const replaced = applyAccessPolicyOperation(added, "replace", readAccessPolicies([{ tenantId: T, objectId: O, permissions: { keys: ["unwrapKey"] } }]));
    assert.deepEqual(replaced[0]!.permissions, { keys: ["unwrapKey"] });
    const removedSome = applyAccessPolicyOperation(added, "remove", readAccessPolicies([{ tenantId: T, objectId: O, permissions: { keys: ["wrapKey"] } }]));
    assert.deepEqual(removedSome[0]!.permissions, { keys: ["get"], secrets: ["get"] });
    const removedAll = applyAccessPolicyOperation(added, "remove", readAccessPolicies([{ tenantId: T, objectId: O2, permissions: { keys: ["list"] } }]));
    assert.deepEqual(removedAll.map((e) => e.objectId), [O]);
    const removedEntry = applyAccessPolicyOperation(added, "remove", readAccessPolicies([{ tenantId: T, objectId: O, permissions: {} }]));
    assert.deepEqual(removedEntry.map((e) => e.objectId), [O2]);
  });
});

describe("vault properties", () => {
  const create = (props: Record<string, unknown>) => resolveVaultProps(undefined, { tenantId: T, sku: { family: "A", name: "standard" }, ...props }, "put");

  test("defaults: soft delete on for 90 days, no purge protection, access policies [], firewall open", () => {
    const p = create({});
    assert.equal(p.enableSoftDelete, true);
    assert.equal(p.softDeleteRetentionInDays, 90);
    assert.equal(p.enablePurgeProtection, false);
    assert.equal(p.enableRbacAuthorization, false);
    assert.deepEqual(p.accessPolicies, []);
    assert.deepEqual(p.networkAcls, { defaultAction: "Allow", bypass: "AzureServices", ipRules: [], virtualNetworkRules: [] });
    assert.equal(p.publicNetworkAccess, "Enabled");
    assert.deepEqual(p.sku, { family: "A", name: "standard" });
  });

  test("tenantId and sku are required on create and checked", () => {
    assert.throws(() => resolveVaultProps(undefined, { sku: { family: "A", name: "standard" } }, "put"), armError("BadRequest", "An invalid value was provided for 'tenantId'."));
    assert.throws(() => resolveVaultProps(undefined, { tenantId: T }, "put"), armError("BadRequest", "An invalid value was provided for 'sku'."));
    assert.throws(() => create({ sku: { family: "A", name: "gold" } }), armError("BadRequest", "An invalid value was provided for 'sku.name'."));
    assert.equal(create({ sku: { family: "a", name: "Premium" } }).sku.name, "premium");
  });

  test("softDeleteRetentionInDays must be an integer from 7 to 90", () => {
    for (const bad of [6, 91, 7.5, "30", 0]) assert.throws(() => create({ softDeleteRetentionInDays: bad }), armError("BadRequest", /softDeleteRetentionInDays.*between 7 and 90/), String(bad));
    assert.equal(create({ softDeleteRetentionInDays: 7 }).softDeleteRetentionInDays, 7);
    assert.equal(create({ softDeleteRetentionInDays: 90 }).softDeleteRetentionInDays, 90);
  });

  test("irreversible settings: purge protection, soft delete, retention", () => {
    const on: VaultProps = create({ enablePurgeProtection: true, softDeleteRetentionInDays: 30 });
    assert.throws(() => resolveVaultProps(on, { enablePurgeProtection: false }, "patch"), armError("BadRequest", 'The property "enablePurgeProtection" cannot be set to false. Enabling the purge protection for a vault is an irreversible action.'));
    assert.throws(() => create({ enablePurgeProtection: false }), armError("BadRequest"), "Azure refuses an explicit false even on create");
    assert.equal(resolveVaultProps(on, {}, "patch").enablePurgeProtection, true, "omitted keeps it on");
    assert.throws(() => resolveVaultProps(on, { enableSoftDelete: false }, "patch"), armError("BadRequest", /enableSoftDelete/));
    assert.throws(() => resolveVaultProps(on, { softDeleteRetentionInDays: 31 }, "patch"), armError("BadRequest", /can't be modified/));
    assert.equal(resolveVaultProps(on, { softDeleteRetentionInDays: 30 }, "put").softDeleteRetentionInDays, 30, "the same value is fine (az sends it back)");
    assert.throws(() => create({ enableSoftDelete: false, enablePurgeProtection: true }), armError("BadRequest", /enablePurgeProtection/));
  });

  test("a PATCH changes only what it names", () => {
    const base = create({ enableRbacAuthorization: true, networkAcls: { defaultAction: "Deny", ipRules: [{ value: "10.0.0.0/8" }] } });
    const next = resolveVaultProps(base, { enabledForDeployment: true }, "patch");
    assert.deepEqual({ ...next, enabledForDeployment: false }, base);
    assert.throws(() => resolveVaultProps(base, { enableRbacAuthorization: "yes" }, "patch"), armError("BadRequest", "An invalid value was provided for 'enableRbacAuthorization'."));
  });

  test("network ACLs: enums are case-insensitive, single IPs become /32, subnet ids are lower-cased", () => {
    const acls = readNetworkAcls({ defaultAction: "deny", bypass: "azureservices", ipRules: [{ value: "203.0.113.7" }, { value: "10.0.0.0/8" }], virtualNetworkRules: [{ id: "/subscriptions/S/resourceGroups/RG/providers/Microsoft.Network/virtualNetworks/V/subnets/A" }] });
    assert.deepEqual(acls, {
      defaultAction: "Deny",
      bypass: "AzureServices",
      ipRules: [{ value: "203.0.113.7/32" }, { value: "10.0.0.0/8" }],
      virtualNetworkRules: [{ id: "/subscriptions/s/resourcegroups/rg/providers/microsoft.network/virtualnetworks/v/subnets/a" }],
    });
    assert.deepEqual(readNetworkAcls({ bypass: "None" }).defaultAction, "Allow");
    assert.throws(() => readNetworkAcls({ defaultAction: "Block" }), armError("BadRequest", "An invalid value was provided for 'networkAcls.defaultAction'."));
    for (const bad of ["300.1.1.1", "10.0.0.0/33", "::1", "host", "1.2.3.4/8/1"]) assert.equal(normalizeIpRule(bad), undefined, bad);
  });
});

describe("soft-delete clock and vault URIs", () => {
  test("scheduled purge date is deletion plus the retention days; purge protection holds until then", () => {
    const t = Date.UTC(2026, 0, 1);
    const s = scheduledPurgeDate(t, 7);
    assert.equal(new Date(s).toISOString(), "2026-01-08T00:00:00.000Z");
    assert.equal(purgeAllowed(true, s, s - 1), false);
    assert.equal(purgeAllowed(true, s, s), true);
    assert.equal(purgeAllowed(false, s, t), true);
  });

  test("vaultUri: vault.azure.net through the proxy, vault.localhost:port directly", () => {
    assert.equal(vaultUriFor("MyVault", "management.azure.com", 8443), "https://myvault.vault.azure.net/");
    assert.equal(vaultUriFor("MyVault", "management.azure.com:443", 8443), "https://myvault.vault.azure.net/");
    assert.equal(vaultUriFor("MyVault", "localhost:8443", 8443), "https://myvault.vault.localhost:8443/");
    assert.equal(vaultUriFor("kv", "127.0.0.1:9000", 9000), "https://kv.vault.localhost:9000/");
  });
});

describe("RBAC rules", () => {
  test("the built-in Key Vault roles carry their real GUIDs", () => {
    assert.equal(findRole("00482a5a-887f-4fb3-b363-3b7fe8e74483")!.roleName, "Key Vault Administrator");
    assert.equal(findRole("14b46e9e-c2b7-41b4-b07b-48a6ebf60603")!.roleName, "Key Vault Crypto Officer");
    assert.equal(findRole("E147488A-F6F5-4113-8E2D-B22465E65BF6")!.roleName, "Key Vault Crypto Service Encryption User");
    assert.equal(findRole("12338af0-0e69-4776-bea7-57ae8d297424")!.roleName, "Key Vault Crypto User");
    assert.equal(findRole("21090545-7ca7-4776-b22c-e363652d74d2")!.roleName, "Key Vault Reader");
    assert.equal(findRoleByName("key vault crypto officer")!.guid, "14b46e9e-c2b7-41b4-b07b-48a6ebf60603");
  });

  test("action patterns: case-insensitive, * spans segments", () => {
    assert.equal(actionMatches("Microsoft.KeyVault/vaults/*", "microsoft.keyvault/vaults/keys/unwrap/action"), true);
    assert.equal(actionMatches("Microsoft.KeyVault/vaults/*/read", "Microsoft.KeyVault/vaults/storageaccounts/sas/read"), true);
    assert.equal(actionMatches("Microsoft.KeyVault/vaults/*/read", "Microsoft.KeyVault/vaults/keys/wrap/action"), false);
    assert.equal(actionMatches("Microsoft.KeyVault/vaults/keys/read", "Microsoft.KeyVault/vaults/keys/readx"), false);
  });

  test("data actions per role: Reader reads metadata only, Crypto Officer gets keys and rotation policies, Owner none", () => {
    const reader = dataActionsOf([findRoleByName("Key Vault Reader")!]);
    assert.ok(reader.includes("Microsoft.KeyVault/vaults/keys/read"));
    assert.ok(reader.includes("Microsoft.KeyVault/vaults/keyrotationpolicies/read"));
    assert.ok(reader.includes("Microsoft.KeyVault/vaults/secrets/readMetadata/action"));
    assert.ok(!reader.includes("Microsoft.KeyVault/vaults/secrets/getSecret/action"));
    assert.ok(!reader.includes("Microsoft.KeyVault/vaults/keys/unwrap/action"));
    const officer = dataActionsOf([findRoleByName("Key Vault Crypto Officer")!]);
    assert.equal(officer.filter((a) => a.includes("/keys/")).length, 17);
    assert.ok(officer.includes("Microsoft.KeyVault/vaults/keyrotationpolicies/write"));
    assert.ok(!officer.some((a) => a.includes("/secrets/")));
    assert.deepEqual(dataActionsOf([findRoleByName("Owner")!]), []);
  });

  test("authorization filters and role definition ids", () => {
    assert.deepEqual(parseAuthorizationFilter("atScope() and assignedTo('ABC')"), [{ kind: "atScope" }, { kind: "principal", value: "abc" }]);
    assert.deepEqual(parseAuthorizationFilter("roleName eq 'Key Vault Crypto Service Encryption User'"), [{ kind: "roleName", value: "Key Vault Crypto Service Encryption User" }]);
    assert.deepEqual(parseAuthorizationFilter(null), []);
    assert.throws(() => parseAuthorizationFilter("roleName ne 'x'"), armError("UnsupportedQuery"));
    assert.equal(roleGuidFromId("/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/E147488A-F6F5-4113-8E2D-B22465E65BF6"), "e147488a-f6f5-4113-8e2d-b22465e65bf6");
    assert.equal(roleGuidFromId("/providers/Microsoft.Authorization/roleDefinitions/e147488a-f6f5-4113-8e2d-b22465e65bf6"), "e147488a-f6f5-4113-8e2d-b22465e65bf6");
    assert.equal(roleGuidFromId("e147488a-f6f5-4113-8e2d-b22465e65bf6"), undefined);
  });
});

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { actionMatches, diagnose, formatDuration, parseKid, policyGrants, timelineOf, type ServerFacts } from "../src/doctor/index.js";

/** The doctor's detection rules as pure functions of plain facts (no tdekv needed). */

const SUB = "11111111-1111-1111-1111-111111111111";
const TENANT = "22222222-2222-2222-2222-222222222222";
const SID = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Sql/servers/s1`;
const KID = "https://kv1.vault.azure.net/keys/tde/0123456789abcdef0123456789abcdef";
const NOW = Date.parse("2026-11-28T12:00:00Z");
const P = "33333333-3333-3333-3333-333333333333";

function facts(patch: (f: ServerFacts) => void = () => undefined): ServerFacts {
  const f: ServerFacts = {
    server: { id: SID, name: "s1", type: "Microsoft.Sql/servers", location: "eastus", identity: { type: "SystemAssigned", principalId: P, tenantId: TENANT }, properties: {} },
    managed: false,
    subscriptionId: SUB,
    resourceGroup: "rg",
    subscriptionTenantId: TENANT,
    identity: { type: "SystemAssigned", source: "system", principalId: P, tenantId: TENANT, principal: { found: true, resourceIds: [SID] } },
    protector: { serverKeyType: "AzureKeyVault", uri: KID, serverKeyName: "kv1_tde_0123456789abcdef0123456789abcdef" },
    vault: {
      name: "kv1",
      state: "active",
      id: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1`,
      resourceGroup: "rg",
      subscriptionId: SUB,
      subscriptionTenantId: TENANT,
      tenantId: TENANT,
      networkAcls: { defaultAction: "Allow", bypass: "AzureServices" },
      enableSoftDelete: true,
      enablePurgeProtection: true,
      accessPolicies: [{ tenantId: TENANT, objectId: P, permissions: { keys: ["get", "wrapKey", "unwrapKey"] } }],
    },
    key: { kid: KID, name: "tde", version: "0123456789abcdef0123456789abcdef", state: "present", enabled: true, kty: "RSA", keySize: 2048, recoveryLevel: "Recoverable" },
    access: { model: "accessPolicy", granted: ["get", "wrapKey", "unwrapKey"], missing: [], via: ["access policy"] },
    databases: [{ id: `${SID}/databases/db`, name: "db", status: "Online", events: [] }],
    faults: {},
    now: NOW,
    windowMs: 30 * 60_000,
  };
  patch(f);
  return f;
}

const only = (f: ServerFacts) => {
  const d = diagnose(f, { defaultSubscriptionId: SUB });
  assert.equal(d.problems.length, 1, d.problems.map((p) => p.cause).join(", "));
  return d.problems[0]!;
};

describe("diagnose", () => {
  test("a correct configuration has no problem and every check passes", () => {
    const d = diagnose(facts(), { defaultSubscriptionId: SUB });
    assert.deepEqual(d.problems, []);
    assert.ok(d.checks.every((c) => c.status === "ok"));
  });

  test("a purgeable key (no purge protection) is SecurityInvalidAzureKeyVaultRecoveryLevel, fixed by enabling purge protection", () => {
    const p = only(facts((f) => (f.key!.recoveryLevel = "Recoverable+Purgeable")));
    assert.equal(p.code, "SecurityInvalidAzureKeyVaultRecoveryLevel");
    assert.equal(p.mitigation[0]!.command, "az keyvault update -n kv1 -g rg --enable-purge-protection true");
  });

  test("a key not yet valid, and an unsupported key size", () => {
    const early = only(facts((f) => (f.key!.nbf = NOW / 1000 + 3600)));
    assert.equal(early.cause, "key-not-yet-valid");
    assert.equal(early.code, "AzureKeyVaultInvalidExpirationDate");
    assert.equal(early.mitigation[0]!.command, `az keyvault key set-attributes --id ${KID} --not-before 2026-11-28T12:00:00Z`);
    const small = only(facts((f) => (f.key!.keySize = 4096)));
    assert.equal(small.code, "AzureKeyVaultRsaKeyNotSupported");
  });

  test("a purged vault is vault-missing (start over); a purged key is key-missing (restore from backup)", () => {
    const v = only(facts((f) => ((f.vault = { name: "kv1", state: "missing" }), delete f.key, delete f.access)));
    assert.equal(v.cause, "vault-missing");
    assert.equal(v.code, "AzureKeyVaultConnectionFailed");
    const k = only(facts((f) => (f.key = { kid: KID, name: "tde", state: "missing" })));
    assert.equal(k.code, "ServerKeyNotFound");
    assert.match(k.mitigation[0]!.command, /^az keyvault key restore --vault-name kv1 --file tde\.backup$/);
  });

  test("publicNetworkAccess Disabled without the trusted-services bypass blocks the server", () => {
    const p = only(facts((f) => (f.vault!.publicNetworkAccess = "Disabled", (f.vault!.networkAcls = { defaultAction: "Allow", bypass: "None" }))));
    assert.equal(p.cause, "firewall-no-trusted-services");
    assert.deepEqual(p.fixes, [{ kind: "allow-trusted-services", vaultId: facts().vault!.id }]);
    const ok = diagnose(facts((f) => (f.vault!.publicNetworkAccess = "Disabled")), {});
    assert.deepEqual(ok.problems, [], "trusted services pass a closed vault when bypass is AzureServices");
  });

  test("a principal that belongs to another resource id: the server was moved", () => {
    const p = only(facts((f) => (f.identity.principal = { found: true, resourceIds: [SID.replace(SUB, "44444444-4444-4444-4444-444444444444")] })));
    assert.equal(p.cause, "moved-subscription");
    assert.equal(p.code, "AzureKeyVaultNoServerIdentity");
  });

  test("a vault in another tenant's subscription cannot be fixed by changing its tenant id", () => {
    const p = only(
      facts((f) => {
        f.vault!.tenantId = "55555555-5555-5555-5555-555555555555";
        f.vault!.subscriptionTenantId = "55555555-5555-5555-5555-555555555555";
      }),
    );
    assert.equal(p.cause, "moved-tenant");
    assert.match(p.mitigation[0]!.command, /^# vault kv1 is in another tenant's subscription: cross-tenant key vaults are not supported/);
  });

  test("the window: minutes left while it is open, a revalidation once it closed", () => {
    const open = only(
      facts((f) => {
        f.key!.enabled = false;
        f.databases[0] = { ...f.databases[0]!, status: "Inaccessible", lostAt: "2026-11-28T11:48:00Z", events: [] };
      }),
    );
    assert.equal(open.databases[0]!.windowLeftMs, 18 * 60_000);
    assert.equal(open.revalidation.needed, false);
    assert.match(open.revalidation.detail, /^not needed if access is restored within 18m 00s \(before 2026-11-28T12:18:00Z\)/);
    const closed = only(
      facts((f) => {
        f.key!.enabled = false;
        f.databases[0] = { ...f.databases[0]!, status: "Inaccessible", lostAt: "2026-11-28T11:00:00Z", events: [] };
      }),
    );
    assert.equal(closed.revalidation.needed, true);
    assert.equal(closed.databases[0]!.windowLeftMs, 0);
  });

  test("access works again but the database is down: healing inside the window, revalidation-needed after it", () => {
    const down = (lostAt: string, closedAt?: string) =>
      facts((f) => (f.databases[0] = { ...f.databases[0]!, status: "Inaccessible", lostAt, ...(closedAt ? { windowClosedAt: closedAt } : {}), lostCode: "AzureKeyVaultKeyDisabled", lostCause: "key-disabled", events: [] }));
    const healing = only(down("2026-11-28T11:55:00Z"));
    assert.equal(healing.cause, "healing");
    assert.equal(healing.code, "AzureKeyVaultKeyDisabled");
    const late = only(down("2026-11-28T11:00:00Z", "2026-11-28T11:31:00Z"));
    assert.equal(late.cause, "revalidation-needed");
    assert.equal(late.mitigation[0]!.command, `az rest --method post --url "https://management.azure.com${SID}/encryptionProtector/current/revalidate?api-version=2020-11-01-preview"`);
  });

  test("service-managed TDE: nothing in Key Vault to check", () => {
    const d = diagnose(facts((f) => (f.protector = { serverKeyType: "ServiceManaged" })), {});
    assert.deepEqual(d.problems, []);
    assert.match(d.checks[0]!.detail, /service-managed/);
  });

  test("another subscription than az's default gets --subscription", () => {
    const p = only(facts((f) => ((f.identity = { type: "None", source: "none" }), delete f.access)));
    assert.equal(p.mitigation[0]!.command, "az sql server update -g rg -n s1 --assign_identity");
    const q = diagnose(facts((f) => ((f.identity = { type: "None", source: "none" }), delete f.access)), { defaultSubscriptionId: "99999999-9999-9999-9999-999999999999" }).problems[0]!;
    assert.equal(q.mitigation[0]!.command, `az sql server update -g rg -n s1 --subscription ${SUB} --assign_identity`);
  });
});

describe("helpers", () => {
  test("timelineOf: the newest loss not followed by a recovery, and whether its window closed", () => {
    const ev = (eventName: string, status: string, at: string) => ({ eventName, status, at });
    assert.deepEqual(timelineOf([ev("MakeDatabaseInaccessible", "Succeeded", "t3"), ev("MakeDatabaseInaccessible", "Started", "t2"), ev("MakeDatabaseAccessible", "Succeeded", "t1"), ev("MakeDatabaseInaccessible", "Started", "t0")]), { lostAt: "t2", windowClosedAt: "t3" });
    assert.deepEqual(timelineOf([ev("MakeDatabaseAccessible", "Succeeded", "t2"), ev("MakeDatabaseInaccessible", "Started", "t1")]), {});
    assert.deepEqual(timelineOf([ev("MakeManagedDbInaccessible", "Started", "t1")]), { lostAt: "t1" });
  });

  test("parseKid, policyGrants, actionMatches, formatDuration", () => {
    assert.deepEqual(parseKid(KID), { vault: "kv1", name: "tde", version: "0123456789abcdef0123456789abcdef" });
    assert.deepEqual(parseKid("https://KV1.vault.azure.net/keys/tde"), { vault: "kv1", name: "tde" });
    assert.deepEqual(policyGrants(["Get", "WrapKey"]), ["get", "wrapKey"]);
    assert.deepEqual(policyGrants(["all"]), ["get", "wrapKey", "unwrapKey"]);
    assert.ok(actionMatches("Microsoft.KeyVault/vaults/keys/*", "Microsoft.KeyVault/vaults/keys/unwrap/action"));
    assert.ok(!actionMatches("Microsoft.KeyVault/vaults/*/read", "Microsoft.KeyVault/vaults/keys/unwrap/action"));
    assert.equal(formatDuration(18 * 60_000), "18m 00s");
    assert.equal(formatDuration(3_725_000), "1h 02m");
    assert.equal(formatDuration(45_000), "45s");
  });
});

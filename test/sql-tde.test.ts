import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { decodeJwt } from "jose";
import { startInstance, request, clientToken, type Instance } from "./harness.js";
import { sdkClients } from "./clients.js";

/**
 * Issue 4 verification: @azure/arm-sql unmodified against servers, server keys, the encryption protector and
 * databases, with every configuration-time error produced by its real cause in a real vault.
 */
const MARKER = "TDEKV-MARKER-4f1d2c-never-on-disk";
let inst: Instance;
let c: ReturnType<typeof sdkClients>;
let adminOid: string;
let tenantId: string;
const RG = "tde-rg";

function rejectsWith(status: number, code: string) {
  return (e: { statusCode?: number; code?: string; message?: string }) => {
    assert.equal(e.code, code, e.message);
    assert.equal(e.statusCode, status, e.message);
    return true;
  };
}

async function createVault(name: string, opts: { purgeProtection?: boolean; softDelete?: boolean } = {}) {
  await c.kvm.vaults.beginCreateOrUpdateAndWait(
    RG,
    name,
    {
      location: "eastus",
      properties: {
        tenantId,
        sku: { family: "A", name: "standard" },
        accessPolicies: [{ tenantId, objectId: adminOid, permissions: { keys: ["all"] } }],
        enableSoftDelete: opts.softDelete ?? true,
        ...(opts.purgeProtection === false ? {} : { enablePurgeProtection: true }),
      },
    } as any,
    c.poll as any,
  );
}

async function grant(vault: string, objectId: string, keys: string[]) {
  await c.kvm.vaults.updateAccessPolicy(RG, vault, "replace", { properties: { accessPolicies: [{ tenantId, objectId, permissions: { keys } }] } } as any);
}

async function query(server: string, database: string, sql: string, params: unknown[] = []) {
  const token = await clientToken(inst, "https://management.azure.com/.default");
  return request(inst, "POST", "/_tdekv/sql/query", { headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ server, database, sql, params }) });
}

async function serverWithIdentity(name: string): Promise<string> {
  const s = await c.sql.servers.beginCreateOrUpdateAndWait(RG, name, { location: "eastus", administratorLogin: "sqladmin", administratorLoginPassword: "Str0ng!Passw0rd", identity: { type: "SystemAssigned" } }, c.poll);
  return s.identity!.principalId!;
}

const keyName = (kid: string) => {
  const [, host, , k, v] = /^https:\/\/([^.]+)\.[^/]+\/(keys)\/([^/]+)\/([^/]+)$/.exec(kid)!;
  return `${host}_${k}_${v}`;
};

before(async () => {
  inst = await startInstance({ args: ["--rotation-check-interval", "0.2"] });
  c = sdkClients(inst);
  tenantId = inst.endpoints.tenantId;
  adminOid = decodeJwt(await clientToken(inst, "https://management.azure.com/.default")).oid as string;
  await c.rm.resourceGroups.createOrUpdate(RG, { location: "eastus" });
  await createVault("tde-kv");
});
after(async () => {
  await inst.stop();
});

describe("servers", () => {
  test("create, read, update identity, list; FQDN and state", async () => {
    const s = await c.sql.servers.beginCreateOrUpdateAndWait(RG, "srv-basic", { location: "eastus", administratorLogin: "sqladmin", administratorLoginPassword: "Str0ng!Passw0rd" }, c.poll);
    assert.equal(s.fullyQualifiedDomainName, "srv-basic.database.windows.net");
    assert.equal(s.state, "Ready");
    assert.equal(s.identity, undefined);
    assert.equal((s as any).administratorLoginPassword, undefined, "the password is never returned");
    const withId = await c.sql.servers.beginCreateOrUpdateAndWait(RG, "srv-basic", { location: "eastus", identity: { type: "SystemAssigned" } }, c.poll);
    assert.match(withId.identity!.principalId!, /^[0-9a-f-]{36}$/);
    assert.equal(withId.identity!.tenantId, tenantId);
    const names: string[] = [];
    for await (const x of c.sql.servers.listByResourceGroup(RG)) names.push(x.name!);
    assert.ok(names.includes("srv-basic"));
    await assert.rejects(c.sql.servers.get(RG, "nope"), rejectsWith(404, "ResourceNotFound"));
    await assert.rejects(
      c.sql.servers.beginCreateOrUpdateAndWait(RG, "srv-weak", { location: "eastus", administratorLogin: "a", administratorLoginPassword: "short" }, c.poll),
      rejectsWith(400, "PasswordNotComplex"),
    );
  });

  test("user-assigned identity as primary; a missing identity is refused", async () => {
    const uami = await c.msi.userAssignedIdentities.createOrUpdate(RG, "sql-uami", { location: "eastus" });
    const s = await c.sql.servers.beginCreateOrUpdateAndWait(
      RG,
      "srv-uami",
      { location: "eastus", administratorLogin: "sqladmin", administratorLoginPassword: "Str0ng!Passw0rd", identity: { type: "UserAssigned", userAssignedIdentities: { [uami.id!]: {} } }, primaryUserAssignedIdentityId: uami.id },
      c.poll,
    );
    assert.equal(s.primaryUserAssignedIdentityId, uami.id);
    assert.equal(s.identity!.userAssignedIdentities![uami.id!]!.principalId, uami.principalId);
    await assert.rejects(
      c.sql.servers.beginCreateOrUpdateAndWait(RG, "srv-uami-bad", { location: "eastus", administratorLogin: "a", administratorLoginPassword: "Str0ng!Passw0rd", identity: { type: "UserAssigned", userAssignedIdentities: {} } }, c.poll),
      rejectsWith(400, "MissingIdentityId"),
    );
  });
});

describe("server keys: each configuration error from its real cause", () => {
  let kid: string;
  before(async () => {
    kid = (await c.keys("tde-kv").createRsaKey("tde-key", { keySize: 2048 })).id!;
  });

  test("401 AzureKeyVaultNoServerIdentity without an identity", async () => {
    await c.sql.servers.beginCreateOrUpdateAndWait(RG, "srv-noid", { location: "eastus", administratorLogin: "sqladmin", administratorLoginPassword: "Str0ng!Passw0rd" }, c.poll);
    await assert.rejects(c.sql.serverKeys.beginCreateOrUpdateAndWait(RG, "srv-noid", keyName(kid), { serverKeyType: "AzureKeyVault", uri: kid }, c.poll), rejectsWith(401, "AzureKeyVaultNoServerIdentity"));
  });

  test("401 AzureKeyVaultMissingPermissions names what is missing, until get, wrapKey and unwrapKey are all granted", async () => {
    const principal = await serverWithIdentity("srv-perms");
    const attempt = () => c.sql.serverKeys.beginCreateOrUpdateAndWait(RG, "srv-perms", keyName(kid), { serverKeyType: "AzureKeyVault", uri: kid }, c.poll);
    await assert.rejects(attempt(), (e: { code?: string; statusCode?: number; message?: string }) => e.code === "AzureKeyVaultMissingPermissions" && e.statusCode === 401 && /get, wrapKey, unwrapKey/.test(e.message!));
    await grant("tde-kv", principal, ["get", "wrapKey"]);
    await assert.rejects(attempt(), (e: { code?: string; message?: string }) => e.code === "AzureKeyVaultMissingPermissions" && /missing: unwrapKey/.test(e.message!));
    await grant("tde-kv", principal, ["get", "wrapKey", "unwrapKey"]);
    const key = await attempt();
    assert.equal(key.uri, kid);
    assert.match(key.thumbprint!, /^[0-9A-F]{40}$/);
    assert.equal(key.kind, "azurekeyvault");
    await assert.rejects(c.sql.serverKeys.get(RG, "srv-perms", "tde-kv_nokey_0123456789abcdef0123456789abcdef"), rejectsWith(404, "ServerKeyNotFound"));
    await assert.rejects(c.sql.encryptionProtectors.beginCreateOrUpdateAndWait(RG, "srv-perms", "current", { serverKeyType: "AzureKeyVault", serverKeyName: "tde-kv_nokey_0123456789abcdef0123456789abcdef" }, c.poll), rejectsWith(409, "ServerKeyDoesNotExists"));
    await assert.rejects(c.sql.serverKeys.beginCreateOrUpdateAndWait(RG, "srv-perms", "wrong_name_1", { serverKeyType: "AzureKeyVault", uri: kid }, c.poll), rejectsWith(400, "InvalidKeyName"));
  });

  test("key state and shape: disabled, expired, not yet valid, EC, RSA-4096, vault without purge protection", async () => {
    const principal = await serverWithIdentity("srv-state");
    const kc = c.keys("tde-kv");
    await createVault("kv-purgeable", { purgeProtection: false });
    const cases: [string, () => Promise<string>, number, string][] = [
      ["disabled", async () => (await kc.createRsaKey("k-disabled", { keySize: 2048, enabled: false })).id!, 400, "AzureKeyVaultKeyDisabled"],
      ["expired", async () => (await kc.createRsaKey("k-expired", { keySize: 2048, expiresOn: new Date(Date.now() - 60_000) })).id!, 400, "AzureKeyVaultInvalidExpirationDate"],
      ["not yet valid", async () => (await kc.createRsaKey("k-future", { keySize: 2048, notBefore: new Date(Date.now() + 86_400_000) })).id!, 400, "AzureKeyVaultInvalidExpirationDate"],
      ["EC", async () => (await kc.createEcKey("k-ec", { curve: "P-256" })).id!, 400, "AzureKeyVaultRsaKeyNotSupported"],
      ["RSA 4096", async () => (await kc.createRsaKey("k-4096", { keySize: 4096 })).id!, 400, "AzureKeyVaultRsaKeyNotSupported"],
      [
        "purgeable vault",
        async () => {
          await c.kvm.vaults.updateAccessPolicy(RG, "kv-purgeable", "add", { properties: { accessPolicies: [{ tenantId, objectId: principal, permissions: { keys: ["get", "wrapKey", "unwrapKey"] } }] } } as any);
          return (await c.keys("kv-purgeable").createRsaKey("k-p", { keySize: 2048 })).id!;
        },
        400,
        "SecurityInvalidAzureKeyVaultRecoveryLevel",
      ],
    ];
    await grant("tde-kv", principal, ["get", "wrapKey", "unwrapKey"]);
    for (const [label, make, status, code] of cases) {
      const id = await make();
      await assert.rejects(c.sql.serverKeys.beginCreateOrUpdateAndWait(RG, "srv-state", keyName(id), { serverKeyType: "AzureKeyVault", uri: id }, c.poll), rejectsWith(status, code), label);
    }
  });

  test("503 AzureKeyVaultConnectionFailed: firewall without trusted services, and a deleted vault", async () => {
    const principal = await serverWithIdentity("srv-fw");
    await createVault("kv-fw");
    await c.kvm.vaults.updateAccessPolicy(RG, "kv-fw", "add", { properties: { accessPolicies: [{ tenantId, objectId: principal, permissions: { keys: ["get", "wrapKey", "unwrapKey"] } }] } } as any);
    const id = (await c.keys("kv-fw").createRsaKey("k-fw", { keySize: 2048 })).id!;
    const attempt = () => c.sql.serverKeys.beginCreateOrUpdateAndWait(RG, "srv-fw", keyName(id), { serverKeyType: "AzureKeyVault", uri: id }, c.poll);
    const vault = await c.kvm.vaults.get(RG, "kv-fw");
    await c.kvm.vaults.update(RG, "kv-fw", { properties: { networkAcls: { defaultAction: "Deny", bypass: "None", ipRules: [], virtualNetworkRules: [] } } } as any);
    await assert.rejects(attempt(), rejectsWith(503, "AzureKeyVaultConnectionFailed"));
    await c.kvm.vaults.update(RG, "kv-fw", { properties: { networkAcls: { defaultAction: "Deny", bypass: "AzureServices", ipRules: [], virtualNetworkRules: [] } } } as any);
    await attempt();
    void vault;
    await c.kvm.vaults.delete(RG, "kv-fw");
    await assert.rejects(attempt(), rejectsWith(503, "AzureKeyVaultConnectionFailed"));
  });
});

describe("protector, databases and data", () => {
  let kid: string;
  before(async () => {
    const principal = await serverWithIdentity("srv-data");
    await c.kvm.vaults.updateAccessPolicy(RG, "tde-kv", "add", { properties: { accessPolicies: [{ tenantId, objectId: principal, permissions: { keys: ["get", "wrapKey", "unwrapKey"] } }] } } as any);
    kid = (await c.keys("tde-kv").createRsaKey("data-key", { keySize: 3072 })).id!;
    await c.sql.serverKeys.beginCreateOrUpdateAndWait(RG, "srv-data", keyName(kid), { serverKeyType: "AzureKeyVault", uri: kid }, c.poll);
  });

  test("ServiceManaged by default; the protector becomes the customer key", async () => {
    const before = await c.sql.encryptionProtectors.get(RG, "srv-data", "current");
    assert.equal(before.serverKeyType, "ServiceManaged");
    assert.equal(before.serverKeyName, "ServiceManaged");
    const after = await c.sql.encryptionProtectors.beginCreateOrUpdateAndWait(RG, "srv-data", "current", { serverKeyType: "AzureKeyVault", serverKeyName: keyName(kid), autoRotationEnabled: false }, c.poll);
    assert.equal(after.serverKeyType, "AzureKeyVault");
    assert.equal(after.uri, kid);
    assert.equal(after.kind, "azurekeyvault");
    await assert.rejects(c.sql.serverKeys.beginDeleteAndWait(RG, "srv-data", keyName(kid), c.poll), rejectsWith(409, "AzureKeyVaultKeyInUse"));
  });

  test("a database is a real encrypted file: a marker written through SQL is readable through SQL and on no file", async () => {
    const db = await c.sql.databases.beginCreateOrUpdateAndWait(RG, "srv-data", "appdb", { location: "eastus" }, c.poll);
    assert.equal(db.status, "Online");
    const tde = await c.sql.transparentDataEncryptions.get(RG, "srv-data", "appdb", "current");
    assert.equal(tde.state, "Enabled");
    assert.equal((await query("srv-data", "appdb", "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")).status, 200);
    assert.equal((await query("srv-data", "appdb", "INSERT INTO notes (body) VALUES (?)", [MARKER])).json.changes, 1);
    const read = await query("srv-data.database.windows.net", "appdb", "SELECT body FROM notes");
    assert.deepEqual(read.json.rows, [{ body: MARKER }]);
    for (const f of fs.readdirSync(inst.dataDir, { recursive: true }) as string[]) {
      const p = path.join(inst.dataDir, f);
      if (fs.statSync(p).isFile()) assert.ok(!fs.readFileSync(p).includes(MARKER), `${f} holds plaintext`);
    }
    const missing = await query("srv-data", "nodb", "SELECT 1");
    assert.equal(missing.json.error.code, "4060");
  });

  test("protector rotation to a new key version, a switch to ServiceManaged and back: data stays readable", async () => {
    const kc = c.keys("tde-kv");
    const v2 = (await kc.createRsaKey("data-key", { keySize: 2048 })).id!;
    assert.notEqual(v2, kid);
    await c.sql.serverKeys.beginCreateOrUpdateAndWait(RG, "srv-data", keyName(v2), { serverKeyType: "AzureKeyVault", uri: v2 }, c.poll);
    await c.sql.encryptionProtectors.beginCreateOrUpdateAndWait(RG, "srv-data", "current", { serverKeyType: "AzureKeyVault", serverKeyName: keyName(v2) }, c.poll);
    assert.deepEqual((await query("srv-data", "appdb", "SELECT body FROM notes")).json.rows, [{ body: MARKER }]);
    await c.sql.encryptionProtectors.beginCreateOrUpdateAndWait(RG, "srv-data", "current", { serverKeyType: "ServiceManaged", serverKeyName: "ServiceManaged" }, c.poll);
    assert.equal((await c.sql.encryptionProtectors.get(RG, "srv-data", "current")).serverKeyType, "ServiceManaged");
    await c.sql.encryptionProtectors.beginCreateOrUpdateAndWait(RG, "srv-data", "current", { serverKeyType: "AzureKeyVault", serverKeyName: keyName(kid) }, c.poll);
    assert.deepEqual((await query("srv-data", "appdb", "SELECT body FROM notes")).json.rows, [{ body: MARKER }]);
    await c.sql.encryptionProtectors.beginRevalidateAndWait(RG, "srv-data", "current", c.poll);
    const keys: string[] = [];
    for await (const k of c.sql.serverKeys.listByServer(RG, "srv-data")) keys.push(k.name!);
    assert.deepEqual(keys.sort(), [keyName(kid), keyName(v2), "ServiceManaged"].sort());
  });

  test("DEK regeneration re-encrypts the file as a long-running scan whose progress can be read", async () => {
    const dmv = async () => (await query("srv-data", "appdb", "SELECT * FROM sys.dm_database_encryption_keys")).json.rows[0];
    const before = await dmv();
    assert.equal(before.encryption_state, 3);
    assert.equal(before.key_length, 256);
    const file = path.join(inst.dataDir, "databases", fs.readdirSync(path.join(inst.dataDir, "databases")).find((f) => f.endsWith(".db") && fs.readFileSync(path.join(inst.dataDir, "databases", f + ".boot.json"), "utf8").includes(before.encryptor_thumbprint))!);
    const bootBefore = JSON.parse(fs.readFileSync(`${file}.boot.json`, "utf8"));
    const started = await query("srv-data", "appdb", "ALTER DATABASE ENCRYPTION KEY REGENERATE WITH ALGORITHM = AES_256");
    assert.equal(started.status, 200, started.text);
    let row = await dmv();
    for (let i = 0; i < 200 && (row.encryption_state !== 3 || row.last_regeneration_state !== "done"); i++) {
      await new Promise((r) => setTimeout(r, 20));
      row = await dmv();
    }
    assert.equal(row.last_regeneration_state, "done");
    assert.equal(row.encryption_state_desc, "ENCRYPTED");
    const bootAfter = JSON.parse(fs.readFileSync(`${file}.boot.json`, "utf8"));
    assert.notEqual(bootAfter.dekId, bootBefore.dekId, "a new DEK");
    assert.deepEqual((await query("srv-data", "appdb", "SELECT body FROM notes")).json.rows, [{ body: MARKER }]);
  });

  test("with auto-rotation on, a new key version becomes the protector within the check interval", async () => {
    await c.sql.encryptionProtectors.beginCreateOrUpdateAndWait(RG, "srv-data", "current", { serverKeyType: "AzureKeyVault", serverKeyName: keyName(kid), autoRotationEnabled: true }, c.poll);
    const v3 = (await c.keys("tde-kv").createRsaKey("data-key", { keySize: 2048 })).id!;
    let protector = await c.sql.encryptionProtectors.get(RG, "srv-data", "current");
    // Wait for the worker (bounded; a condition, not a timing assertion).
    for (let i = 0; i < 200 && protector.uri !== v3; i++) {
      await new Promise((r) => setTimeout(r, 50));
      protector = await c.sql.encryptionProtectors.get(RG, "srv-data", "current");
    }
    assert.equal(protector.uri, v3);
    assert.equal(protector.autoRotationEnabled, true);
    assert.equal(protector.serverKeyName, keyName(v3));
    assert.deepEqual((await query("srv-data", "appdb", "SELECT body FROM notes")).json.rows, [{ body: MARKER }]);
    kid = v3;
  });

  test("a restart reopens every database by unwrapping its DEK through the vault", async () => {
    assert.equal(await inst.stop(), 0);
    inst = await startInstance({ dataDir: inst.dataDir, args: ["--rotation-check-interval", "0.2"] });
    c = sdkClients(inst);
    assert.deepEqual((await query("srv-data", "appdb", "SELECT body FROM notes")).json.rows, [{ body: MARKER }]);
  });

  test("deleting a database removes its file; a deleted server takes its databases along", async () => {
    await c.sql.databases.beginCreateOrUpdateAndWait(RG, "srv-data", "tmpdb", { location: "eastus" }, c.poll);
    const files = () => fs.readdirSync(path.join(inst.dataDir, "databases")).filter((f) => f.endsWith(".db")).length;
    const before = files();
    await c.sql.databases.beginDeleteAndWait(RG, "srv-data", "tmpdb", c.poll);
    assert.equal(files(), before - 1);
    await c.sql.servers.beginDeleteAndWait(RG, "srv-data", c.poll);
    assert.equal(files(), before - 2);
  });
});

describe("managed instances share the behaviour", () => {
  test("identity, key, protector, database and data", async () => {
    const mi = await c.sql.managedInstances.beginCreateOrUpdateAndWait(RG, "mi-one", { location: "eastus", administratorLogin: "miadmin", administratorLoginPassword: "Str0ng!Passw0rd", identity: { type: "SystemAssigned" } }, c.poll);
    assert.match(mi.fullyQualifiedDomainName!, /^mi-one\.[0-9a-f]+\.database\.windows\.net$/);
    const kid = (await c.keys("tde-kv").createRsaKey("mi-key", { keySize: 2048 })).id!;
    await assert.rejects(
      c.sql.managedInstanceKeys.beginCreateOrUpdateAndWait(RG, "mi-one", keyName(kid), { serverKeyType: "AzureKeyVault", uri: kid }, c.poll),
      rejectsWith(401, "AzureKeyVaultMissingPermissions"),
    );
    await c.kvm.vaults.updateAccessPolicy(RG, "tde-kv", "add", { properties: { accessPolicies: [{ tenantId, objectId: mi.identity!.principalId!, permissions: { keys: ["get", "wrapKey", "unwrapKey"] } }] } } as any);
    await c.sql.managedInstanceKeys.beginCreateOrUpdateAndWait(RG, "mi-one", keyName(kid), { serverKeyType: "AzureKeyVault", uri: kid }, c.poll);
    const p = await c.sql.managedInstanceEncryptionProtectors.beginCreateOrUpdateAndWait(RG, "mi-one", "current", { serverKeyType: "AzureKeyVault", serverKeyName: keyName(kid) }, c.poll);
    assert.equal(p.uri, kid);
    await c.sql.managedDatabases.beginCreateOrUpdateAndWait(RG, "mi-one", "midb", { location: "eastus" }, c.poll);
    assert.equal((await query("mi-one", "midb", "CREATE TABLE t (v TEXT)")).status, 200);
    await query("mi-one", "midb", "INSERT INTO t VALUES (?)", [MARKER]);
    assert.deepEqual((await query("mi-one", "midb", "SELECT v FROM t")).json.rows, [{ v: MARKER }]);
  });
});

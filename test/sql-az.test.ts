import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import fs from "node:fs";
import { startInstance, run, BIN, ROOT, type Instance } from "./harness.js";
import { azCli, type Az } from "./az.js";

/**
 * The seed's configuration story with the real az 2.45 through the proxy: a server without identity is
 * refused, gets one with `az sql server update -i`, its identity is granted get/wrapKey/unwrapKey, and the
 * key becomes the TDE protector (az-cli-compat.md §10).
 */
let inst: Instance;

function filesContaining(dir: string, needle: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => {
    const p = path.join(dir, f);
    return fs.statSync(p).isFile() && fs.readFileSync(p).includes(needle);
  });
}
let az: Az;

before(async () => {
  inst = await startInstance();
  az = azCli(inst, { PYTHONPATH: path.join(ROOT, "test", "fixtures", "azshim") });
  const ep = inst.endpoints;
  assert.equal((await az("login", "--service-principal", "-u", ep.clientId, "-p", ep.clientSecret, "--tenant", ep.tenantId, "-o", "none")).code, 0);
});
after(async () => {
  await inst.stop();
});

test("az sql server create/update -i, keyvault set-policy, sql server key create, tde-key set/show, sql db create", async () => {
  const ok = async (...args: string[]) => {
    const r = await az(...args);
    assert.equal(r.code, 0, `az ${args.join(" ")}\n${r.stderr}`);
    return r;
  };
  await ok("group", "create", "-n", "tde-rg", "-l", "eastus", "-o", "none");
  await ok("keyvault", "create", "-g", "tde-rg", "-n", "tde-kv-az", "-l", "eastus", "--enable-purge-protection", "true", "-o", "none");
  const kid = (await ok("keyvault", "key", "create", "--vault-name", "tde-kv-az", "-n", "tde-key", "--kty", "RSA", "--size", "2048", "--query", "key.kid", "-o", "tsv")).stdout.trim();
  assert.match(kid, /^https:\/\/tde-kv-az\.vault\.azure\.net\/keys\/tde-key\/[0-9a-f]{32}$/);

  const created = await ok("sql", "server", "create", "-g", "tde-rg", "-n", "tde-sql-az", "-l", "eastus", "-u", "sqladmin", "-p", "Str0ng!Passw0rd", "-o", "json");
  assert.equal(created.json.fullyQualifiedDomainName, "tde-sql-az.database.windows.net");
  assert.equal((await ok("sql", "server", "show", "-g", "tde-rg", "-n", "tde-sql-az", "--query", "identity")).stdout.trim(), "");

  const noIdentity = await az("sql", "server", "key", "create", "-g", "tde-rg", "-s", "tde-sql-az", "--kid", kid);
  assert.equal(noIdentity.code, 1);
  assert.match(noIdentity.stderr, /\(AzureKeyVaultNoServerIdentity\) The server identity is not correctly configured on server 'tde-sql-az'\. Please contact support\./);

  const principal = (await ok("sql", "server", "update", "-g", "tde-rg", "-n", "tde-sql-az", "-i", "--query", "identity.principalId", "-o", "tsv")).stdout.trim();
  assert.match(principal, /^[0-9a-f-]{36}$/);

  const noPermission = await az("sql", "server", "key", "create", "-g", "tde-rg", "-s", "tde-sql-az", "--kid", kid);
  assert.equal(noPermission.code, 1);
  assert.match(noPermission.stderr, /\(AzureKeyVaultMissingPermissions\)/);

  await ok("keyvault", "set-policy", "-n", "tde-kv-az", "--object-id", principal, "--key-permissions", "get", "wrapKey", "unwrapKey", "-o", "none");
  const key = await ok("sql", "server", "key", "create", "-g", "tde-rg", "-s", "tde-sql-az", "--kid", kid, "-o", "json");
  assert.equal(key.json.serverKeyType, "AzureKeyVault");
  assert.equal(key.json.uri, kid);
  const set = await ok("sql", "server", "tde-key", "set", "-g", "tde-rg", "-s", "tde-sql-az", "--server-key-type", "AzureKeyVault", "--kid", kid, "-o", "json");
  assert.equal(set.json.serverKeyType, "AzureKeyVault");
  const shown = await ok("sql", "server", "tde-key", "show", "-g", "tde-rg", "-s", "tde-sql-az", "-o", "json");
  assert.equal(shown.json.uri, kid);
  assert.equal(shown.json.kind, "azurekeyvault");
  const db = await ok("sql", "db", "create", "-g", "tde-rg", "-s", "tde-sql-az", "-n", "tde-db", "-o", "json");
  assert.equal(db.json.status, "Online");
  const tde = await ok("sql", "db", "tde", "show", "-g", "tde-rg", "-s", "tde-sql-az", "-d", "tde-db", "-o", "json");
  assert.equal(tde.json.state, "Enabled");
  // `tdekv sql query`, the CLI a user reaches the data with: table and JSON output, and errors.
  const tdekv = (...args: string[]) => run(process.execPath, [BIN, "sql", "query", "--data-dir", inst.dataDir, "--server", "tde-sql-az", "--database", "tde-db", ...args], {});
  assert.equal((await tdekv("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")).code, 0);
  assert.match((await tdekv("INSERT INTO notes (body) VALUES (?)", "--param", "CLI-MARKER-91ab")).stdout, /\(1 row affected\)/);
  const table = await tdekv("SELECT id, body FROM notes");
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^id\s+body\n--\s+-+\n1\s+CLI-MARKER-91ab\n\(1 row affected\)\n$/);
  assert.deepEqual(JSON.parse((await tdekv("--json", "SELECT body FROM notes")).stdout), [{ body: "CLI-MARKER-91ab" }]);
  const bad = await tdekv("SELECT * FROM missing_table");
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /no such table: missing_table/);
  assert.equal(filesContaining(inst.dataDir, "CLI-MARKER-91ab").length, 0, "no plaintext on disk");
  const back = await ok("sql", "server", "tde-key", "set", "-g", "tde-rg", "-s", "tde-sql-az", "--server-key-type", "ServiceManaged", "-o", "json");
  assert.equal(back.json.serverKeyType, "ServiceManaged");
});

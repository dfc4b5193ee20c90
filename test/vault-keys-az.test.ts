import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { ROOT, run, startInstance, tempDir, type Instance } from "./harness.js";
import { armVault } from "./vault-keys-kit.js";

/**
 * The real az 2.45 (Debian package) against tdekv in proxy mode (az-cli-compat.md §0, §9):
 * `az keyvault key create/show/set-attributes`, with the test-only shim for Debian's broken key module on
 * PYTHONPATH (az-cli-compat.md §4, test/fixtures/azshim). A fresh AZURE_CONFIG_DIR for the file.
 */
let inst: Instance;
let env: Record<string, string>;
const VAULT = "az-keys";

const az = (...args: string[]) => run("az", [...args, "--only-show-errors"], env);

before(async () => {
  inst = await startInstance();
  const ep = inst.endpoints;
  await armVault(inst, "rg-az-keys", VAULT);
  await armVault(inst, "rg-az-keys", "az-keys-fw", { networkAcls: { defaultAction: "Deny", bypass: "AzureServices", ipRules: [{ value: "203.0.113.7" }] } });
  env = {
    AZURE_CONFIG_DIR: tempDir("azcfg"),
    AZURE_CORE_COLLECT_TELEMETRY: "false",
    AZURE_CORE_NO_COLOR: "true",
    REQUESTS_CA_BUNDLE: ep.caCertFile,
    HTTPS_PROXY: ep.proxyUrl,
    PYTHONPATH: path.join(ROOT, "test", "fixtures", "azshim"),
  };
  const login = await az("login", "--service-principal", "-u", ep.clientId, "-p", ep.clientSecret, "--tenant", ep.tenantId, "-o", "none");
  assert.equal(login.code, 0, login.stderr);
});
after(async () => {
  await inst?.stop();
});

describe("az keyvault key (az 2.45 + shim, proxy mode)", () => {
  let kid: string;

  it("creates a key: kid on https://{vault}.vault.azure.net with a 32-hex version", async () => {
    const res = await az("keyvault", "key", "create", "--vault-name", VAULT, "--name", "tde-key", "--kty", "RSA", "--size", "2048", "-o", "json");
    assert.equal(res.code, 0, res.stderr);
    const key = JSON.parse(res.stdout);
    kid = key.key.kid;
    assert.match(kid, /^https:\/\/az-keys\.vault\.azure\.net\/keys\/tde-key\/[0-9a-f]{32}$/);
    assert.equal(key.key.kty, "RSA");
    assert.equal(key.attributes.enabled, true);
    assert.equal(key.attributes.recoveryLevel, "Recoverable+Purgeable");
    assert.equal(key.key.d, null, "az prints absent private members as null");
  });

  it("shows the key by name (trailing-slash GET) and by id", async () => {
    const byName = await az("keyvault", "key", "show", "--vault-name", VAULT, "--name", "tde-key", "-o", "json");
    assert.equal(byName.code, 0, byName.stderr);
    assert.equal(JSON.parse(byName.stdout).key.kid, kid);
    const byId = await az("keyvault", "key", "show", "--id", kid, "--query", "key.kid", "-o", "tsv");
    assert.equal(byId.code, 0, byId.stderr);
    assert.equal(byId.stdout.trim(), kid);
  });

  it("disables the key with set-attributes --enabled false; show then reports KeyDisabled", async () => {
    const res = await az("keyvault", "key", "set-attributes", "--vault-name", VAULT, "--name", "tde-key", "--enabled", "false", "--query", "attributes.enabled", "-o", "tsv");
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout.trim(), "false");
    const show = await az("keyvault", "key", "show", "--id", kid, "-o", "json");
    assert.notEqual(show.code, 0);
    assert.match(show.stderr, /\(Forbidden\) Operation get is not allowed on a disabled key\./);
    assert.match(show.stderr, /KeyDisabled/);
    const enable = await az("keyvault", "key", "set-attributes", "--id", kid, "--enabled", "true", "--query", "attributes.enabled", "-o", "tsv");
    assert.equal(enable.stdout.trim(), "true", enable.stderr);
  });

  it("prints Key Vault's errors: missing key, firewall", async () => {
    const missing = await az("keyvault", "key", "show", "--vault-name", VAULT, "--name", "nope", "-o", "json");
    assert.equal(missing.code, 3, "az exits 3 for a 404 on show");
    assert.match(missing.stderr, /\(KeyNotFound\) A key with \(name\/id\) nope was not found in this key vault\./);
    const fw = await az("keyvault", "key", "create", "--vault-name", "az-keys-fw", "--name", "k", "-o", "json");
    assert.notEqual(fw.code, 0);
    assert.match(fw.stderr, /Client address is not authorized and caller is not a trusted service\./);
    assert.match(fw.stderr, /Client address: 127\.0\.0\.1/);
    assert.match(fw.stderr, /ForbiddenByFirewall/);
  });
});

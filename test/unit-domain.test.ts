import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { parseResourceId, formatResourceId, parseArmPath, isValidResourceGroupName } from "../src/arm/domain/resource-id.js";
import { parseFilter } from "../src/arm/domain/filter.js";
import { classifyHost, proxyAllows, hostName } from "../src/frontdoor/hosts.js";
import { resourceFromScope, isKnownResource } from "../src/identity/domain/resources.js";
import { SecretBox, loadConfig, ConfigError } from "../src/platform/index.js";

test("resource ids parse and format round-trip, case kept", () => {
  const id = "/subscriptions/ABC/resourceGroups/My-RG/providers/Microsoft.Sql/servers/s1/keys/kv_k_v1";
  const ref = parseResourceId(id)!;
  assert.deepEqual(ref, { subscriptionId: "abc", resourceGroup: "My-RG", namespace: "Microsoft.Sql", types: ["servers", "keys"], names: ["s1", "kv_k_v1"] });
  assert.equal(formatResourceId(ref), id.replace("ABC", "abc"));
  assert.equal(parseResourceId("/subscriptions/a/resourceGroups/b"), undefined);
  assert.equal(parseResourceId("/subscriptions/a/resourceGroups/b/providers/N/t"), undefined);
});

test("ARM paths: leading double slashes and case are tolerated", () => {
  assert.deepEqual(parseArmPath("//subscriptions"), { kind: "subscriptions" });
  assert.deepEqual(parseArmPath("/TENANTS"), { kind: "tenants" });
  assert.deepEqual(parseArmPath("/Subscriptions/ABC/resourcegroups/x"), { kind: "subscription", sub: "abc", rest: ["resourcegroups", "x"] });
  assert.equal(parseArmPath("/foo"), undefined);
});

test("resource group names follow ARM's rules", () => {
  for (const ok of ["rg", "my.rg-1_(x)", "a".repeat(90)]) assert.ok(isValidResourceGroupName(ok), ok);
  for (const bad of ["", "ends.", "a".repeat(91), "slash/no", "sp ace"]) assert.ok(!isValidResourceGroupName(bad), bad);
});

test("$filter: eq terms joined by and; unknown shapes are refused", () => {
  assert.deepEqual(parseFilter("resourceType eq 'Microsoft.KeyVault/vaults'"), [{ field: "resourceType", op: "eq", value: "Microsoft.KeyVault/vaults" }]);
  assert.deepEqual(parseFilter("name eq 'it''s' and location eq 'eastus'"), [
    { field: "name", op: "eq", value: "it's" },
    { field: "location", op: "eq", value: "eastus" },
  ]);
  assert.deepEqual(parseFilter(null), []);
  assert.equal(parseFilter("substringof('x', name)"), undefined);
});

test("hosts route to surfaces; the proxy allows only the Azure names", () => {
  const direct = new Set(["localhost", "127.0.0.1"]);
  assert.equal(classifyHost("management.azure.com", direct), "arm");
  assert.equal(classifyHost("LOGIN.microsoftonline.com:443", direct), "login");
  assert.equal(classifyHost("kv1.vault.azure.net", direct), "vault");
  assert.equal(classifyHost("kv1.vault.localhost:8443", direct), "vault");
  assert.equal(classifyHost("srv.database.windows.net", direct), "sql");
  assert.equal(classifyHost("localhost:8443", direct), "direct");
  assert.equal(classifyHost("[::1]:8443", new Set(["::1"])), "direct");
  assert.equal(classifyHost("example.com", direct), "unknown");
  assert.equal(hostName("[::1]:8443"), "::1");
  assert.ok(proxyAllows("kv.vault.azure.net"));
  assert.ok(!proxyAllows("vault.azure.net.evil.com"));
  assert.ok(proxyAllows("graph.microsoft.com"));
  assert.ok(!proxyAllows("myaccount.blob.core.windows.net"));
});

test("scopes map to resources as Entra does", () => {
  assert.equal(resourceFromScope("https://management.core.windows.net//.default"), "https://management.core.windows.net/");
  assert.equal(resourceFromScope("https://vault.azure.net/.default"), "https://vault.azure.net");
  assert.equal(resourceFromScope("https://vault.azure.net/.default offline_access"), "https://vault.azure.net");
  assert.equal(resourceFromScope("https://vault.azure.net/user_impersonation"), undefined);
  assert.equal(resourceFromScope("a/.default b/.default"), undefined);
  assert.ok(isKnownResource("https://localhost:8443"));
  assert.ok(isKnownResource("https://database.windows.net/"));
  assert.ok(!isKnownResource("https://example.com"));
});

test("SecretBox seals with a context and detects tampering", () => {
  const box = new SecretBox(randomBytes(32));
  const sealed = box.seal("s3cret", "ctx");
  assert.ok(!sealed.includes("s3cret"));
  assert.equal(box.open(sealed, "ctx").toString(), "s3cret");
  assert.throws(() => box.open(sealed, "other-ctx"));
  const raw = Buffer.from(sealed.slice(3), "base64url");
  raw[raw.length - 1]! ^= 1;
  assert.throws(() => box.open("v1." + raw.toString("base64url"), "ctx"));
});

test("config: flags win over environment, which wins over defaults", () => {
  const env = { TDEKV_PORT: "9443", TDEKV_HOST: "0.0.0.0", TDEKV_DATA_DIR: "/tmp/x" };
  const fromEnv = loadConfig({}, env);
  assert.equal(fromEnv.port, 9443);
  assert.equal(fromEnv.host, "0.0.0.0");
  assert.equal(fromEnv.dataDir, "/tmp/x");
  assert.equal(fromEnv.proxyPort, 8080);
  assert.equal(loadConfig({ port: "1234" }, env).port, 1234);
  assert.throws(() => loadConfig({ port: "x" }, {}), ConfigError);
  assert.throws(() => loadConfig({ tokenLifetimeSeconds: "0" }, {}), ConfigError);
  assert.throws(() => loadConfig({ host: "a b" }, {}), ConfigError);
});

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { ClientSecretCredential } from "@azure/identity";
import { ROOT, run, startInstance, type Instance } from "./harness.js";
import { armVault, localhostAgent } from "./vault-keys-kit.js";
import { runKeysScenario, type ScenarioResult } from "./vault-keys-scenario.js";

/**
 * The unmodified @azure/keyvault-keys SDK against a real tdekv process, vaults made through ARM:
 * direct mode (https://{vault}.vault.localhost:{port}, ClientSecretCredential against tdekv's Entra) and
 * proxy mode (a child process with only HTTPS_PROXY, NODE_EXTRA_CA_CERTS and AZURE_* set, talking to
 * https://{vault}.vault.azure.net). Certificates are verified throughout.
 */
let inst: Instance;

before(async () => {
  inst = await startInstance();
  await armVault(inst, "rg-keys", "kv-direct");
  await armVault(inst, "rg-keys", "kv-proxy");
});
after(async () => {
  await inst?.stop();
});

function checkScenario(r: ScenarioResult, vaultUrl: string) {
  assert.match(r.kid, new RegExp(`^${vaultUrl.replace(/[.]/g, "\\.")}/keys/e2e-rsa/[0-9a-f]{32}$`));
  assert.equal(r.versions, 2);
  assert.equal(r.listed, 27, "e2e-rsa and the 26 e2e-many keys");
  assert.ok(r.pages >= 3);
  assert.ok(r.localWrapRemoteUnwrap);
  assert.ok(r.remoteOaep256);
  assert.ok(r.encryptDecrypt);
  assert.deepEqual(r.signVerify, ["RS256", "PS384", "RS512", "ES384"]);
  assert.ok(r.rotatedKid.startsWith(`${vaultUrl}/keys/e2e-rsa/`));
  assert.match(r.restoredKid, /^https:\/\//);
  assert.ok(r.recoveredKid.startsWith(`${vaultUrl}/keys/e2e-rsa/`));
  assert.ok(r.purged);
  assert.deepEqual(r.errors, {
    missing: { statusCode: 404, code: "KeyNotFound" },
    disabledGet: { statusCode: 403, code: "Forbidden" },
    disabledSign: { statusCode: 403, code: "Forbidden" },
    badName: { statusCode: 400, code: "BadParameter" },
  });
}

describe("@azure/keyvault-keys", () => {
  it("direct mode: https://{vault}.vault.localhost:{port} with ClientSecretCredential", async () => {
    const ep = inst.endpoints;
    const credential = new ClientSecretCredential(ep.tenantId, ep.clientId, ep.clientSecret, { authorityHost: ep.authorityHost, disableInstanceDiscovery: true, tlsOptions: { ca: inst.ca.toString() } });
    const vaultUrl = `https://kv-direct.vault.localhost:${ep.httpsPort}`;
    const result = await runKeysScenario(vaultUrl, credential, { agent: localhostAgent(inst.ca), retryOptions: { maxRetries: 0 } } as never);
    checkScenario(result, vaultUrl);
  });

  it("proxy mode: an unmodified process with only HTTPS_PROXY, NODE_EXTRA_CA_CERTS and AZURE_* set", async () => {
    const ep = inst.endpoints;
    const res = await run(process.execPath, ["--import", "tsx", path.join(ROOT, "test", "vault-keys-proxy-child.ts"), "kv-proxy"], {
      HTTPS_PROXY: ep.proxyUrl,
      NODE_EXTRA_CA_CERTS: ep.caCertFile,
      AZURE_TENANT_ID: ep.tenantId,
      AZURE_CLIENT_ID: ep.clientId,
      AZURE_CLIENT_SECRET: ep.clientSecret,
    });
    assert.equal(res.code, 0, res.stderr);
    checkScenario(JSON.parse(res.stdout) as ScenarioResult, "https://kv-proxy.vault.azure.net");
  });
});

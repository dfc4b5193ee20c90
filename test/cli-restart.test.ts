import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { startInstance, request, clientToken, run, tempDir, BIN } from "./harness.js";

/** Issue 2 §2: start, env, Ctrl-C, and everything (tokens included) surviving a restart. */
test("tdekv env prints proxy-mode exports, Ctrl-C stops cleanly, and a restart keeps state and tokens", async () => {
  const dataDir = tempDir("restart");
  const first = await startInstance({ dataDir });
  const ep = first.endpoints;
  assert.match(first.stdout(), /tdekv is ready in \d+ ms/);
  for (const key of ["armEndpoint", "authorityHost", "proxyUrl", "caCertFile", "tenantId", "subscriptionId", "clientId", "clientSecret"] as const) {
    assert.ok(ep[key], `endpoints.json has ${key}`);
  }
  assert.equal(fs.statSync(path.join(dataDir, "endpoints.json")).mode & 0o077, 0, "endpoints.json holds a secret: owner-only");
  assert.equal(fs.statSync(path.join(dataDir, "master.key")).mode & 0o077, 0);

  const env = await run(process.execPath, [BIN, "env"], { TDEKV_DATA_DIR: dataDir });
  assert.equal(env.code, 0, env.stderr);
  const exports = Object.fromEntries([...env.stdout.matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1], m[2]!.replace(/^'|'$/g, "")]));
  assert.equal(exports.HTTPS_PROXY, ep.proxyUrl);
  assert.equal(exports.NODE_EXTRA_CA_CERTS, ep.caCertFile);
  assert.equal(exports.REQUESTS_CA_BUNDLE, ep.caCertFile);
  assert.equal(exports.AZURE_TENANT_ID, ep.tenantId);
  assert.equal(exports.AZURE_CLIENT_ID, ep.clientId);
  assert.equal(exports.AZURE_CLIENT_SECRET, ep.clientSecret);
  assert.equal(exports.AZURE_SUBSCRIPTION_ID, ep.subscriptionId);

  const token = await clientToken(first, "https://management.azure.com/.default");
  const auth = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  const sub = ep.subscriptionId;
  assert.equal((await request(first, "PUT", `/subscriptions/${sub}/resourceGroups/keep?api-version=2021-04-01`, { headers: auth, body: '{"location":"eastus"}' })).status, 201);
  const identity = await request(first, "PUT", `/subscriptions/${sub}/resourceGroups/keep/providers/Microsoft.ManagedIdentity/userAssignedIdentities/kept?api-version=2023-01-31`, { headers: auth, body: '{"location":"eastus"}' });
  assert.equal(identity.status, 201);
  const caBefore = fs.readFileSync(ep.caCertFile, "utf8");

  assert.equal(await first.stop(), 0, "SIGINT exits 0");
  assert.match(first.stdout(), /tdekv stopped/);
  const envDown = await run(process.execPath, [BIN, "env", "--data-dir", dataDir], {});
  assert.equal(envDown.code, 1);
  assert.match(envDown.stderr, /tdekv is not running for data dir/);

  const second = await startInstance({ dataDir });
  try {
    const ep2 = second.endpoints;
    assert.deepEqual([ep2.tenantId, ep2.subscriptionId, ep2.clientId, ep2.clientSecret], [ep.tenantId, ep.subscriptionId, ep.clientId, ep.clientSecret]);
    assert.equal(fs.readFileSync(ep2.caCertFile, "utf8"), caBefore, "the CA a user trusted stays the same");
    const rg = await request(second, "GET", `/subscriptions/${sub}/resourceGroups/keep?api-version=2021-04-01`, { headers: auth });
    assert.equal(rg.status, 200, "a token issued before the restart is still accepted");
    const kept = await request(second, "GET", `/subscriptions/${sub}/resourceGroups/keep/providers/Microsoft.ManagedIdentity/userAssignedIdentities/kept?api-version=2023-01-31`, { headers: auth });
    assert.equal(kept.json.properties.principalId, identity.json.properties.principalId);
    const mi = await request(second, "GET", `/msi/token?resource=https://vault.azure.net&client_id=${kept.json.properties.clientId}`, { headers: { "x-identity-header": ep2.identityHeader } });
    assert.equal(mi.status, 200);
  } finally {
    assert.equal(await second.stop(), 0);
  }
});

test("configuration errors are reported, not crashed on", async () => {
  const res = await run(process.execPath, [BIN, "start", "--data-dir", tempDir("cfg"), "--port", "70000"], {});
  assert.equal(res.code, 1);
  assert.match(res.stderr, /port must be a port number/);
  const envVar = await run(process.execPath, [BIN, "start", "--data-dir", tempDir("cfg")], { TDEKV_PROXY_PORT: "nope" });
  assert.equal(envVar.code, 1);
  assert.match(envVar.stderr, /proxy port must be a port number/);
  const busy = await startInstance();
  try {
    const clash = await run(process.execPath, [BIN, "start", "--data-dir", tempDir("cfg"), "--port", String(busy.endpoints.httpsPort), "--proxy-port", "0"], {});
    assert.equal(clash.code, 1);
    assert.match(clash.stderr, /EADDRINUSE|address already in use/);
  } finally {
    await busy.stop();
  }
});

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startInstance, type Instance } from "./harness.js";
import { azCli, type Az } from "./az.js";

/** Issue 2 verification with the real az 2.45 in proxy mode: login, groups, identities, move, errors. */
let inst: Instance;
let az: Az;

before(async () => {
  inst = await startInstance();
  az = azCli(inst);
});
after(async () => {
  await inst.stop();
});

test("az login --service-principal lands in tdekv's subscription", async () => {
  const ep = inst.endpoints;
  const res = await az("login", "--service-principal", "-u", ep.clientId, "-p", ep.clientSecret, "--tenant", ep.tenantId, "-o", "json");
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.json[0].id, ep.subscriptionId);
  assert.equal(res.json[0].tenantId, ep.tenantId);
  const show = await az("account", "show", "--query", "id", "-o", "tsv");
  assert.equal(show.stdout.trim(), ep.subscriptionId);
});

test("a wrong secret is refused with Entra's AADSTS7000215", async () => {
  const ep = inst.endpoints;
  const other = azCli(inst);
  const res = await other("login", "--service-principal", "-u", ep.clientId, "-p", "not-the-secret", "--tenant", ep.tenantId);
  assert.equal(res.code, 1);
  assert.match(res.stderr, /AADSTS7000215: Invalid client secret provided/);
  assert.ok(!res.stderr.includes(ep.clientSecret));
});

test("az group create / show / list", async () => {
  const created = await az("group", "create", "-n", "rg-az", "-l", "eastus", "--tags", "env=test", "-o", "json");
  assert.equal(created.code, 0, created.stderr);
  assert.equal(created.json.id, `/subscriptions/${inst.endpoints.subscriptionId}/resourceGroups/rg-az`);
  assert.equal(created.json.properties.provisioningState, "Succeeded");
  const shown = await az("group", "show", "-n", "rg-az", "--query", "tags.env", "-o", "tsv");
  assert.equal(shown.stdout.trim(), "test");
  const missing = await az("group", "show", "-n", "rg-missing");
  assert.equal(missing.code, 3);
  assert.match(missing.stderr, /\(ResourceGroupNotFound\) Resource group 'rg-missing' could not be found\./);
});

test("az identity create / show, and the principal is stable", async () => {
  const created = await az("identity", "create", "-g", "rg-az", "-n", "az-id", "-o", "json");
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.json.principalId, /^[0-9a-f-]{36}$/);
  assert.equal(created.json.tenantId, inst.endpoints.tenantId);
  const shown = await az("identity", "show", "-g", "rg-az", "-n", "az-id", "--query", "principalId", "-o", "tsv");
  assert.equal(shown.stdout.trim(), created.json.principalId);
  const missing = await az("identity", "show", "-g", "rg-az", "-n", "nope");
  assert.equal(missing.code, 3);
  assert.match(missing.stderr, /ResourceNotFound/);
});

test("az resource move, then the identity lives in the target group", async () => {
  assert.equal((await az("group", "create", "-n", "rg-az-target", "-l", "eastus", "-o", "none")).code, 0);
  const id = (await az("identity", "show", "-g", "rg-az", "-n", "az-id", "--query", "id", "-o", "tsv")).stdout.trim();
  const moved = await az("resource", "move", "--destination-group", "rg-az-target", "--ids", id);
  assert.equal(moved.code, 0, moved.stderr);
  const shown = await az("identity", "show", "-g", "rg-az-target", "-n", "az-id", "--query", "id", "-o", "tsv");
  assert.equal(shown.stdout.trim(), id.replace("/resourceGroups/rg-az/", "/resourceGroups/rg-az-target/"));
  assert.equal((await az("identity", "show", "-g", "rg-az", "-n", "az-id")).code, 3);
});

test("az group delete removes the group and its identities", async () => {
  const del = await az("group", "delete", "-n", "rg-az-target", "--yes");
  assert.equal(del.code, 0, del.stderr);
  const list = await az("group", "list", "--query", "[].name", "-o", "json");
  assert.ok(!list.json.includes("rg-az-target"));
  const ids = await az("identity", "list", "--query", "[].name", "-o", "json");
  assert.ok(!ids.json.includes("az-id"));
});

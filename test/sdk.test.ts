import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { ClientSecretCredential } from "@azure/identity";
import { ResourceManagementClient } from "@azure/arm-resources";
import { ManagedServiceIdentityClient } from "@azure/arm-msi";
import { startInstance, request, clientToken, run, type Instance } from "./harness.js";

/** Issue 2 verification: the unmodified Azure JS SDKs in direct mode and, in a child process, proxy mode. */
let inst: Instance;

before(async () => {
  inst = await startInstance();
});
after(async () => {
  await inst.stop();
});

describe("direct mode: ClientSecretCredential + arm-resources + arm-msi", () => {
  let rm: ResourceManagementClient;
  let msi: ManagedServiceIdentityClient;
  let ep: Instance["endpoints"];

  before(() => {
    ep = inst.endpoints;
    const tlsOptions = { ca: inst.ca.toString() };
    const credential = new ClientSecretCredential(ep.tenantId, ep.clientId, ep.clientSecret, { authorityHost: ep.authorityHost, disableInstanceDiscovery: true, tlsOptions });
    rm = new ResourceManagementClient(credential, ep.subscriptionId, { endpoint: ep.armEndpoint, tlsOptions, retryOptions: { maxRetries: 0 } });
    msi = new ManagedServiceIdentityClient(credential, ep.subscriptionId, { endpoint: ep.armEndpoint, tlsOptions, retryOptions: { maxRetries: 0 } });
  });

  test("resource groups: create, read, update tags, list, exists", async () => {
    const created = await rm.resourceGroups.createOrUpdate("rg-sdk", { location: "eastus", tags: { team: "a" } });
    assert.equal(created.id, `/subscriptions/${ep.subscriptionId}/resourceGroups/rg-sdk`);
    assert.equal(created.properties?.provisioningState, "Succeeded");
    const updated = await rm.resourceGroups.update("rg-sdk", { tags: { team: "b" } });
    assert.deepEqual(updated.tags, { team: "b" });
    assert.deepEqual((await rm.resourceGroups.get("rg-sdk")).tags, { team: "b" });
    const names: string[] = [];
    for await (const g of rm.resourceGroups.list()) names.push(g.name!);
    assert.ok(names.includes("rg-sdk"));
    assert.equal((await rm.resourceGroups.checkExistence("rg-sdk")).body, true);
    assert.equal((await rm.resourceGroups.checkExistence("rg-none")).body, false);
  });

  test("user-assigned identities are real principals with stable ids", async () => {
    const id = await msi.userAssignedIdentities.createOrUpdate("rg-sdk", "uami-1", { location: "eastus", tags: { a: "1" } });
    assert.match(id.principalId!, /^[0-9a-f-]{36}$/);
    assert.match(id.clientId!, /^[0-9a-f-]{36}$/);
    assert.equal(id.tenantId, ep.tenantId);
    const again = await msi.userAssignedIdentities.createOrUpdate("rg-sdk", "uami-1", { location: "eastus" });
    assert.equal(again.principalId, id.principalId, "an update keeps the principal");
    const got = await msi.userAssignedIdentities.get("rg-sdk", "uami-1");
    assert.equal(got.clientId, id.clientId);
    const patched = await msi.userAssignedIdentities.update("rg-sdk", "uami-1", { tags: { b: "2" } });
    assert.deepEqual(patched.tags, { b: "2" });
    const inGroup: string[] = [];
    for await (const i of msi.userAssignedIdentities.listByResourceGroup("rg-sdk")) inGroup.push(i.name!);
    assert.deepEqual(inGroup, ["uami-1"]);
    await assert.rejects(msi.userAssignedIdentities.get("rg-sdk", "nope"), (e: { statusCode?: number; code?: string }) => e.statusCode === 404 && e.code === "ResourceNotFound");
  });

  test("the managed-identity endpoint issues tokens for an identity until it is deleted", async () => {
    await msi.userAssignedIdentities.createOrUpdate("rg-sdk", "uami-del", { location: "eastus" });
    const { clientId, principalId } = await msi.userAssignedIdentities.get("rg-sdk", "uami-del");
    const url = `/msi/token?api-version=2019-08-01&resource=${encodeURIComponent("https://vault.azure.net")}&client_id=${clientId}`;
    const ok = await request(inst, "GET", url, { headers: { "x-identity-header": ep.identityHeader } });
    assert.equal(ok.status, 200, ok.text);
    const claims = JSON.parse(Buffer.from(ok.json.access_token.split(".")[1], "base64url").toString());
    assert.equal(claims.oid, principalId);
    assert.equal(claims.aud, "https://vault.azure.net");
    assert.match(claims.xms_mirid, /userAssignedIdentities\/uami-del$/);
    const noHeader = await request(inst, "GET", url);
    assert.equal(noHeader.status, 401);
    await msi.userAssignedIdentities.delete("rg-sdk", "uami-del");
    const gone = await request(inst, "GET", url, { headers: { "x-identity-header": ep.identityHeader } });
    assert.equal(gone.status, 400);
    assert.equal(gone.json.error_description, "Identity not found");
  });

  test("moveResources, within a subscription and to another subscription of the tenant", async () => {
    await rm.resourceGroups.createOrUpdate("rg-move-a", { location: "eastus" });
    await rm.resourceGroups.createOrUpdate("rg-move-b", { location: "eastus" });
    const id = await msi.userAssignedIdentities.createOrUpdate("rg-move-a", "mover", { location: "eastus" });
    await rm.resources.beginMoveResourcesAndWait("rg-move-a", { resources: [id.id!], targetResourceGroup: `/subscriptions/${ep.subscriptionId}/resourceGroups/rg-move-b` }, { updateIntervalInMs: 10 });
    const moved = await msi.userAssignedIdentities.get("rg-move-b", "mover");
    assert.equal(moved.id, `/subscriptions/${ep.subscriptionId}/resourceGroups/rg-move-b/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mover`);
    assert.equal(moved.principalId, id.principalId, "the principal moves with the resource");
    // ARM logs the move in the Activity Log (the evidence doctor uses for "moved to another subscription").
    const filter = `eventTimestamp ge '2000-01-01T00:00:00Z' and resourceId eq '${moved.id}'`;
    const log = await request(inst, "GET", `/subscriptions/${ep.subscriptionId}/providers/Microsoft.Insights/eventtypes/management/values?api-version=2015-04-01&$filter=${encodeURIComponent(filter)}`, {
      headers: { authorization: `Bearer ${await clientToken(inst, "https://management.azure.com/.default")}` },
    });
    assert.deepEqual(
      log.json.value.map((e: { operationName: { value: string }; status: { value: string } }) => `${e.operationName.value}/${e.status.value}`),
      ["Microsoft.Resources/subscriptions/resourceGroups/moveResources/action/Succeeded"],
    );
    await assert.rejects(msi.userAssignedIdentities.get("rg-move-a", "mover"), (e: { statusCode?: number }) => e.statusCode === 404);

    // A second subscription in the same tenant (tdekv's admin API; Azure has no public one).
    const admin = await clientToken(inst, "https://management.azure.com/.default");
    const sub2 = (await request(inst, "POST", "/_tdekv/subscriptions", { headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" }, body: '{"displayName":"second"}' })).json.id as string;
    const rm2 = new ResourceManagementClient(new ClientSecretCredential(ep.tenantId, ep.clientId, ep.clientSecret, { authorityHost: ep.authorityHost, disableInstanceDiscovery: true, tlsOptions: { ca: inst.ca.toString() } }), sub2, {
      endpoint: ep.armEndpoint,
      tlsOptions: { ca: inst.ca.toString() },
      retryOptions: { maxRetries: 0 },
    });
    await rm2.resourceGroups.createOrUpdate("rg-other-sub", { location: "eastus" });
    await rm.resources.beginMoveResourcesAndWait("rg-move-b", { resources: [moved.id!], targetResourceGroup: `/subscriptions/${sub2}/resourceGroups/rg-other-sub` }, { updateIntervalInMs: 10 });
    const inSub2: string[] = [];
    for await (const r of rm2.resources.listByResourceGroup("rg-other-sub")) inSub2.push(r.id!);
    assert.deepEqual(inSub2, [`/subscriptions/${sub2}/resourceGroups/rg-other-sub/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mover`]);

    // Bad moves are refused before anything changes.
    await assert.rejects(
      rm.resources.beginMoveResourcesAndWait("rg-move-a", { resources: [moved.id!], targetResourceGroup: `/subscriptions/${ep.subscriptionId}/resourceGroups/rg-move-b` }, { updateIntervalInMs: 10 }),
      (e: { statusCode?: number }) => e.statusCode === 400,
    );
    await assert.rejects(
      rm.resources.beginMoveResourcesAndWait("rg-move-a", { resources: [], targetResourceGroup: `/subscriptions/${ep.subscriptionId}/resourceGroups/nope` }, { updateIntervalInMs: 10 }),
      (e: { statusCode?: number; code?: string }) => e.statusCode === 400 && e.code === "MissingMoveResources",
    );
  });

  test("deleting a resource group is a long-running operation that removes what it holds", async () => {
    await rm.resourceGroups.createOrUpdate("rg-doomed", { location: "eastus" });
    const id = await msi.userAssignedIdentities.createOrUpdate("rg-doomed", "doomed-id", { location: "eastus" });
    const initial = await request(inst, "DELETE", `/subscriptions/${ep.subscriptionId}/resourcegroups/rg-doomed?api-version=2021-04-01`, {
      headers: { authorization: `Bearer ${await clientToken(inst, "https://management.azure.com/.default")}` },
    });
    assert.equal(initial.status, 202);
    const location = String(initial.headers.location);
    assert.match(location, new RegExp(`^${ep.armEndpoint}/subscriptions/${ep.subscriptionId}/operationresults/[0-9a-f-]{36}\\?api-version=2021-04-01$`));
    await assert.rejects(rm.resourceGroups.get("rg-doomed"), (e: { statusCode?: number; code?: string }) => e.statusCode === 404 && e.code === "ResourceGroupNotFound");
    const token = await request(inst, "GET", `/msi/token?resource=https://vault.azure.net&client_id=${id.clientId}`, { headers: { "x-identity-header": ep.identityHeader } });
    assert.equal(token.status, 400, "the identity's principal went with its group");
    // The SDK's own LRO path, end to end.
    await rm.resourceGroups.createOrUpdate("rg-doomed-2", { location: "eastus" });
    await rm.resourceGroups.beginDeleteAndWait("rg-doomed-2", { updateIntervalInMs: 10 });
    assert.equal((await rm.resourceGroups.checkExistence("rg-doomed-2")).body, false);
  });
});

describe("proxy mode: DefaultAzureCredential with only environment variables", () => {
  test("an unmodified program reaches management.azure.com and login.microsoftonline.com through tdekv", async () => {
    const ep = inst.endpoints;
    const res = await run(process.execPath, ["test/fixtures/proxy-client.mjs"], {
      HTTPS_PROXY: ep.proxyUrl,
      NODE_EXTRA_CA_CERTS: ep.caCertFile,
      AZURE_TENANT_ID: ep.tenantId,
      AZURE_CLIENT_ID: ep.clientId,
      AZURE_CLIENT_SECRET: ep.clientSecret,
      AZURE_SUBSCRIPTION_ID: ep.subscriptionId,
      IDENTITY_ENDPOINT: ep.identityEndpoint,
      IDENTITY_HEADER: ep.identityHeader,
    });
    assert.equal(res.code, 0, res.stderr);
    const out = JSON.parse(res.stdout);
    assert.equal(out.rgId, `/subscriptions/${ep.subscriptionId}/resourceGroups/rg-proxy`);
    assert.equal(out.identity.tenantId, ep.tenantId);
    assert.ok(out.listed.includes("app-identity"));
    assert.equal(out.moved, `/subscriptions/${ep.subscriptionId}/resourceGroups/rg-proxy-2/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app-identity`);
    assert.equal(out.miTokenPayload.oid, out.identity.principalId);
    assert.equal(out.miTokenPayload.aud, "https://management.azure.com");
    assert.ok(out.groupsSeenByIdentity.includes("rg-proxy-2"));
  });
});

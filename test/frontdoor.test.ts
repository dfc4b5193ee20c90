import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import tls from "node:tls";
import { startInstance, request, clientToken, type Instance } from "./harness.js";

/** Issue 2 §3 and §5: one TLS listener routed by Host, the CONNECT proxy, and ARM's answers to bad input. */
let inst: Instance;
let token: string;
const sub = () => inst.endpoints.subscriptionId;

before(async () => {
  inst = await startInstance();
  token = await clientToken(inst, "https://management.azure.com/.default");
});
after(async () => {
  await inst.stop();
});

const auth = () => ({ authorization: `Bearer ${token}` });

/** Opens a CONNECT tunnel through the proxy and returns the proxy's status line and the socket. */
function connect(target: string): Promise<{ status: number; text: string; socket: import("node:net").Socket }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port: inst.endpoints.proxyPort, method: "CONNECT", path: target });
    req.on("connect", (res, socket, head) => {
      let text = head.toString();
      socket.on("data", (d: Buffer) => (text += d.toString()));
      if (res.statusCode !== 200) socket.on("end", () => resolve({ status: res.statusCode ?? 0, text, socket }));
      else resolve({ status: 200, text, socket });
    });
    req.on("error", reject);
    req.end();
  });
}

describe("CONNECT proxy", () => {
  test("terminates TLS for the Azure names with a certificate that verifies against tdekv's CA", async () => {
    for (const host of ["management.azure.com", "login.microsoftonline.com", "myvault.vault.azure.net", "myserver.database.windows.net"]) {
      const { status, socket } = await connect(`${host}:443`);
      assert.equal(status, 200, host);
      const secure = tls.connect({ socket, servername: host, ca: inst.ca });
      await new Promise<void>((resolve, reject) => {
        secure.once("secureConnect", () => resolve());
        secure.once("error", reject);
      });
      assert.equal(secure.authorized, true, `${host}: ${secure.authorizationError}`);
      secure.destroy();
    }
  });

  test("refuses every other host and port with a clear message, forwarding nothing", async () => {
    for (const target of ["example.com:443", "azure.microsoft.com:443", "management.azure.com:80", "evil.vault.azure.net.example.com:443"]) {
      const res = await connect(target);
      assert.equal(res.status, 403, target);
      assert.match(res.text, /tdekv refuses to tunnel/, target);
    }
  });

  test("the proxy port serves no plain HTTP except the managed-identity endpoints", async () => {
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      http
        .get({ host: "127.0.0.1", port: inst.endpoints.proxyPort, path: "http://management.azure.com/subscriptions" }, (r) => {
          let body = "";
          r.on("data", (d: Buffer) => (body += d.toString()));
          r.on("end", () => resolve({ status: r.statusCode ?? 0, body }));
        })
        .on("error", reject);
    });
    assert.equal(res.status, 400);
    assert.match(res.body, /tunnels HTTPS with CONNECT/);
  });
});

describe("Host routing", () => {
  test("an unknown Host gets 421 with the list of hosts tdekv serves", async () => {
    const res = await request(inst, "GET", `/subscriptions?api-version=2020-01-01`, { host: "example.org", servername: "localhost", headers: auth() });
    assert.equal(res.status, 421);
    assert.equal(res.json.error.code, "MisdirectedRequest");
  });

  test("management.azure.com, login.microsoftonline.com and localhost reach their surfaces over one listener", async () => {
    const arm = await request(inst, "GET", `/subscriptions?api-version=2020-01-01`, { host: "management.azure.com", headers: auth() });
    assert.equal(arm.status, 200);
    assert.equal(arm.json.value[0].subscriptionId, sub());
    const oidc = await request(inst, "GET", `/${inst.endpoints.tenantId}/v2.0/.well-known/openid-configuration`, { host: "login.microsoftonline.com" });
    assert.equal(oidc.status, 200);
    assert.equal(oidc.json.token_endpoint, `https://login.microsoftonline.com/${inst.endpoints.tenantId}/oauth2/v2.0/token`);
    const direct = await request(inst, "GET", `/${inst.endpoints.tenantId}/v2.0/.well-known/openid-configuration`);
    assert.equal(direct.json.token_endpoint, `${inst.endpoints.authorityHost}/${inst.endpoints.tenantId}/oauth2/v2.0/token`);
  });

  test("every response carries x-ms-request-id and echoes the correlation id", async () => {
    const res = await request(inst, "GET", `/subscriptions/${sub()}?api-version=2020-01-01`, { headers: { ...auth(), "x-ms-correlation-request-id": "corr-123" } });
    assert.equal(res.status, 200);
    assert.match(String(res.headers["x-ms-request-id"]), /^[0-9a-f-]{36}$/);
    assert.equal(res.headers["x-ms-correlation-request-id"], "corr-123");
  });
});

describe("ARM bad input", () => {
  const rgUrl = (rg: string) => `/subscriptions/${sub()}/resourceGroups/${rg}?api-version=2021-04-01`;

  test("malformed JSON gets 400 InvalidRequestContent and nothing is written", async () => {
    const res = await request(inst, "PUT", rgUrl("badjson"), { headers: { ...auth(), "content-type": "application/json" }, body: '{"location": "eastus",' });
    assert.equal(res.status, 400);
    assert.equal(res.json.error.code, "InvalidRequestContent");
    const get = await request(inst, "GET", rgUrl("badjson"), { headers: auth() });
    assert.equal(get.status, 404);
    assert.equal(get.json.error.code, "ResourceGroupNotFound");
  });

  test("an oversized body gets 413 in ARM's envelope", async () => {
    const big = JSON.stringify({ location: "eastus", tags: { x: "a".repeat(5 * 1024 * 1024) } });
    const res = await request(inst, "PUT", rgUrl("big"), { headers: { ...auth(), "content-type": "application/json" }, body: big });
    assert.equal(res.status, 413);
    assert.equal(res.json.error.code, "RequestEntityTooLarge");
  });

  test("a non-JSON media type gets 415", async () => {
    const res = await request(inst, "PUT", rgUrl("xml"), { headers: { ...auth(), "content-type": "application/xml" }, body: "<rg/>" });
    assert.equal(res.status, 415);
    assert.equal(res.json.error.code, "UnsupportedMediaType");
  });

  test("unknown routes, namespaces and types get ARM-shaped 4xx", async () => {
    const cases: [string, number, string][] = [
      [`/nothing-here?api-version=1`, 404, "NotFound"],
      [`/subscriptions/${sub()}/bogus?api-version=1`, 404, "NotFound"],
      [`/subscriptions/${sub()}/resourceGroups/rg/providers/Microsoft.Nope/things/x?api-version=1`, 404, "InvalidResourceNamespace"],
      [`/subscriptions/${sub()}/providers/Microsoft.ManagedIdentity/nope?api-version=1`, 400, "InvalidResourceType"],
      [`/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups?api-version=1`, 404, "SubscriptionNotFound"],
      [`/subscriptions/${sub()}/resourceGroups`, 400, "MissingApiVersionParameter"],
    ];
    for (const [url, status, code] of cases) {
      const res = await request(inst, "GET", url, { headers: auth() });
      assert.equal(res.status, status, url);
      assert.equal(res.json.error.code, code, url);
      assert.equal(typeof res.json.error.message, "string");
    }
  });

  test("a resource group without location gets LocationRequired; an invalid name gets 400", async () => {
    const noLoc = await request(inst, "PUT", rgUrl("noloc"), { headers: { ...auth(), "content-type": "application/json" }, body: "{}" });
    assert.equal(noLoc.status, 400);
    assert.equal(noLoc.json.error.code, "LocationRequired");
    const badName = await request(inst, "PUT", rgUrl("bad%2Fname."), { headers: { ...auth(), "content-type": "application/json" }, body: '{"location":"eastus"}' });
    assert.equal(badName.status, 400);
  });

  test("paths are case-insensitive and any api-version is accepted; %2D-encoded query keys decode", async () => {
    const put = await request(inst, "PUT", `/SUBSCRIPTIONS/${sub()}/RESOURCEGROUPS/CaseRg?api-version=1999-01-01`, {
      headers: { ...auth(), "content-type": "application/json" },
      body: '{"location":"East US"}',
    });
    assert.equal(put.status, 201);
    assert.equal(put.json.location, "eastus");
    const mi = await request(inst, "PUT", `/subscriptions/${sub()}/resourcegroups/caserg/providers/microsoft.managedidentity/userassignedidentities/id-x?api%2Dversion=2099-12-31-preview`, {
      headers: { ...auth(), "content-type": "application/json" },
      body: '{"location":"eastus"}',
    });
    assert.equal(mi.status, 201);
    assert.equal(mi.json.id, `/subscriptions/${sub()}/resourceGroups/CaseRg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-x`);
    assert.equal(mi.json.type, "Microsoft.ManagedIdentity/userAssignedIdentities");
  });

  test("changing a resource group's location is refused", async () => {
    const headers = { ...auth(), "content-type": "application/json" };
    assert.equal((await request(inst, "PUT", rgUrl("locked"), { headers, body: '{"location":"eastus"}' })).status, 201);
    const res = await request(inst, "PUT", rgUrl("locked"), { headers, body: '{"location":"westus"}' });
    assert.equal(res.status, 409);
    assert.equal(res.json.error.code, "InvalidResourceGroupLocation");
  });
});

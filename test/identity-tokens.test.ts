import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPair, SignJWT, jwtVerify, decodeJwt } from "jose";
import { startInstance, request, clientToken, tempDir, type Instance } from "./harness.js";
import { startTdekv, type RunningTdekv } from "../src/main.js";
import { ManualClock, loadConfig, silentLogger } from "../src/platform/index.js";

/**
 * Issue 2 §4: tokens are really signed and every ARM request is verified. The negative matrix: missing,
 * malformed, forged, tampered, alg:none, expired, wrong audience, wrong tenant -> 401 with ARM's code.
 */
let inst: Instance;
let armToken: string;
const ep = () => inst.endpoints;
const subUrl = () => `/subscriptions/${ep().subscriptionId}/resourcegroups?api-version=2021-04-01`;
const form = (o: Record<string, string>) => ({ headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(o).toString() });

before(async () => {
  inst = await startInstance();
  armToken = await clientToken(inst, "https://management.azure.com/.default");
});
after(async () => {
  await inst.stop();
});

async function armWith(authorization: string | undefined) {
  return request(inst, "GET", subUrl(), { headers: authorization === undefined ? {} : { authorization } });
}

function assertArm401(res: Awaited<ReturnType<typeof armWith>>, code: string) {
  assert.equal(res.status, 401, res.text);
  assert.deepEqual(Object.keys(res.json), ["error"]);
  assert.equal(res.json.error.code, code);
  assert.match(String(res.headers["www-authenticate"]), /^Bearer authorization_uri=/);
  // Nothing else leaks: no resource data, no token echo.
  assert.ok(!res.text.includes(armToken.split(".")[2]!));
}

describe("Entra token endpoints", () => {
  test("v2 client credentials issue an RS256 JWT that verifies against the published JWKS", async () => {
    const oidc = await request(inst, "GET", `/${ep().tenantId}/v2.0/.well-known/openid-configuration`);
    assert.equal(oidc.status, 200);
    for (const k of ["token_endpoint", "authorization_endpoint", "issuer", "jwks_uri"]) assert.equal(typeof oidc.json[k], "string", k);
    const keys = await request(inst, "GET", new URL(oidc.json.jwks_uri).pathname);
    assert.equal(keys.json.keys[0].kty, "RSA");
    assert.equal(keys.json.keys[0].d, undefined, "no private part in the JWKS");
    const { payload, protectedHeader } = await jwtVerify(armToken, keys.json.keys[0], { algorithms: ["RS256"] });
    assert.equal(protectedHeader.alg, "RS256");
    assert.equal(payload.aud, "https://management.azure.com");
    assert.equal(payload.iss, `https://sts.windows.net/${ep().tenantId}/`);
    assert.equal(payload.tid, ep().tenantId);
    assert.equal(payload.appid, ep().clientId);
    assert.equal(typeof payload.oid, "string");
  });

  test("v1 endpoint takes resource= and az's double-slash scope maps to management.core.windows.net/", async () => {
    const v1 = await request(inst, "POST", `/${ep().tenantId}/oauth2/token`, form({ grant_type: "client_credentials", client_id: ep().clientId, client_secret: ep().clientSecret, resource: "https://management.core.windows.net/" }));
    assert.equal(v1.status, 200, v1.text);
    assert.equal(v1.json.resource, "https://management.core.windows.net/");
    assert.match(v1.json.expires_on, /^\d+$/);
    assert.equal(decodeJwt(v1.json.access_token).aud, "https://management.core.windows.net/");
    const v2 = await clientToken(inst, "https://management.core.windows.net//.default");
    assert.equal(decodeJwt(v2).aud, "https://management.core.windows.net/");
    assert.equal((await armWith(`Bearer ${v2}`)).status, 200);
  });

  test("refusals carry Entra's AADSTS codes", async () => {
    const base = { grant_type: "client_credentials", client_id: ep().clientId, client_secret: ep().clientSecret, scope: "https://management.azure.com/.default" };
    const cases: [string, Record<string, string>, number, string, number][] = [
      [ep().tenantId, { ...base, client_secret: "wrong" }, 401, "invalid_client", 7000215],
      [ep().tenantId, { ...base, client_id: "00000000-0000-0000-0000-000000000001" }, 400, "unauthorized_client", 700016],
      ["11111111-2222-3333-4444-555555555555", base, 400, "invalid_request", 90002],
      [ep().tenantId, { ...base, scope: "https://management.azure.com/user_impersonation" }, 400, "invalid_scope", 1002012],
      [ep().tenantId, { ...base, grant_type: "password" }, 400, "unsupported_grant_type", 70003],
      [ep().tenantId, { ...base, scope: "https://unknown.example.com/.default" }, 400, "invalid_resource", 500011],
    ];
    for (const [tenant, body, status, error, aadsts] of cases) {
      const res = await request(inst, "POST", `/${tenant}/oauth2/v2.0/token`, form(body));
      assert.equal(res.status, status, JSON.stringify(body));
      assert.equal(res.json.error, error);
      assert.deepEqual(res.json.error_codes, [aadsts]);
      assert.ok(!res.text.includes(ep().clientSecret), "the secret never appears in an error");
    }
  });

  test("instance discovery answers MSAL's metadata call", async () => {
    const res = await request(inst, "GET", `/common/discovery/instance?api-version=1.1&authorization_endpoint=https://login.microsoftonline.com/common/oauth2/authorize`, { host: "login.microsoftonline.com" });
    assert.equal(res.status, 200);
    assert.ok(Array.isArray(res.json.metadata));
    assert.ok(res.json.metadata[0].aliases.includes("login.microsoftonline.com"));
  });
});

describe("ARM rejects bad tokens with 401 and ARM's code", () => {
  test("a valid token is accepted", async () => {
    assert.equal((await armWith(`Bearer ${armToken}`)).status, 200);
  });

  test("missing Authorization header", async () => {
    assertArm401(await armWith(undefined), "AuthenticationFailed");
  });

  test("not a bearer token", async () => {
    assertArm401(await armWith(`Basic ${Buffer.from("a:b").toString("base64")}`), "AuthenticationFailed");
  });

  test("malformed token", async () => {
    assertArm401(await armWith("Bearer not-a-jwt"), "InvalidAuthenticationToken");
  });

  test("alg:none with the real claims", async () => {
    const [, payload] = armToken.split(".");
    const none = `${Buffer.from(JSON.stringify({ alg: "none", typ: "JWT", kid: JSON.parse(Buffer.from(armToken.split(".")[0]!, "base64url").toString()).kid })).toString("base64url")}.${payload}.`;
    assertArm401(await armWith(`Bearer ${none}`), "InvalidAuthenticationToken");
  });

  test("forged: signed by another key claiming tdekv's kid", async () => {
    const { privateKey } = await generateKeyPair("RS256");
    const claims = decodeJwt(armToken);
    const header = JSON.parse(Buffer.from(armToken.split(".")[0]!, "base64url").toString());
    const forged = await new SignJWT(claims).setProtectedHeader({ alg: "RS256", kid: header.kid }).sign(privateKey);
    assertArm401(await armWith(`Bearer ${forged}`), "InvalidAuthenticationToken");
  });

  test("tampered payload under a genuine signature", async () => {
    const [h, p, s] = armToken.split(".");
    const claims = JSON.parse(Buffer.from(p!, "base64url").toString());
    claims.exp += 86_400;
    const tampered = `${h}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${s}`;
    assertArm401(await armWith(`Bearer ${tampered}`), "InvalidAuthenticationToken");
  });

  test("wrong audience: a Key Vault token", async () => {
    const vaultToken = await clientToken(inst, "https://vault.azure.net/.default");
    const res = await armWith(`Bearer ${vaultToken}`);
    assertArm401(res, "InvalidAuthenticationTokenAudience");
    assert.match(res.json.error.message, /wrong audience or resource 'https:\/\/vault.azure.net'/);
  });

  test("wrong tenant: a second tenant's principal against the first tenant's subscription", async () => {
    const tenantRes = await request(inst, "POST", "/_tdekv/tenants", { headers: { authorization: `Bearer ${armToken}`, "content-type": "application/json" }, body: JSON.stringify({ displayName: "Contoso" }) });
    assert.equal(tenantRes.status, 201, tenantRes.text);
    const second = tenantRes.json as { tenantId: string; clientId: string; clientSecret: string };
    const otherToken = await clientToken(inst, "https://management.azure.com/.default", second);
    const res = await armWith(`Bearer ${otherToken}`);
    assertArm401(res, "InvalidAuthenticationTokenTenant");
    assert.match(res.json.error.message, new RegExp(`wrong issuer 'https://sts.windows.net/${second.tenantId}/'`));
    // The same principal works in a subscription of its own tenant.
    const subRes = await request(inst, "POST", "/_tdekv/subscriptions", { headers: { authorization: `Bearer ${armToken}`, "content-type": "application/json" }, body: JSON.stringify({ tenantId: second.tenantId }) });
    assert.equal(subRes.status, 201);
    const own = await request(inst, "GET", `/subscriptions/${subRes.json.id}/resourcegroups?api-version=2021-04-01`, { headers: { authorization: `Bearer ${otherToken}` } });
    assert.equal(own.status, 200);
    const list = await request(inst, "GET", `/subscriptions?api-version=2020-01-01`, { headers: { authorization: `Bearer ${otherToken}` } });
    assert.deepEqual(list.json.value.map((s: { subscriptionId: string }) => s.subscriptionId), [subRes.json.id]);
    // Only the bootstrap tenant administers tdekv.
    const denied = await request(inst, "POST", "/_tdekv/tenants", { headers: { authorization: `Bearer ${otherToken}`, "content-type": "application/json" }, body: "{}" });
    assert.equal(denied.status, 403);
  });
});

describe("expiry, driven by an injected clock", () => {
  let running: RunningTdekv;
  const clock = new ManualClock(Date.now());
  let local: Instance;

  before(async () => {
    const dataDir = tempDir("clock");
    running = await startTdekv(loadConfig({ dataDir, port: 0, proxyPort: 0 }), { log: silentLogger(), clock });
    const fs = await import("node:fs");
    local = { endpoints: running.endpoints as any, ca: fs.readFileSync(running.endpoints.caCertFile), dataDir, child: undefined as any, stdout: () => "", stop: async () => 0 };
  });
  after(async () => {
    await running.stop();
  });

  test("a token is good until exp and gets ExpiredAuthenticationToken after it", async () => {
    const token = await clientToken(local, "https://management.azure.com/.default");
    const url = `/subscriptions/${running.endpoints.subscriptionId}?api-version=2020-01-01`;
    assert.equal((await request(local, "GET", url, { headers: { authorization: `Bearer ${token}` } })).status, 200);
    clock.advance(3599 * 1000 + 1000);
    const res = await request(local, "GET", url, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 401);
    assert.equal(res.json.error.code, "ExpiredAuthenticationToken");
    assert.match(res.json.error.message, /is earlier than current UTC time/);
  });

  test("a token from the future (nbf ahead of the clock) is refused", async () => {
    const token = await clientToken(local, "https://management.azure.com/.default");
    clock.advance(-600_000);
    const res = await request(local, "GET", `/subscriptions/${running.endpoints.subscriptionId}?api-version=2020-01-01`, { headers: { authorization: `Bearer ${token}` } });
    clock.advance(600_000);
    assert.equal(res.status, 401);
    assert.equal(res.json.error.code, "InvalidAuthenticationToken");
  });
});

import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import https from "node:https";
import { decodeJwt, jwtVerify } from "jose";
import { startInstance, request, clientToken, tempDir, type Instance } from "./harness.js";
import { createPortalServerKit, PORTAL_APP } from "./portal-server-kit.js";
import { ChangeFeed, ManualClock, type StreamSink } from "../src/platform/index.js";
import { createPortalHost, PING_INTERVAL_MS, RETRY_MS } from "../src/portal-host/index.js";

/**
 * Issue 9 §1, §4 (the server half of the portal): users signing in with authorization code + PKCE against
 * tdekv's Entra, multi-resource refresh tokens, CORS for the portal's origins only, the static portal with
 * its CSP, and the SSE hint stream. Real tdekv, real HTTPS with tdekv's CA verified, no mocks.
 */
const API = "api-version=2021-04-01";
let inst: Instance;
let spToken: string;
const { ep, origin, redirectUri, form, json, pkce, authorizeUrl, parseForm, getCode, redeem, refresh, signIn, assertEntra, viaProxy, attach, openEvents } = createPortalServerKit(() => inst);

before(async () => {
  inst = await startInstance({ args: ["--clock", "manual", "--probe-interval", "3600"] });
  spToken = await clientToken(inst, "https://management.azure.com/.default");
});
after(async () => {
  await inst.stop();
});

// ---------------------------------------------------------------- sign-in

describe("sign-in page (authorization code + PKCE)", () => {
  test("the page is tdekv's own: title, h1, warning, users, strict CSP with the style's hash and no script", async () => {
    const res = await request(inst, "GET", authorizeUrl(pkce()));
    assert.equal(res.status, 200);
    assert.match(String(res.headers["content-type"]), /^text\/html/);
    assert.match(res.text, /<html lang="en">/);
    assert.match(res.text, /<title>Sign in to tdekv \(local\)<\/title>/);
    assert.match(res.text, /<h1>Sign in to tdekv \(local\)<\/h1>/);
    assert.match(res.text, /This is not Microsoft Entra ID\./);
    assert.match(res.text, /<main>/);
    assert.match(res.text, /<legend>Choose a user<\/legend>/);
    assert.match(res.text, /<button type="submit">Sign in<\/button>/);
    assert.doesNotMatch(res.text, /<script/i);
    assert.match(res.text, /admin@tdekv\.local/);
    assert.match(res.text, /tdekv Admin/);
    const csp = String(res.headers["content-security-policy"]);
    const style = /<style>([\s\S]*?)<\/style>/.exec(res.text)![1]!;
    const hash = createHash("sha256").update(style).digest("base64");
    assert.match(csp, /^default-src 'none'; /);
    assert.ok(csp.includes(`style-src 'sha256-${hash}'`), csp);
    assert.match(csp, /form-action 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(res.headers["cache-control"], "no-store");
    // Every radio has a label.
    for (const m of res.text.matchAll(/<input type="radio" id="([^"]+)"/g)) assert.ok(res.text.includes(`<label for="${m[1]}">`), m[1]);
  });

  test("full flow: page → POST → 302 with code and state → tokens for a user that ARM and /_tdekv accept", async () => {
    const p = pkce();
    const { code, state, location } = await getCode(p);
    assert.equal(state, "st-123");
    assert.equal(`${location.origin}${location.pathname}`, redirectUri());
    const res = await redeem(code, p.verifier);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.token_type, "Bearer");
    assert.equal(typeof res.json.expires_in, "number");
    assert.equal(typeof res.json.refresh_token, "string");
    assert.match(res.json.scope, /management\.core\.windows\.net/);
    const keys = (await request(inst, "GET", `/${ep().tenantId}/discovery/v2.0/keys`)).json.keys[0];
    const id = await jwtVerify(res.json.id_token, keys, { audience: PORTAL_APP, issuer: `${origin()}/${ep().tenantId}/v2.0` });
    assert.equal(id.payload.nonce, "n-456");
    assert.equal(id.payload.name, "tdekv Admin");
    assert.equal(id.payload.preferred_username, "admin@tdekv.local");
    assert.equal(id.payload.tid, ep().tenantId);
    assert.equal(typeof id.payload.oid, "string");
    const access = await jwtVerify(res.json.access_token, keys, { audience: "https://management.core.windows.net/", issuer: `https://sts.windows.net/${ep().tenantId}/` });
    assert.equal(access.payload.idtyp, "user");
    assert.equal(access.payload.upn, "admin@tdekv.local");
    assert.equal(access.payload.name, "tdekv Admin");
    assert.equal(access.payload.appid, PORTAL_APP);
    assert.equal(access.payload.oid, id.payload.oid);
    const token = res.json.access_token as string;
    // Graph knows the user (az ad user show --id admin@tdekv.local).
    const graphToken = await clientToken(inst, "https://graph.microsoft.com/.default");
    const me = await request(inst, "GET", "/v1.0/users/admin%40tdekv.local", { host: "graph.microsoft.com", headers: { authorization: `Bearer ${graphToken}` } });
    assert.equal(me.status, 200, me.text);
    assert.equal(me.json.id, id.payload.oid);
    assert.equal(me.json.userPrincipalName, "admin@tdekv.local");
    assert.equal((await request(inst, "GET", `/subscriptions/${ep().subscriptionId}/resourcegroups?${API}`, json(token))).status, 200);
    assert.equal((await request(inst, "GET", "/_tdekv/alerts/outbox", json(token))).status, 200, "the notifications inbox");
    const clock = await request(inst, "GET", "/_tdekv/clock", json(token));
    assert.equal(clock.status, 200, clock.text);
    assert.equal(clock.json.nowMs, Date.parse(clock.json.now));
    assert.equal(clock.json.rate, 0, "a manual clock does not run");
    assert.equal(clock.json.windowMs, 1_800_000);
  });

  test("login_hint preselects that user; the page token is single-use", async () => {
    const page = await request(inst, "GET", authorizeUrl(pkce(), { login_hint: "ADMIN@tdekv.local" }));
    const f = parseForm(page.text);
    assert.equal(f.users.filter((u) => u.checked).length, 1);
    const first = await request(inst, "POST", f.action, form({ form_token: f.formToken, user: f.users[0]!.objectId }));
    assert.equal(first.status, 302);
    const again = await request(inst, "POST", f.action, form({ form_token: f.formToken, user: f.users[0]!.objectId }));
    assert.equal(again.status, 400);
    assert.match(again.text, /expired or was already used/);
    assert.equal(again.headers.location, undefined);
  });

  test("a wrong code_verifier is AADSTS50148; a malformed one AADSTS501481", async () => {
    const p = pkce();
    const { code } = await getCode(p);
    assertEntra(await redeem(code, pkce().verifier), 400, "invalid_grant", 50148);
    const q = pkce();
    const second = await getCode(q);
    assertEntra(await redeem(second.code, "short"), 400, "invalid_grant", 501481);
  });

  test("a code redeemed twice is AADSTS54005, and the refresh token it bought is revoked (AADSTS50173)", async () => {
    const p = pkce();
    const { code } = await getCode(p);
    const ok = await redeem(code, p.verifier);
    assert.equal(ok.status, 200);
    assertEntra(await redeem(code, p.verifier), 400, "invalid_grant", 54005);
    assertEntra(await refresh(ok.json.refresh_token, "https://vault.azure.net/.default offline_access"), 400, "invalid_grant", 50173);
  });

  test("a code older than 60 s on tdekv's clock is AADSTS70008", async () => {
    const p = pkce();
    const { code } = await getCode(p);
    const moved = await request(inst, "POST", "/_tdekv/clock/advance", json(spToken, { by: "61s" }));
    assert.equal(moved.status, 200, moved.text);
    assertEntra(await redeem(code, p.verifier), 400, "invalid_grant", 70008);
  });

  test("another redirect_uri at the token endpoint is AADSTS500112", async () => {
    const p = pkce();
    const { code } = await getCode(p);
    assertEntra(await redeem(code, p.verifier, { redirect_uri: `${origin()}/portal/other` }), 400, "invalid_grant", 500112);
  });

  test("untrusted redirect URI or unknown app: an error page, never a redirect", async () => {
    for (const [extra, aadsts] of [
      [{ redirect_uri: "https://evil.example/portal/" }, 50011],
      [{ redirect_uri: `${origin()}/not-portal/` }, 50011],
      [{ redirect_uri: `http://localhost:${ep().httpsPort}/portal/` }, 50011],
      [{ client_id: "00000000-0000-0000-0000-000000000001" }, 700016],
    ] as const) {
      const res = await request(inst, "GET", authorizeUrl(pkce(), extra));
      assert.equal(res.status, 400, JSON.stringify(extra));
      assert.equal(res.headers.location, undefined);
      assert.match(res.text, new RegExp(`AADSTS${aadsts}: `));
      assert.match(String(res.headers["content-security-policy"]), /^default-src 'none'/);
      assert.doesNotMatch(res.text, /evil\.example\/portal\/"/, "the untrusted URI is never a link or form target");
    }
  });

  test("PKCE is required (S256 only): the error goes back to the portal with state", async () => {
    for (const extra of [{}, { code_challenge: pkce().challenge, code_challenge_method: "plain" }] as Record<string, string>[]) {
      const res = await request(inst, "GET", authorizeUrl(undefined, extra));
      assert.equal(res.status, 302, res.text);
      const loc = new URL(String(res.headers.location));
      assert.equal(`${loc.origin}${loc.pathname}`, redirectUri());
      assert.equal(loc.searchParams.get("error"), "invalid_request");
      assert.match(loc.searchParams.get("error_description")!, /^AADSTS9002325: Proof Key for Code Exchange is required/);
      assert.equal(loc.searchParams.get("state"), "st-123");
      assert.equal(loc.searchParams.get("code"), null);
    }
  });
});

// ---------------------------------------------------------------- refresh and the vault

describe("multi-resource refresh and Key Vault with a user's token", () => {
  const rg = "rg-portal-kv";
  const vaultPath = (name: string) => `/subscriptions/${ep().subscriptionId}/resourceGroups/${rg}/providers/Microsoft.KeyVault/vaults/${name}?api-version=2023-07-01`;
  const vaultHost = (name: string) => `${name}.vault.localhost:${ep().httpsPort}`;

  test("refresh for https://vault.azure.net/.default lists keys where the user has a policy, 403 where not", async () => {
    const user = await signIn();
    const oid = decodeJwt(user.access).oid as string;
    assert.equal((await request(inst, "PUT", `/subscriptions/${ep().subscriptionId}/resourcegroups/${rg}?${API}`, json(spToken, { location: "eastus" }))).status, 201);
    const policy = [{ tenantId: ep().tenantId, objectId: oid, permissions: { keys: ["get", "list", "create"] } }];
    for (const [name, accessPolicies] of [
      ["kv-portal-yes", policy],
      ["kv-portal-no", []],
    ] as const) {
      const res = await request(inst, "PUT", vaultPath(name), json(spToken, { location: "eastus", properties: { tenantId: ep().tenantId, sku: { family: "A", name: "standard" }, accessPolicies } }));
      assert.ok(res.status === 200 || res.status === 201, res.text);
    }
    const r = await refresh(user.refresh, "https://vault.azure.net/.default offline_access");
    assert.equal(r.status, 200, r.text);
    assert.equal(decodeJwt(r.json.access_token).aud, "https://vault.azure.net");
    assert.equal(decodeJwt(r.json.access_token).idtyp, "user");
    assert.equal(r.json.refresh_token, user.refresh, "not rotated: the portal refreshes ARM and vault tokens concurrently");
    const vaultToken = r.json.access_token as string;
    // A key written through the data plane hints the vault's ARM id (the Keys blade re-reads).
    const sse = await openEvents(user.access);
    try {
      await sse.waitFor((e) => e.event === "clock", "stream open");
      const created = await request(inst, "POST", `/keys/k1/create?api-version=7.4`, { host: vaultHost("kv-portal-yes"), ...json(vaultToken, { kty: "RSA", key_size: 2048 }) });
      assert.equal(created.status, 200, created.text);
      const vaultId = `/subscriptions/${ep().subscriptionId}/resourceGroups/${rg}/providers/Microsoft.KeyVault/vaults/kv-portal-yes`;
      await sse.waitFor((e) => e.event === "hint" && e.data.type === "resource.changed" && e.data.resourceId?.toLowerCase() === vaultId.toLowerCase(), "hint for the key write");
    } finally {
      sse.close();
    }
    const listed = await request(inst, "GET", `/keys?api-version=7.4`, { host: vaultHost("kv-portal-yes"), ...json(vaultToken) });
    assert.equal(listed.status, 200, listed.text);
    assert.equal(listed.json.value.length, 1);
    const denied = await request(inst, "GET", `/keys?api-version=7.4`, { host: vaultHost("kv-portal-no"), ...json(vaultToken) });
    assert.equal(denied.status, 403, denied.text);
    // Key Vault's access-policy refusal, verbatim (tdekv sends the current inner code, keyvault.md §1.7).
    assert.equal(denied.json.error.code, "Forbidden");
    assert.equal(denied.json.error.innererror.code, "AccessDenied");
    assert.match(denied.json.error.message, new RegExp(`oid=${oid}.* does not have keys list permission on key vault 'kv-portal-no;location=eastus'`));
    // An ARM token is not a vault token, and back.
    assert.equal((await request(inst, "GET", `/keys?api-version=7.4`, { host: vaultHost("kv-portal-yes"), ...json(user.access) })).status, 401);
    assert.equal((await request(inst, "GET", `/subscriptions/${ep().subscriptionId}/resourcegroups?${API}`, json(vaultToken))).status, 401);
  });

  test("refresh refusals: unknown token, other client, revoked sessions", async () => {
    const user = await signIn();
    assertEntra(await refresh("not-a-token", "https://vault.azure.net/.default"), 400, "invalid_grant", 9002313);
    const other = await request(inst, "POST", "/organizations/oauth2/v2.0/token", form({ grant_type: "refresh_token", client_id: ep().clientId, refresh_token: user.refresh, scope: "https://vault.azure.net/.default" }));
    assertEntra(other, 400, "unauthorized_client", 700016);
    assertEntra(await refresh(user.refresh, "https://unknown.example.com/.default"), 400, "invalid_scope", 70011);
    const revoked = await request(inst, "POST", "/_tdekv/sessions/revoke", json(spToken, { objectId: decodeJwt(user.access).oid }));
    assert.equal(revoked.status, 200, revoked.text);
    assert.ok(revoked.json.revoked >= 1);
    assertEntra(await refresh(user.refresh, "https://vault.azure.net/.default"), 400, "invalid_grant", 50173);
  });
});

// ---------------------------------------------------------------- CORS

describe("CORS for the portal's origins only", () => {
  const preflight = (path: string, o: string, host?: string) =>
    request(inst, "OPTIONS", path, { ...(host ? { host } : {}), headers: { origin: o, "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" } });

  test("token endpoint: preflight and response echo a portal origin, never *, and ignore others", async () => {
    for (const o of [origin(), `https://127.0.0.1:${ep().httpsPort}`, "https://management.azure.com"]) {
      const res = await preflight("/organizations/oauth2/v2.0/token", o);
      assert.equal(res.status, 204);
      assert.equal(res.headers["access-control-allow-origin"], o);
      assert.match(String(res.headers["access-control-allow-methods"]), /POST/);
      assert.match(String(res.headers["access-control-allow-headers"]), /content-type/);
      assert.equal(res.headers["access-control-allow-credentials"], undefined);
    }
    const evil = await preflight("/organizations/oauth2/v2.0/token", "https://evil.example");
    assert.equal(evil.headers["access-control-allow-origin"], undefined);
    const p = pkce();
    const { code } = await getCode(p);
    const res = await request(inst, "POST", "/organizations/oauth2/v2.0/token", {
      headers: { "content-type": "application/x-www-form-urlencoded", origin: origin() },
      body: new URLSearchParams({ grant_type: "authorization_code", client_id: PORTAL_APP, code, redirect_uri: redirectUri(), code_verifier: p.verifier }).toString(),
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers["access-control-allow-origin"], origin());
    assert.match(String(res.headers.vary), /origin/i);
    // ARM is the portal's own origin: no CORS there.
    const arm = await request(inst, "GET", `/subscriptions?${API}`, { headers: { origin: "https://evil.example", authorization: `Bearer ${spToken}` } });
    assert.equal(arm.headers["access-control-allow-origin"], undefined);
  });

  test("Key Vault: preflight allows Authorization; responses expose WWW-Authenticate and x-ms-request-id", async () => {
    const host = `kv-portal-yes.vault.localhost:${ep().httpsPort}`;
    const pre = await preflight("/keys?api-version=7.4", origin(), host);
    assert.equal(pre.status, 204);
    assert.equal(pre.headers["access-control-allow-origin"], origin());
    assert.match(String(pre.headers["access-control-allow-headers"]), /authorization/);
    const challenge = await request(inst, "GET", "/keys?api-version=7.4", { host, headers: { origin: origin() } });
    assert.equal(challenge.status, 401);
    assert.equal(challenge.headers["access-control-allow-origin"], origin());
    assert.match(String(challenge.headers["access-control-expose-headers"]), /www-authenticate/);
    assert.match(String(challenge.headers["access-control-expose-headers"]), /x-ms-request-id/);
    const evil = await request(inst, "GET", "/keys?api-version=7.4", { host, headers: { origin: "https://kv.evil.example" } });
    assert.equal(evil.headers["access-control-allow-origin"], undefined);
  });
});

// ---------------------------------------------------------------- static portal
describe("static portal", () => {
  test("/portal redirects to /portal/, which is index.html with the portal's CSP", async () => {
    assert.equal(ep().portalUrl, `${origin()}/portal/`, "endpoints.json names the portal");
    const moved = await request(inst, "GET", "/portal");
    assert.equal(moved.status, 301);
    assert.equal(moved.headers.location, "/portal/");
    const res = await request(inst, "GET", "/portal/");
    assert.equal(res.status, 200, "dist/portal is built by npm run build");
    assert.equal(res.headers["content-type"], "text/html; charset=utf-8");
    assert.equal(res.headers["cache-control"], "no-cache");
    assert.equal(res.headers["x-content-type-options"], "nosniff");
    const csp = String(res.headers["content-security-policy"]);
    for (const part of ["default-src 'self'", `connect-src 'self' https://*.vault.localhost:${ep().httpsPort}`, "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"]) {
      assert.ok(csp.split("; ").includes(part), `${part} in ${csp}`);
    }
    assert.match(res.text, /<html lang="en">/);
    const js = await request(inst, "GET", "/portal/app.js");
    assert.equal(js.status, 200);
    assert.equal(js.headers["content-type"], "text/javascript; charset=utf-8");
    const etag = String(js.headers.etag);
    assert.equal((await request(inst, "GET", "/portal/app.js", { headers: { "if-none-match": etag } })).status, 304);
    assert.equal((await request(inst, "GET", "/portal/app.css")).headers["content-type"], "text/css; charset=utf-8");
  });

  test("nothing outside dist/portal, nothing but GET/HEAD", async () => {
    // Sent as raw request targets: a WHATWG URL would resolve the dot segments before they leave the client.
    const raw = (p: string) =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = https.request({ host: "localhost", port: ep().httpsPort, path: p, ca: inst.ca }, (res) => {
          let text = "";
          res.on("data", (d: Buffer) => (text += d));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
        });
        req.on("error", reject);
        req.end();
      });
    for (const p of ["/portal/../package.json", "/portal/%2e%2e/%2e%2e/package.json", "/portal/..%2fpackage.json", "/portal/%5c..%5cpackage.json", "/portal//etc/passwd", "/portal/%00", "/portal/%E0%A4%A"]) {
      const res = await raw(p);
      assert.equal(res.status, 400, p);
      assert.doesNotMatch(res.text, /"name": "tdekv"/);
    }
    assert.equal((await request(inst, "GET", "/portal/no-such-file.js")).status, 404);
    const put = await request(inst, "PUT", "/portal/app.js", { body: "x" });
    assert.equal(put.status, 405);
    assert.equal(put.headers.allow, "GET, HEAD");
  });

  test("through the proxy the portal is on management.azure.com: CSP names the Azure hosts, login is login.microsoftonline.com", async () => {
    const { res, text } = await viaProxy("management.azure.com", "/portal/");
    assert.equal(res.statusCode, 200);
    await text();
    const csp = String(res.headers["content-security-policy"]);
    assert.ok(csp.includes("connect-src 'self' https://login.microsoftonline.com https://*.vault.azure.net"), csp);
    const meta = await viaProxy("management.azure.com", "/metadata/endpoints?api-version=2022-09-01");
    const body = JSON.parse(await meta.text());
    assert.equal(body.portalEndpoint, "https://management.azure.com/portal/");
    assert.equal(body.authentication.loginEndpoint, "https://login.microsoftonline.com");
    const direct = await request(inst, "GET", "/metadata/endpoints?api-version=2022-09-01");
    assert.equal(direct.json.portalEndpoint, `${origin()}/portal/`);
    assert.equal(direct.json.authentication.loginEndpoint, origin());
  });
});

// ---------------------------------------------------------------- SSE hints
describe("hint stream /_tdekv/events", () => {
  test("a user's token opens it: retry, a clock event, then a hint for a resource group written through ARM", async () => {
    const user = await signIn();
    const sse = await openEvents(user.access);
    try {
      assert.equal(sse.status, 200);
      await sse.waitFor((e) => e.event === "clock", "clock event at connect");
      assert.match(sse.raw(), /^retry: 2000\n/);
      const clock = sse.events.find((e) => e.event === "clock")!.data;
      assert.equal(clock.rate, 0);
      assert.equal(typeof clock.now, "number");
      const rgId = `/subscriptions/${ep().subscriptionId}/resourceGroups/rg-sse-1`;
      assert.equal((await request(inst, "PUT", `${rgId}?${API}`, json(user.access, { location: "eastus" }))).status, 201);
      const hint = await sse.waitFor((e) => e.event === "hint" && e.data.type === "resource.changed" && e.data.resourceId === rgId, "hint for rg-sse-1");
      assert.equal(hint.id, hint.data.id);
      assert.equal(typeof hint.data.at, "number");
      assert.deepEqual(Object.keys(hint.data).sort(), ["at", "id", "resourceId", "type"]);
    } finally {
      sse.close();
    }
  });

  test("moving the clock by hand sends a clock event with the new time", async () => {
    const sse = await openEvents(spToken);
    try {
      const first = await sse.waitFor((e) => e.event === "clock", "first clock");
      assert.equal((await request(inst, "POST", "/_tdekv/clock/advance", json(spToken, { by: "5m" }))).status, 200);
      const moved = await sse.waitFor((e) => e.event === "clock" && e.data.now >= first.data.now + 300_000, "clock after advance");
      assert.equal(moved.data.now - first.data.now, 300_000);
      await sse.waitFor((e) => e.event === "hint" && e.data.type === "clock", "clock hint");
    } finally {
      sse.close();
    }
  });

  test("Last-Event-ID replays what was missed; an unknown id gets one catch-all hint", async () => {
    const a = await openEvents(spToken);
    const rg = (n: string) => `/subscriptions/${ep().subscriptionId}/resourceGroups/${n}`;
    let lastId: string;
    try {
      await request(inst, "PUT", `${rg("rg-sse-2")}?${API}`, json(spToken, { location: "eastus" }));
      lastId = (await a.waitFor((e) => e.event === "hint" && e.data.resourceId === rg("rg-sse-2"), "rg-sse-2")).id!;
    } finally {
      a.close();
    }
    await request(inst, "PUT", `${rg("rg-sse-3")}?${API}`, json(spToken, { location: "eastus" }));
    const b = await openEvents(spToken, { "last-event-id": lastId });
    try {
      const replayed = await b.waitFor((e) => e.event === "hint" && e.data.resourceId === rg("rg-sse-3"), "replayed rg-sse-3");
      assert.ok(Number(replayed.id) > Number(lastId));
      assert.ok(!b.events.some((e) => e.data?.resourceId === rg("rg-sse-2")), "nothing before Last-Event-ID");
    } finally {
      b.close();
    }
    const c = await openEvents(spToken, { "last-event-id": "1" });
    try {
      const all = await c.waitFor((e) => e.event === "hint", "catch-all hint");
      assert.equal(all.data.type, "resource.changed");
      assert.equal(all.data.resourceId, undefined);
    } finally {
      c.close();
    }
  });

  test("refused without a token (401) and for another tenant's principal (403), in ARM's envelope", async () => {
    const none = await request(inst, "GET", "/_tdekv/events");
    assert.equal(none.status, 401);
    assert.equal(none.json.error.code, "AuthenticationFailed");
    const tenant = await request(inst, "POST", "/_tdekv/tenants", json(spToken, { displayName: "other" }));
    assert.equal(tenant.status, 201, tenant.text);
    const other = await clientToken(inst, "https://management.azure.com/.default", tenant.json);
    const res = await request(inst, "GET", "/_tdekv/events", json(other));
    assert.equal(res.status, 403);
    assert.equal(res.json.error.code, "AuthorizationFailed");
    // The other tenant's seeded user exists and signs in to that tenant only.
    const page = await request(inst, "GET", authorizeUrl(pkce(), {}, tenant.json.tenantId));
    assert.match(page.text, new RegExp(`admin@${tenant.json.tenantId}\\.tdekv\\.local`));
    assert.doesNotMatch(page.text, /admin@tdekv\.local/);
  });

  test("the stream works through the CONNECT proxy on management.azure.com", async () => {
    const { res, req } = await viaProxy("management.azure.com", "/_tdekv/events", { authorization: `Bearer ${spToken}` });
    const sse = attach(res, req);
    try {
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers["content-type"], "text/event-stream; charset=utf-8");
      await sse.waitFor((e) => e.event === "clock", "clock through the proxy");
      const rgId = `/subscriptions/${ep().subscriptionId}/resourceGroups/rg-sse-proxy`;
      await request(inst, "PUT", `${rgId}?${API}`, json(spToken, { location: "eastus" }));
      await sse.waitFor((e) => e.event === "hint" && e.data.resourceId === rgId, "hint through the proxy");
    } finally {
      sse.close();
    }
  });

  test("stopping tdekv ends open streams instead of waiting for them; a restart keeps the one seeded user", async () => {
    const other = await startInstance();
    try {
      const token = await clientToken(other, "https://management.azure.com/.default");
      const sse = await new Promise<{ ended: Promise<void>; first: Promise<void> }>((resolve, reject) => {
        const req = https.request(new URL("/_tdekv/events", other.endpoints.armEndpoint), { ca: other.ca, headers: { authorization: `Bearer ${token}` } }, (res) => {
          const first = new Promise<void>((ok) => res.once("data", () => ok()));
          const ended = new Promise<void>((ok) => res.on("close", () => ok()));
          res.on("error", () => {});
          resolve({ ended, first });
        });
        req.on("error", () => {});
        req.end();
        req.on("error", reject);
      });
      await sse.first;
      assert.equal(await other.stop(), 0);
      await sse.ended;
      // The seeded user survives a restart and is not seeded twice.
      const again = await startInstance({ dataDir: other.dataDir });
      try {
        const page = await request(again, "GET", `/organizations/oauth2/v2.0/authorize?${new URLSearchParams({ client_id: PORTAL_APP, response_type: "code", redirect_uri: `${again.endpoints.armEndpoint}/portal/`, scope: "https://management.core.windows.net//.default", code_challenge: pkce().challenge, code_challenge_method: "S256" })}`);
        assert.equal(page.status, 200, page.text);
        assert.equal(page.text.match(/name="user"/g)?.length, 1);
        assert.match(page.text, /admin@tdekv\.local/);
      } finally {
        await again.stop();
      }
    } finally {
      await other.stop();
    }
  });

  test("timings are sane: pings well inside the front door's 120 s keep-alive, retry 2 s", () => {
    assert.equal(PING_INTERVAL_MS, 15_000);
    assert.ok(PING_INTERVAL_MS < 120_000);
    assert.equal(RETRY_MS, 2_000);
  });
});

// ---------------------------------------------------------------- the change bus, in-process

describe("change feed and stream lifecycle (in-process)", () => {
  test("hints are coalesced per resource within 100 ms, and the last change is still hinted", async () => {
    const feed = new ChangeFeed(new ManualClock());
    const seen: string[] = [];
    feed.subscribe((i) => i.kind === "hint" && seen.push(i.hint.resourceId ?? ""));
    for (let n = 0; n < 5; n++) feed.emit("resource.changed", "/a");
    feed.emit("resource.changed", "/b");
    assert.deepEqual(seen, ["/a", "/b"], "first of a burst at once");
    await new Promise<void>((resolve) => {
      const t = setInterval(() => seen.length >= 3 && (clearInterval(t), resolve()), 10);
    });
    assert.deepEqual(seen, ["/a", "/b", "/a"], "one trailing hint for the burst");
  });

  test("without a build, /portal/ says how to make one (503)", async () => {
    const host = createPortalHost({ feed: new ChangeFeed(new ManualClock()), clock: new ManualClock(), clockRate: () => 0, authorize: async () => {}, distDir: tempDir("no-portal") });
    const res = await host.surface({ method: "GET", host: "localhost:1", origin: "https://localhost:1", path: "/portal/", query: new URLSearchParams(), headers: {}, body: Buffer.alloc(0), requestId: "r", correlationId: "c", remoteAddress: "127.0.0.1" });
    assert.equal(res?.status, 503);
    assert.match(String(res?.body), /portal not built: run npm run build/);
  });

  test("closing a stream removes its listener and timer", async () => {
    const feed = new ChangeFeed(new ManualClock());
    const host = createPortalHost({ feed, clock: new ManualClock(), clockRate: () => 0, authorize: async () => {} });
    const res = await host.surface({ method: "GET", host: "localhost:1", origin: "https://localhost:1", path: "/_tdekv/events", query: new URLSearchParams(), headers: {}, body: Buffer.alloc(0), requestId: "r", correlationId: "c", remoteAddress: "127.0.0.1" });
    assert.ok(res?.stream);
    let out = "";
    let onClose: (() => void) | undefined;
    const sink: StreamSink = { write: (c) => ((out += c), true), onDrain: () => {}, onClose: (cb) => (onClose = cb), end: () => {} };
    res.stream(sink);
    assert.equal(feed.listenerCount, 1);
    assert.equal(host.openStreams(), 1);
    feed.emit("resource.changed", "/x");
    assert.match(out, /event: hint\ndata: \{"id":"\d+","type":"resource.changed","at":\d+,"resourceId":"\/x"\}/);
    onClose!();
    assert.equal(feed.listenerCount, 0);
    assert.equal(host.openStreams(), 0);
  });
});

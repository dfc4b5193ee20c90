import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { ALL_KEY_PERMISSIONS, policy, startKit, type Kit } from "./vault-keys-kit.js";
import type { Principal } from "../src/identity/index.js";

/**
 * Authorization as Key Vault does it (keyvault.md §2, §1.7): every key permission against every operation,
 * allowed and denied, for access-policy vaults; the same operations for RBAC vaults through role data
 * actions; network rules. In-process over the real surface (one kit for the file).
 */
const V = "?api-version=7.6";
let kit: Kit;

before(async () => {
  kit = await startKit();
});
after(() => kit.close());

const b64 = (b: Buffer) => b.toString("base64url");

interface Op {
  /** The access-policy permission it needs. */
  permission: string;
  /** The RBAC action a denial names. */
  action: string;
  method: string;
  path: string;
  body?: (fx: Fixture) => unknown;
  ok: number;
}

/** Per-vault state the operations act on, made by an admin before the principal under test runs them. */
interface Fixture {
  host: string;
  rsa: any;
  wrapped: string;
  digest: string;
  signature: string;
  backup: string;
}

const KV = "Microsoft.KeyVault/vaults";
const OPS: Record<string, Op> = {
  get: { permission: "get", action: `${KV}/keys/read`, method: "GET", path: "/keys/mk/", ok: 200 },
  list: { permission: "list", action: `${KV}/keys/read`, method: "GET", path: "/keys", ok: 200 },
  listVersions: { permission: "list", action: `${KV}/keys/read`, method: "GET", path: "/keys/mk/versions", ok: 200 },
  create: { permission: "create", action: `${KV}/keys/create/action`, method: "POST", path: "/keys/made/create", body: () => ({ kty: "EC" }), ok: 200 },
  update: { permission: "update", action: `${KV}/keys/update/action`, method: "PATCH", path: "/keys/mk/", body: () => ({ tags: { touched: "yes" } }), ok: 200 },
  import: {
    permission: "import",
    action: `${KV}/keys/import/action`,
    method: "PUT",
    path: "/keys/imported",
    body: () => ({ key: crypto.generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" }) }),
    ok: 200,
  },
  delete: { permission: "delete", action: `${KV}/keys/delete`, method: "DELETE", path: "/keys/victim", ok: 200 },
  getDeleted: { permission: "get", action: `${KV}/keys/read`, method: "GET", path: "/deletedkeys/deleted-a", ok: 200 },
  listDeleted: { permission: "list", action: `${KV}/keys/read`, method: "GET", path: "/deletedkeys", ok: 200 },
  recover: { permission: "recover", action: `${KV}/keys/recover/action`, method: "POST", path: "/deletedkeys/deleted-a/recover", ok: 200 },
  purge: { permission: "purge", action: `${KV}/keys/purge/action`, method: "DELETE", path: "/deletedkeys/deleted-b", ok: 204 },
  backup: { permission: "backup", action: `${KV}/keys/backup/action`, method: "POST", path: "/keys/mk/backup", ok: 200 },
  restore: { permission: "restore", action: `${KV}/keys/restore/action`, method: "POST", path: "/keys/restore", body: (fx) => ({ value: fx.backup }), ok: 200 },
  encrypt: { permission: "encrypt", action: `${KV}/keys/encrypt/action`, method: "POST", path: "/keys/mk//encrypt", body: () => ({ alg: "RSA-OAEP-256", value: "AAAA" }), ok: 200 },
  decrypt: { permission: "decrypt", action: `${KV}/keys/decrypt/action`, method: "POST", path: "/keys/mk//decrypt", body: (fx) => ({ alg: "RSA-OAEP", value: fx.wrapped }), ok: 200 },
  wrapKey: { permission: "wrapKey", action: `${KV}/keys/wrap/action`, method: "POST", path: "/keys/mk//wrapkey", body: () => ({ alg: "RSA-OAEP", value: b64(crypto.randomBytes(32)) }), ok: 200 },
  unwrapKey: { permission: "unwrapKey", action: `${KV}/keys/unwrap/action`, method: "POST", path: "/keys/mk//unwrapkey", body: (fx) => ({ alg: "RSA-OAEP", value: fx.wrapped }), ok: 200 },
  sign: { permission: "sign", action: `${KV}/keys/sign/action`, method: "POST", path: "/keys/mk//sign", body: (fx) => ({ alg: "RS256", value: fx.digest }), ok: 200 },
  verify: { permission: "verify", action: `${KV}/keys/verify/action`, method: "POST", path: "/keys/mk//verify", body: (fx) => ({ alg: "RS256", digest: fx.digest, value: fx.signature }), ok: 200 },
  rotate: { permission: "rotate", action: `${KV}/keys/rotate/action`, method: "POST", path: "/keys/mk/rotate", ok: 200 },
  getrotationpolicy: { permission: "getrotationpolicy", action: `${KV}/keyrotationpolicies/read`, method: "GET", path: "/keys/mk/rotationpolicy", ok: 200 },
  setrotationpolicy: {
    permission: "setrotationpolicy",
    action: `${KV}/keyrotationpolicies/write`,
    method: "PUT",
    path: "/keys/mk/rotationpolicy",
    body: () => ({ lifetimeActions: [{ trigger: { timeAfterCreate: "P30D" }, action: { type: "Rotate" } }] }),
    ok: 200,
  },
};

/** A vault with a fresh fixture, the admin holding "all" plus whatever `extra` grants. */
async function fixtureVault(name: string, extra: Partial<Parameters<Kit["addVault"]>[1]> = {}): Promise<Fixture> {
  kit.addVault(name, { accessPolicies: [policy(kit.admin, ["all"])], ...extra });
  const host = `${name}.vault.azure.net`;
  const admin = await kit.token(kit.admin);
  const as = (method: string, path: string, body?: unknown) => kit.call(method, `${path}${V}`, { host, token: admin, body });
  const rsa = (await as("POST", "/keys/mk/create", { kty: "RSA", key_size: 2048 })).json.key;
  for (const k of ["victim", "deleted-a", "deleted-b", "gone"]) await as("POST", `/keys/${k}/create`, { kty: "EC" });
  await as("DELETE", "/keys/deleted-a");
  await as("DELETE", "/keys/deleted-b");
  const backup = (await as("POST", "/keys/gone/backup")).json.value;
  await as("DELETE", "/keys/gone");
  await as("DELETE", "/deletedkeys/gone");
  const pub = crypto.createPublicKey({ key: { kty: "RSA", n: rsa.n, e: rsa.e }, format: "jwk" });
  const digest = crypto.createHash("sha256").update("m").digest();
  const signature = (await as("POST", "/keys/mk//sign", { alg: "RS256", value: b64(digest) })).json.value;
  return { host, rsa, wrapped: b64(crypto.publicEncrypt({ key: pub, oaepHash: "sha1" }, crypto.randomBytes(32))), digest: b64(digest), signature, backup };
}

/** The vault in the record the rules use (access policies are edited per test). */
const vaultOf = (name: string) => kit.registry.vaults.get(name)!;

async function run(fx: Fixture, op: Op, who: Principal) {
  return kit.call(op.method, `${op.path}${V}`, { host: fx.host, token: await kit.token(who), body: op.body?.(fx) });
}

describe("access policies: every permission × every operation", () => {
  for (const permission of [...ALL_KEY_PERMISSIONS, "all"]) {
    it(`a principal with keys [${permission}]`, async () => {
      const vaultName = `ap-${permission.toLowerCase()}`;
      const fx = await fixtureVault(vaultName);
      const p = await kit.newPrincipal(`holder-${permission}`);
      // Permission names compare case-insensitively, as stored by az (e.g. "wrapkey").
      vaultOf(vaultName).accessPolicies.push(policy(p, [permission.toUpperCase()]));
      for (const [name, op] of Object.entries(OPS)) {
        const res = await run(fx, op, p);
        const allowed = permission === "all" || op.permission === permission;
        if (allowed) {
          assert.equal(res.status, op.ok, `${permission} must allow ${name}: ${res.status} ${JSON.stringify(res.json)}`);
        } else {
          assert.equal(res.status, 403, `${permission} must deny ${name}: got ${res.status}`);
          assert.equal(res.json.error.code, "Forbidden");
          assert.equal(res.json.error.innererror.code, "AccessDenied");
          assert.equal(
            res.json.error.message,
            `The user, group or application 'appid=${p.appId};oid=${p.objectId};iss=https://sts.windows.net/${p.tenantId}/' does not have keys ${op.permission} permission on key vault '${vaultName};location=westeurope'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287`,
          );
        }
      }
    });
  }

  it("a principal with no entry is denied everything; entries of other tenants or objects do not apply", async () => {
    const fx = await fixtureVault("ap-none");
    const p = await kit.newPrincipal("nobody");
    vaultOf("ap-none").accessPolicies.push({ tenantId: "00000000-0000-0000-0000-000000000009", objectId: p.objectId, permissions: { keys: ["all"] } });
    vaultOf("ap-none").accessPolicies.push({ tenantId: p.tenantId, objectId: "00000000-0000-0000-0000-00000000000a", permissions: { keys: ["all"] } });
    for (const op of Object.values(OPS)) assert.equal((await run(fx, op, p)).status, 403, op.path);
  });

  it("a compound-identity entry (applicationId) applies only through that application", async () => {
    const fx = await fixtureVault("ap-compound");
    const p = await kit.newPrincipal("compound");
    vaultOf("ap-compound").accessPolicies.push(policy(p, ["get"], { applicationId: "11111111-2222-3333-4444-555555555555" }));
    assert.equal((await run(fx, OPS.get!, p)).status, 403);
    vaultOf("ap-compound").accessPolicies.push(policy(p, ["get"], { applicationId: p.appId }));
    assert.equal((await run(fx, OPS.get!, p)).status, 200);
  });

  it("permissions from several entries add up, and revoking takes effect on the next request", async () => {
    const fx = await fixtureVault("ap-sum");
    const p = await kit.newPrincipal("sum");
    vaultOf("ap-sum").accessPolicies.push(policy(p, ["get"]), policy(p, ["unwrapKey"]));
    assert.equal((await run(fx, OPS.get!, p)).status, 200);
    assert.equal((await run(fx, OPS.unwrapKey!, p)).status, 200);
    vaultOf("ap-sum").accessPolicies = vaultOf("ap-sum").accessPolicies.filter((e) => e.objectId !== p.objectId);
    assert.equal((await run(fx, OPS.unwrapKey!, p)).status, 403);
  });
});

describe("RBAC vaults", () => {
  const ENCRYPTION_USER = [`${KV}/keys/read`, `${KV}/keys/wrap/action`, `${KV}/keys/unwrap/action`];

  it("Key Vault Crypto Service Encryption User: get, wrapKey, unwrapKey only; the rest ForbiddenByRbac", async () => {
    kit.registry.roles.set(kit.admin.objectId, [`${KV}/*`]);
    const fx = await fixtureVault("rbac-user", { enableRbacAuthorization: true });
    const p = await kit.newPrincipal("rbac-user");
    // Access policies are ignored on an RBAC vault (keyvault.md §2.5): "all" here grants nothing.
    vaultOf("rbac-user").accessPolicies.push(policy(p, ["all"]));
    kit.registry.roles.set(p.objectId, ENCRYPTION_USER);
    const allowed = new Set(["get", "list", "listVersions", "getDeleted", "listDeleted", "wrapKey", "unwrapKey"]);
    for (const [name, op] of Object.entries(OPS)) {
      const res = await run(fx, op, p);
      if (allowed.has(name)) {
        assert.equal(res.status, op.ok, `${name}: ${JSON.stringify(res.json)}`);
        continue;
      }
      assert.equal(res.status, 403, name);
      assert.equal(res.json.error.innererror.code, "ForbiddenByRbac", name);
      const vault = vaultOf("rbac-user");
      const key = op.path.split("/")[2];
      const resource = (["list", "listDeleted", "restore"].includes(name) || op.path === "/keys" ? vault.id : `${vault.id}/keys/${key}`).toLowerCase();
      assert.equal(
        res.json.error.message,
        `Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\nCaller: appid=${p.appId};oid=${p.objectId};iss=https://sts.windows.net/${p.tenantId}/\r\nAction: '${op.action}'\r\nResource: '${resource}'\r\nAssignment: (not found)\r\nDenyAssignmentId: null\r\nDecisionReason: null \r\nVault: rbac-user;location=westeurope\r\n`,
        name,
      );
    }
  });

  it("wildcards: keys/* grants every key operation but not rotation policies; vaults/* grants all", async () => {
    kit.registry.roles.set(kit.admin.objectId, [`${KV}/*`]);
    const fx = await fixtureVault("rbac-wild", { enableRbacAuthorization: true });
    const officer = await kit.newPrincipal("officer-ish");
    kit.registry.roles.set(officer.objectId, ["microsoft.keyvault/VAULTS/keys/*"]);
    for (const [name, op] of Object.entries(OPS)) {
      const res = await run(fx, op, officer);
      if (name.endsWith("rotationpolicy")) assert.equal(res.status, 403, name);
      else assert.equal(res.status, op.ok, `${name}: ${JSON.stringify(res.json)}`);
    }
    kit.registry.roles.set(officer.objectId, ["Microsoft.KeyVault/vaults/keys/*", "Microsoft.KeyVault/vaults/keyrotationpolicies/*"]);
    assert.equal((await run(fx, OPS.getrotationpolicy!, officer)).status, 200);
    assert.equal((await run(fx, OPS.setrotationpolicy!, officer)).status, 200);
    kit.registry.roles.set(officer.objectId, []);
    assert.equal((await run(fx, OPS.get!, officer)).status, 403, "removing the assignment revokes at once");
  });
});

describe("network rules", () => {
  it("Deny with ipRules: listed addresses and CIDR blocks pass, others get ForbiddenByFirewall", async () => {
    const host = "fw.vault.azure.net";
    kit.addVault("fw", { networkAcls: { defaultAction: "Deny", bypass: "None", ipRules: [{ value: "198.51.100.7" }, { value: "203.0.113.0/28" }], virtualNetworkRules: [] } });
    const token = await kit.token(kit.admin);
    for (const addr of ["198.51.100.7", "203.0.113.14", "::ffff:203.0.113.1"]) {
      assert.equal((await kit.call("GET", `/keys${V}`, { host, token, remoteAddress: addr })).status, 200, addr);
    }
    for (const addr of ["127.0.0.1", "203.0.113.16", "198.51.100.8"]) {
      const res = await kit.call("GET", `/keys${V}`, { host, token, remoteAddress: addr });
      assert.equal(res.status, 403, addr);
      assert.deepEqual(res.json.error, {
        code: "Forbidden",
        message: `Client address is not authorized and caller is not a trusted service.\r\nClient address: ${addr}\r\nCaller: appid=${kit.admin.appId};oid=${kit.admin.objectId};iss=https://sts.windows.net/${kit.tenantId}/\r\nVault: fw;location=westeurope`,
        innererror: { code: "ForbiddenByFirewall" },
      });
    }
    // Authentication comes first: no token still gets the challenge.
    assert.equal((await kit.call("GET", `/keys${V}`, { host, remoteAddress: "127.0.0.1" })).status, 401);
  });

  it("trusted services pass only with bypass AzureServices (in-process API)", async () => {
    const server = await kit.newPrincipal("sql-mi");
    const claims = await kit.identity.tokens.verify(await kit.token(server), ["https://vault.azure.net"]);
    for (const bypass of ["AzureServices", "None"] as const) {
      const name = `fw-${bypass.toLowerCase()}`;
      kit.addVault(name, {
        accessPolicies: [policy(kit.admin, ["all"]), policy(server, ["get", "wrapKey", "unwrapKey"])],
        networkAcls: { defaultAction: "Deny", bypass, ipRules: [{ value: "192.0.2.1" }], virtualNetworkRules: [] },
      });
      await kit.call("POST", `/keys/tde/create${V}`, { host: `${name}.vault.azure.net`, token: await kit.token(kit.admin), body: { kty: "RSA" }, remoteAddress: "192.0.2.1" });
      const call = kit.dp.invoke({ vaultName: name, keyName: "tde", operation: "get", caller: claims, trustedService: true });
      if (bypass === "AzureServices") assert.ok((await call).kid);
      else await assert.rejects(call, (err: any) => err.reason === "firewall" && err.innerCode === "ForbiddenByFirewall");
      // HTTP callers are never trusted services.
      const http = await kit.call("GET", `/keys/tde${V}`, { host: `${name}.vault.azure.net`, token: await kit.token(server), remoteAddress: "127.0.0.1" });
      assert.equal(http.json.error.innererror.code, "ForbiddenByFirewall");
    }
  });

  it("publicNetworkAccess Disabled refuses public callers (ForbiddenByConnection) but not trusted services with bypass", async () => {
    kit.addVault("private", { publicNetworkAccess: "Disabled", networkAcls: { defaultAction: "Allow", bypass: "AzureServices", ipRules: [], virtualNetworkRules: [] } });
    const res = await kit.call("GET", `/keys${V}`, { host: "private.vault.azure.net", token: await kit.token(kit.admin) });
    assert.equal(res.status, 403);
    assert.equal(res.json.error.innererror.code, "ForbiddenByConnection");
    const claims = await kit.identity.tokens.verify(await kit.token(kit.admin), ["https://vault.azure.net"]);
    await assert.rejects(kit.dp.invoke({ vaultName: "private", keyName: "none", operation: "get", caller: claims, trustedService: true }), (err: any) => err.reason === "key-not-found");
  });
});

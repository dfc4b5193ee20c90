import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { startKit, policy, type Kit } from "./vault-keys-kit.js";
import { KeyVaultError } from "../src/vault/data-plane/index.js";

/**
 * The keys data plane in-process: wire shapes, lifecycle, crypto checked against Node's own crypto, path
 * normalisation, bad input and key state. One kit (store, token service, data plane) for the whole file.
 */
const V = "?api-version=7.5";
let kit: Kit;
const tok = () => kit.token(kit.admin);

before(async () => {
  kit = await startKit();
  kit.addVault("kv1");
});
after(() => kit.close());

const create = async (name: string, body: unknown = { kty: "RSA", key_size: 2048 }) => kit.call("POST", `/keys/${name}/create${V}`, { token: await tok(), body });
const b64 = (b: Buffer) => b.toString("base64url");
const pubKey = (jwk: any) => crypto.createPublicKey({ key: { kty: "RSA", n: jwk.n, e: jwk.e }, format: "jwk" });

describe("challenge and tokens", () => {
  it("answers a request without token with the 401 challenge, before looking at the body", async () => {
    const res = await kit.call("POST", `/keys/k/create${V}`, { rawBody: "" });
    assert.equal(res.status, 401);
    assert.equal(res.headers!["www-authenticate"], `Bearer authorization="https://login.microsoftonline.com/${kit.tenantId}", resource="https://vault.azure.net"`);
    assert.deepEqual(res.json, { error: { code: "Unauthorized", message: "AKV10000: Request is missing a Bearer or PoP token." } });
  });

  it("advertises resource https://vault.localhost for *.vault.localhost hosts", async () => {
    const res = await kit.call("GET", `/keys${V}`, { host: "kv1.vault.localhost:8443" });
    assert.equal(res.status, 401);
    assert.match(res.headers!["www-authenticate"]!, /resource="https:\/\/vault\.localhost"$/);
  });

  it("refuses a token for another audience with AKV10022", async () => {
    const arm = await kit.token(kit.admin, "https://management.azure.com/");
    const res = await kit.call("GET", `/keys${V}`, { token: arm });
    assert.equal(res.status, 401);
    assert.match(res.json.error.message, /^AKV10022: Invalid audience\. Expected https:\/\/vault\.azure\.net, found: https:\/\/management\.azure\.com\/\.$/);
    assert.ok(res.headers!["www-authenticate"]);
  });

  it("refuses a token from another tenant with AKV10032", async () => {
    const other = await kit.identity.directory.createTenant("other");
    const p = (await kit.identity.directory.findPrincipal({ objectId: other.credentials.objectId }))!;
    const res = await kit.call("GET", `/keys${V}`, { token: await kit.token(p) });
    assert.equal(res.status, 401);
    assert.equal(res.json.error.message, `AKV10032: Invalid issuer. Expected one of https://sts.windows.net/${kit.tenantId}/, found https://sts.windows.net/${other.tenant.id}/.`);
  });

  it("refuses an expired token with 401", async () => {
    const old = await kit.token(kit.admin);
    kit.clock.advance(2 * 3600_000);
    try {
      const res = await kit.call("GET", `/keys${V}`, { token: old });
      assert.equal(res.status, 401);
      assert.equal(res.json.error.code, "Unauthorized");
    } finally {
      kit.clock.advance(-2 * 3600_000);
    }
  });

  it("requires api-version (after authentication), and accepts any version string", async () => {
    const missing = await kit.call("GET", "/keys", { token: await tok() });
    assert.equal(missing.status, 400);
    assert.equal(missing.json.error.code, "BadParameter");
    for (const v of ["7.0", "7.6", "2025-07-01", "2099-01-01-preview"]) {
      assert.equal((await kit.call("GET", `/keys?api-version=${v}`, { token: await tok() })).status, 200, v);
    }
    // Key Vault's SDK percent-encodes the parameter name (sdk-compat.md §0.6).
    assert.equal((await kit.call("GET", "/keys?api%2Dversion=7.5", { token: await tok() })).status, 200);
  });

  it("answers unknown vaults with 404 VaultNotFound and says when the vault is soft-deleted", async () => {
    const res = await kit.call("GET", `/keys${V}`, { host: "nosuch.vault.azure.net", token: await tok() });
    assert.equal(res.status, 404);
    assert.equal(res.json.error.code, "VaultNotFound");
    kit.registry.softDelete("gone");
    const del = await kit.call("GET", `/keys${V}`, { host: "gone.vault.azure.net" });
    assert.equal(del.status, 404);
    assert.match(del.json.error.message, /deleted/);
  });
});

describe("keys", () => {
  it("creates an RSA key: KeyBundle with kid on the called host, public members only, unix seconds", async () => {
    const res = await create("wire-1", { kty: "RSA", key_size: 2048, tags: { purpose: "unit test" } });
    assert.equal(res.status, 200);
    const { key, attributes, tags } = res.json;
    assert.match(key.kid, /^https:\/\/kv1\.vault\.azure\.net\/keys\/wire-1\/[0-9a-f]{32}$/);
    assert.equal(key.kty, "RSA");
    assert.deepEqual(key.key_ops, ["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"]);
    assert.equal(key.e, "AQAB");
    assert.equal(Buffer.from(key.n, "base64url").length, 256);
    for (const secret of ["d", "p", "q", "dp", "dq", "qi", "k"]) assert.equal(key[secret], undefined, secret);
    assert.equal(attributes.enabled, true);
    assert.equal(attributes.created, Math.floor(kit.clock.now() / 1000));
    assert.equal(attributes.recoveryLevel, "Recoverable+Purgeable");
    assert.equal(attributes.recoverableDays, 90);
    assert.deepEqual(tags, { purpose: "unit test" });
    assert.ok(!JSON.stringify(res.json).includes("="), "base64url without padding");
  });

  it("keeps the port of a direct-mode host in the kid", async () => {
    const res = await kit.call("POST", `/keys/wire-2/create${V}`, { token: await tok(), body: { kty: "RSA" }, host: "kv1.vault.localhost:8443" });
    assert.match(res.json.key.kid, /^https:\/\/kv1\.vault\.localhost:8443\/keys\/wire-2\//);
  });

  it("creates RSA-HSM 3072/4096 and EC keys on every curve", async () => {
    assert.equal(Buffer.from((await create("hsm-3072", { kty: "RSA-HSM", key_size: 3072 })).json.key.n, "base64url").length, 384);
    assert.equal(Buffer.from((await create("rsa-4096", { kty: "RSA", key_size: 4096 })).json.key.n, "base64url").length, 512);
    for (const crv of ["P-256", "P-384", "P-521", "P-256K"]) {
      const res = await create(`ec-${crv.toLowerCase()}`, { kty: "EC-HSM", crv });
      assert.equal(res.status, 200, crv);
      assert.equal(res.json.key.crv, crv);
      assert.equal(res.json.key.d, undefined);
      assert.deepEqual(res.json.key.key_ops, ["sign", "verify"]);
    }
  });

  it("gets latest and given versions, with trailing slash and empty version meaning latest", async () => {
    const v1 = (await create("ver")).json.key.kid as string;
    const v2 = (await create("ver")).json.key.kid as string;
    assert.notEqual(v1, v2);
    for (const p of ["/keys/ver", "/keys/ver/", "/keys/VER/", "//keys/ver"]) {
      const res = await kit.call("GET", `${p}${V}`, { token: await tok() });
      assert.equal(res.status, 200, p);
      assert.equal(res.json.key.kid, v2, p);
    }
    const ver1 = v1.split("/").pop()!;
    assert.equal((await kit.call("GET", `/keys/ver/${ver1}${V}`, { token: await tok() })).json.key.kid, v1);
    assert.equal((await kit.call("GET", `/keys/ver/${ver1.toUpperCase()}${V}`, { token: await tok() })).json.key.kid, v1);
    const list = await kit.call("GET", `/keys/ver/versions${V}`, { token: await tok() });
    assert.deepEqual(list.json.value.map((i: any) => i.kid), [v1, v2]);
    assert.equal(list.json.nextLink, null);
  });

  it("404s a missing key or version with Key Vault's KeyNotFound message", async () => {
    const res = await kit.call("GET", `/keys/nope/${V}`, { token: await tok() });
    assert.equal(res.status, 404);
    assert.equal(res.json.error.code, "KeyNotFound");
    assert.match(res.json.error.message, /^A key with \(name\/id\) nope was not found in this key vault\./);
    const ver = await kit.call("GET", `/keys/ver/0123456789abcdef0123456789abcdef${V}`, { token: await tok() });
    assert.equal(ver.status, 404);
  });

  it("lists keys with version-less kids and absolute nextLink paging, maxresults ≤ 25", async () => {
    const vault = kit.addVault("paging");
    const host = "paging.vault.azure.net";
    for (let i = 0; i < 30; i++) {
      await kit.call("POST", `/keys/p-${String(i).padStart(2, "0")}/create${V}`, { token: await tok(), body: { kty: "EC" }, host });
    }
    let url: string | null = `https://${host}/keys${V}&maxresults=7`;
    const names: string[] = [];
    let pages = 0;
    while (url) {
      const res = await kit.call("GET", url, { token: await tok(), host });
      assert.equal(res.status, 200);
      for (const item of res.json.value) {
        assert.match(item.kid, /^https:\/\/paging\.vault\.azure\.net\/keys\/p-\d\d$/);
        names.push(item.kid.split("/").pop());
      }
      url = res.json.nextLink;
      if (url) assert.match(url, /^https:\/\/paging\.vault\.azure\.net\/keys\?api-version=7\.5&\$skiptoken=[A-Za-z0-9_-]+&maxresults=7$/);
      pages++;
    }
    assert.equal(pages, 5);
    assert.equal(names.length, 30);
    assert.equal(new Set(names).size, 30);
    const def = await kit.call("GET", `/keys${V}`, { token: await tok(), host });
    assert.equal(def.json.value.length, 25);
    assert.ok(def.json.nextLink);
    assert.equal((await kit.call("GET", `/keys${V}&maxresults=26`, { token: await tok(), host })).status, 400);
    assert.equal((await kit.call("GET", `/keys${V}&$skiptoken=%%%`, { token: await tok(), host })).status, 400);
    assert.equal(vault.name, "paging");
  });

  it("updates attributes, key_ops and tags of the latest or a given version", async () => {
    const kid = (await create("upd")).json.key.kid as string;
    kit.clock.advance(5000);
    const res = await kit.call("PATCH", `/keys/upd/${V}`, { token: await tok(), body: { attributes: { enabled: false, exp: 2000000000, nbf: 1700000000 }, key_ops: ["wrapkey", "unwrapKey"], tags: { a: "b" } } });
    assert.equal(res.status, 200);
    assert.equal(res.json.key.kid, kid);
    assert.equal(res.json.attributes.enabled, false);
    assert.equal(res.json.attributes.exp, 2000000000);
    assert.equal(res.json.attributes.nbf, 1700000000);
    assert.equal(res.json.attributes.updated, res.json.attributes.created + 5);
    assert.deepEqual(res.json.key.key_ops, ["wrapKey", "unwrapKey"]);
    assert.deepEqual(res.json.tags, { a: "b" });
    const back = await kit.call("PATCH", `/keys/upd/${kid.split("/").pop()}${V}`, { token: await tok(), body: { attributes: { enabled: true, exp: null } } });
    assert.equal(back.json.attributes.enabled, true);
    assert.equal(back.json.attributes.exp, undefined);
    assert.equal((await kit.call("PATCH", `/keys/upd${V}`, { token: await tok(), body: { attributes: { nbf: 10, exp: 5 } } })).status, 400);
  });

  it("imports a JWK (with private part) and never returns the private members", async () => {
    const { privateKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
    const jwk = privateKey.export({ format: "jwk" });
    const res = await kit.call("PUT", `/keys/imported${V}`, { token: await tok(), body: { key: { ...jwk, kty: "RSA", key_ops: ["wrapKey", "unwrapKey"] }, Hsm: true } });
    assert.equal(res.status, 200);
    assert.equal(res.json.key.kty, "RSA-HSM");
    assert.equal(res.json.key.n, jwk.n);
    assert.deepEqual(res.json.key.key_ops, ["wrapKey", "unwrapKey"]);
    assert.equal(res.json.key.d, undefined);
    // Unwrap proves the imported private key is the one in use.
    const cek = crypto.randomBytes(32);
    const wrapped = crypto.publicEncrypt({ key: privateKey, oaepHash: "sha256" }, cek);
    const un = await kit.call("POST", `/keys/imported//unwrapkey${V}`, { token: await tok(), body: { alg: "RSA-OAEP-256", value: b64(wrapped) } });
    assert.equal(un.json.value, b64(cek));
    const ec = crypto.generateKeyPairSync("ec", { namedCurve: "P-384" }).privateKey.export({ format: "jwk" });
    const ecRes = await kit.call("PUT", `/keys/imported-ec${V}`, { token: await tok(), body: { key: ec } });
    assert.equal(ecRes.json.key.crv, "P-384");
    assert.equal(ecRes.json.key.x, ec.x);
  });

  it("refuses inconsistent or incomplete imports with 400", async () => {
    const a = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" });
    const b = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" });
    const cases: unknown[] = [
      { key: { ...a, n: b.n } },
      { key: { kty: "RSA", n: a.n, e: a.e } },
      { key: { kty: "oct", k: "AAAA" } },
      { key: { ...a, d: "not base64!" } },
      {},
    ];
    for (const body of cases) {
      const res = await kit.call("PUT", `/keys/bad-import${V}`, { token: await tok(), body });
      assert.equal(res.status, 400, JSON.stringify(body).slice(0, 60));
      assert.equal(res.json.error.code, "BadParameter");
    }
  });

  it("soft-deletes, lists, gets, recovers and purges deleted keys", async () => {
    const kid = (await create("sd")).json.key.kid as string;
    const del = await kit.call("DELETE", `/keys/sd${V}`, { token: await tok() });
    assert.equal(del.status, 200);
    assert.equal(del.json.recoveryId, "https://kv1.vault.azure.net/deletedkeys/sd");
    assert.equal(del.json.deletedDate, Math.floor(kit.clock.now() / 1000));
    assert.equal(del.json.scheduledPurgeDate, del.json.deletedDate + 90 * 86400);
    assert.equal(del.json.key.kid, kid);
    assert.equal((await kit.call("GET", `/keys/sd${V}`, { token: await tok() })).status, 404);
    const again = await create("sd");
    assert.equal(again.status, 409);
    assert.equal(again.json.error.innererror.code, "ObjectIsDeletedButRecoverable");
    assert.equal((await kit.call("GET", `/deletedkeys/sd${V}`, { token: await tok() })).json.recoveryId, del.json.recoveryId);
    const listed = await kit.call("GET", `/deletedkeys${V}`, { token: await tok() });
    assert.ok(listed.json.value.some((i: any) => i.recoveryId === del.json.recoveryId && i.kid === "https://kv1.vault.azure.net/keys/sd"));
    const rec = await kit.call("POST", `/deletedkeys/sd/recover${V}`, { token: await tok() });
    assert.equal(rec.status, 200);
    assert.equal(rec.json.key.kid, kid);
    assert.equal((await kit.call("GET", `/keys/sd/${V}`, { token: await tok() })).status, 200);
    assert.equal((await kit.call("GET", `/deletedkeys/sd${V}`, { token: await tok() })).json.error.message, "Deleted Key not found: sd");
    await kit.call("DELETE", `/keys/sd${V}`, { token: await tok() });
    const purge = await kit.call("DELETE", `/deletedkeys/sd${V}`, { token: await tok() });
    assert.equal(purge.status, 204);
    assert.equal((await kit.call("GET", `/deletedkeys/sd${V}`, { token: await tok() })).status, 404);
    assert.equal((await create("sd")).status, 200, "the name is free after purge");
  });

  it("honours purge protection, custom retention and the scheduled purge date", async () => {
    kit.addVault("kvpp", { enablePurgeProtection: true, softDeleteRetentionInDays: 7 });
    const host = "kvpp.vault.azure.net";
    const c = await kit.call("POST", `/keys/k/create${V}`, { token: await tok(), host, body: { kty: "RSA" } });
    assert.equal(c.json.attributes.recoveryLevel, "CustomizedRecoverable");
    assert.equal(c.json.attributes.recoverableDays, 7);
    const del = await kit.call("DELETE", `/keys/k${V}`, { token: await tok(), host });
    assert.equal(del.json.scheduledPurgeDate - del.json.deletedDate, 7 * 86400);
    const purge = await kit.call("DELETE", `/deletedkeys/k${V}`, { token: await tok(), host });
    assert.equal(purge.status, 403);
    assert.equal(purge.json.error.code, "Forbidden");
    assert.match(purge.json.error.message, /^Operation "purge" is not allowed because purge protection is enabled for this vault\./);
    kit.clock.advance(7 * 86400_000);
    assert.equal((await kit.call("GET", `/deletedkeys/k${V}`, { token: await tok(), host })).status, 404, "purged by the service on schedule");
    assert.equal((await kit.call("POST", `/keys/k/create${V}`, { token: await tok(), host, body: { kty: "RSA" } })).status, 200);
  });

  it("deletes at once in a vault without soft delete (no recoveryId)", async () => {
    kit.addVault("kvnosd", { enableSoftDelete: false });
    const host = "kvnosd.vault.azure.net";
    await kit.call("POST", `/keys/k/create${V}`, { token: await tok(), host, body: { kty: "EC" } });
    const del = await kit.call("DELETE", `/keys/k${V}`, { token: await tok(), host });
    assert.equal(del.status, 200);
    assert.equal(del.json.recoveryId, undefined);
    assert.equal(del.json.attributes.recoveryLevel, "Purgeable");
    assert.equal((await kit.call("GET", `/deletedkeys/k${V}`, { token: await tok(), host })).status, 404);
  });

  it("backs up and restores every version into a free name", async () => {
    const v1 = (await create("bk")).json.key;
    const v2 = (await create("bk", { kty: "RSA", key_size: 3072 })).json.key;
    await kit.call("PUT", `/keys/bk/rotationpolicy${V}`, { token: await tok(), body: { lifetimeActions: [{ trigger: { timeAfterCreate: "P90D" }, action: { type: "Rotate" } }], attributes: { expiryTime: "P1Y" } } });
    const backup = await kit.call("POST", `/keys/bk/backup${V}`, { token: await tok() });
    assert.match(backup.json.value, /^[A-Za-z0-9_-]+$/);
    assert.ok(!Buffer.from(backup.json.value, "base64url").toString("latin1").includes(v1.n.slice(0, 40)), "blob is opaque");
    assert.equal((await kit.call("POST", `/keys/restore${V}`, { token: await tok(), body: { value: backup.json.value } })).status, 409, "name in use");
    await kit.call("DELETE", `/keys/bk${V}`, { token: await tok() });
    assert.equal((await kit.call("POST", `/keys/restore${V}`, { token: await tok(), body: { value: backup.json.value } })).json.error.innererror.code, "ObjectIsDeletedButRecoverable");
    await kit.call("DELETE", `/deletedkeys/bk${V}`, { token: await tok() });
    const restored = await kit.call("POST", `/keys/restore${V}`, { token: await tok(), body: { value: backup.json.value } });
    assert.equal(restored.status, 200);
    assert.equal(restored.json.key.kid, v2.kid);
    const versions = await kit.call("GET", `/keys/bk/versions${V}`, { token: await tok() });
    assert.deepEqual(versions.json.value.map((i: any) => i.kid), [v1.kid, v2.kid]);
    const policyBack = await kit.call("GET", `/keys/bk/rotationpolicy${V}`, { token: await tok() });
    assert.equal(policyBack.json.attributes.expiryTime, "P1Y");
    const cek = crypto.randomBytes(32);
    const w = crypto.publicEncrypt({ key: pubKey(v1), oaepHash: "sha1" }, cek);
    assert.equal((await kit.call("POST", `${new URL(v1.kid).pathname}/unwrapkey${V}`, { token: await tok(), body: { alg: "RSA-OAEP", value: b64(w) } })).json.value, b64(cek));
    for (const bad of ["AAAA", b64(Buffer.from("tdekv-key-backup-1.v1.garbage")), "+/"]) {
      assert.equal((await kit.call("POST", `/keys/restore${V}`, { token: await tok(), body: { value: bad } })).status, 400, bad);
    }
  });

  it("rotates (new version like the latest, exp from the policy) and gets/sets rotation policies", async () => {
    const first = (await create("rot", { kty: "RSA", key_size: 3072, key_ops: ["wrapKey", "unwrapKey"] })).json;
    const def = await kit.call("GET", `/keys/rot/rotationpolicy${V}`, { token: await tok() });
    assert.deepEqual(def.json, { id: "https://kv1.vault.azure.net/keys/rot/rotationpolicy", lifetimeActions: [{ trigger: { timeBeforeExpiry: "P30D" }, action: { type: "Notify" } }], attributes: {} });
    const set = await kit.call("PUT", `/keys/rot/rotationpolicy${V}`, { token: await tok(), body: { lifetimeActions: [{ trigger: { timeAfterCreate: "P90D" }, action: { type: "rotate" } }, { trigger: { timeBeforeExpiry: "P30D" }, action: { type: "Notify" } }], attributes: { expiryTime: "P2Y" } } });
    assert.equal(set.status, 200);
    assert.equal(set.json.lifetimeActions[0].action.type, "Rotate");
    assert.equal(set.json.attributes.expiryTime, "P2Y");
    assert.equal(set.json.attributes.created, Math.floor(kit.clock.now() / 1000));
    const rotated = await kit.call("POST", `/keys/rot/rotate${V}`, { token: await tok() });
    assert.equal(rotated.status, 200);
    assert.notEqual(rotated.json.key.kid, first.key.kid);
    assert.equal(Buffer.from(rotated.json.key.n, "base64url").length, 384);
    assert.deepEqual(rotated.json.key.key_ops, ["wrapKey", "unwrapKey"]);
    assert.equal(rotated.json.attributes.exp, Math.floor(kit.clock.now() / 1000) + 730 * 86400);
    for (const bad of [{ attributes: { expiryTime: "P7D" } }, { lifetimeActions: [{ trigger: { timeAfterCreate: "90 days" }, action: { type: "Rotate" } }] }, { lifetimeActions: [{ trigger: {}, action: { type: "Rotate" } }] }, { lifetimeActions: [{ trigger: { timeAfterCreate: "P1D" }, action: { type: "Explode" } }] }]) {
      assert.equal((await kit.call("PUT", `/keys/rot/rotationpolicy${V}`, { token: await tok(), body: bad })).status, 400, JSON.stringify(bad));
    }
    assert.equal((await kit.call("POST", `/keys/nokey/rotate${V}`, { token: await tok() })).status, 404);
  });
});

describe("crypto", () => {
  let rsa: any;
  let kidPath: string;
  before(async () => {
    rsa = (await create("crypto")).json.key;
    kidPath = new URL(rsa.kid).pathname;
  });

  for (const [alg, hash] of [["RSA-OAEP", "sha1"], ["RSA-OAEP-256", "sha256"]] as const) {
    it(`unwraps what Node wrapped and wraps what Node unwraps (${alg})`, async () => {
      const cek = crypto.randomBytes(32);
      const wrapped = crypto.publicEncrypt({ key: pubKey(rsa), oaepHash: hash }, cek);
      for (const path of [`${kidPath}/unwrapkey`, "/keys/crypto/unwrapKey", "/keys/crypto//UNWRAPKEY"]) {
        const res = await kit.call("POST", `${path}${V}`, { token: await tok(), body: { alg, value: b64(wrapped) } });
        assert.equal(res.status, 200, path);
        assert.equal(res.json.kid, rsa.kid);
        assert.equal(res.json.value, b64(cek));
      }
      const w = await kit.call("POST", `${kidPath}/wrapkey${V}`, { token: await tok(), body: { alg, value: b64(cek) } });
      assert.equal(w.status, 200);
      const back = await kit.call("POST", `${kidPath}/decrypt${V}`, { token: await tok(), body: { alg, value: w.json.value } });
      assert.equal(back.json.value, b64(cek));
    });
  }

  it("decrypts RSA1_5 (padding stripped here: Node 20 refuses PKCS#1 v1.5 decryption)", async () => {
    const msg = crypto.randomBytes(48);
    const ct = crypto.publicEncrypt({ key: pubKey(rsa), padding: crypto.constants.RSA_PKCS1_PADDING }, msg);
    const res = await kit.call("POST", `${kidPath}/decrypt${V}`, { token: await tok(), body: { alg: "RSA1_5", value: b64(ct) } });
    assert.equal(res.json.value, b64(msg));
    const enc = await kit.call("POST", `${kidPath}/encrypt${V}`, { token: await tok(), body: { alg: "RSA1_5", value: b64(msg) } });
    const dec = await kit.call("POST", `${kidPath}/decrypt${V}`, { token: await tok(), body: { alg: "RSA1_5", value: enc.json.value } });
    assert.equal(dec.json.value, b64(msg));
  });

  it("signs digests that Node verifies, and verifies Node's signatures (RS*, PS*)", async () => {
    const data = Buffer.from("tdekv");
    for (const [alg, hash, pss] of [["RS256", "sha256", false], ["RS384", "sha384", false], ["RS512", "sha512", false], ["PS256", "sha256", true], ["PS384", "sha384", true], ["PS512", "sha512", true]] as const) {
      const digest = crypto.createHash(hash).update(data).digest();
      const sig = await kit.call("POST", `${kidPath}/sign${V}`, { token: await tok(), body: { alg, value: b64(digest) } });
      assert.equal(sig.status, 200, alg);
      const padding = pss ? crypto.constants.RSA_PKCS1_PSS_PADDING : crypto.constants.RSA_PKCS1_PADDING;
      assert.ok(crypto.verify(hash, data, { key: pubKey(rsa), padding }, Buffer.from(sig.json.value, "base64url")), `node verifies ${alg}`);
      const ver = await kit.call("POST", `${kidPath}/verify${V}`, { token: await tok(), body: { alg, digest: b64(digest), value: sig.json.value } });
      assert.deepEqual(ver.json, { value: true }, alg);
      const wrong = await kit.call("POST", `${kidPath}/verify${V}`, { token: await tok(), body: { alg, digest: b64(crypto.createHash(hash).update("other").digest()), value: sig.json.value } });
      assert.deepEqual(wrong.json, { value: false }, alg);
    }
  });

  it("signs and verifies ES256/384/512/256K over digests", async () => {
    for (const [crv, alg, hash, node] of [["P-256", "ES256", "sha256", "prime256v1"], ["P-384", "ES384", "sha384", "secp384r1"], ["P-521", "ES512", "sha512", "secp521r1"], ["P-256K", "ES256K", "sha256", "secp256k1"]] as const) {
      const key = (await create(`sig-${alg.toLowerCase()}`, { kty: "EC", crv })).json.key;
      const pub = crypto.createPublicKey({ key: { kty: "EC", crv: crv === "P-256K" ? "secp256k1" : crv, x: key.x, y: key.y }, format: "jwk" });
      assert.equal(pub.asymmetricKeyDetails?.namedCurve, node);
      const data = Buffer.from("tdekv");
      const digest = crypto.createHash(hash).update(data).digest();
      const sig = await kit.call("POST", `${new URL(key.kid).pathname}/sign${V}`, { token: await tok(), body: { alg, value: b64(digest) } });
      assert.equal(sig.status, 200, alg);
      assert.ok(crypto.verify(hash, data, { key: pub, dsaEncoding: "ieee-p1363" }, Buffer.from(sig.json.value, "base64url")), alg);
      const nodeSig = crypto.sign(hash, data, { key: crypto.createPrivateKey({ key: crypto.generateKeyPairSync("ec", { namedCurve: node }).privateKey.export({ format: "jwk" }), format: "jwk" }), dsaEncoding: "ieee-p1363" });
      const foreign = await kit.call("POST", `${new URL(key.kid).pathname}/verify${V}`, { token: await tok(), body: { alg, digest: b64(digest), value: b64(nodeSig) } });
      assert.deepEqual(foreign.json, { value: false }, "a signature from another key does not verify");
      const own = await kit.call("POST", `${new URL(key.kid).pathname}/verify${V}`, { token: await tok(), body: { alg, digest: b64(digest), value: sig.json.value } });
      assert.deepEqual(own.json, { value: true });
    }
  });

  it("answers bad input with 400 BadParameter, never 500", async () => {
    const ec = (await create("ec-bad", { kty: "EC" })).json.key;
    const cases: [string, string, unknown][] = [
      ["POST", `${kidPath}/unwrapkey`, { alg: "RSA-OAEP", value: "abc+/" }],
      ["POST", `${kidPath}/unwrapkey`, { alg: "RSA-OAEP", value: "A" }],
      ["POST", `${kidPath}/unwrapkey`, { alg: "A256KW", value: "AAAA" }],
      ["POST", `${kidPath}/unwrapkey`, { value: "AAAA" }],
      ["POST", `${kidPath}/unwrapkey`, { alg: "RSA-OAEP", value: b64(crypto.randomBytes(256)) }],
      ["POST", `${kidPath}/unwrapkey`, { alg: "RSA-OAEP", value: b64(crypto.randomBytes(300)) }],
      ["POST", `${kidPath}/wrapkey`, { alg: "RSA-OAEP-256", value: b64(crypto.randomBytes(191)) }],
      ["POST", `${kidPath}/sign`, { alg: "RS256", value: b64(crypto.randomBytes(31)) }],
      ["POST", `${kidPath}/sign`, { alg: "ES256", value: b64(crypto.randomBytes(32)) }],
      ["POST", `${new URL(ec.kid).pathname}/sign`, { alg: "ES384", value: b64(crypto.randomBytes(48)) }],
      ["POST", "/keys/x/create", { kty: "RSA", key_size: 1024 }],
      ["POST", "/keys/x/create", { kty: "RSA", key_size: "2048" }],
      ["POST", "/keys/x/create", { kty: "oct", key_size: 256 }],
      ["POST", "/keys/x/create", { kty: "RSA-XYZ" }],
      ["POST", "/keys/x/create", { kty: "EC", crv: "P-192" }],
      ["POST", "/keys/x/create", { kty: "RSA", key_ops: ["fly"] }],
      ["POST", "/keys/x/create", { kty: "RSA", tags: Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`t${i}`, "v"])) }],
      ["POST", "/keys/x/create", { kty: "RSA", attributes: { exp: "tomorrow" } }],
      ["POST", "/keys/under_score/create", { kty: "RSA" }],
      ["POST", `/keys/${"a".repeat(128)}/create`, { kty: "RSA" }],
      ["POST", "/rng", { count: 129 }],
    ];
    for (const [method, path, body] of cases) {
      const res = await kit.call(method, `${path}${V}`, { token: await tok(), body });
      assert.equal(res.status, 400, `${path} ${JSON.stringify(body).slice(0, 80)} → ${res.status} ${JSON.stringify(res.json)}`);
      assert.equal(res.json.error.code, "BadParameter");
    }
    const notJson = await kit.call("POST", `/keys/x/create${V}`, { token: await tok(), rawBody: "{nope" });
    assert.equal(notJson.status, 400);
    assert.equal((await kit.call("POST", `/keys/${"a".repeat(127)}/create${V}`, { token: await tok(), body: { kty: "EC" } })).status, 200, "127 characters is allowed");
  });

  it("answers unknown paths and methods in Key Vault's envelope", async () => {
    assert.equal((await kit.call("GET", `/secrets/s${V}`, { token: await tok() })).status, 404);
    assert.equal((await kit.call("DELETE", `/keys${V}`, { token: await tok() })).status, 405);
    assert.equal((await kit.call("GET", `${kidPath}/wrapkey${V}`, { token: await tok() })).status, 405);
  });

  it("returns random bytes", async () => {
    const res = await kit.call("POST", `/rng${V}`, { token: await tok(), body: { count: 33 } });
    assert.equal(Buffer.from(res.json.value, "base64url").length, 33);
  });
});

describe("key state", () => {
  it("refuses get and every crypto operation on a disabled key with 403 KeyDisabled, but allows update and delete", async () => {
    const key = (await create("dis")).json.key;
    await kit.call("PATCH", `/keys/dis${V}`, { token: await tok(), body: { attributes: { enabled: false } } });
    const get = await kit.call("GET", `/keys/dis/${V}`, { token: await tok() });
    assert.equal(get.status, 403);
    assert.deepEqual(get.json, { error: { code: "Forbidden", message: "Operation get is not allowed on a disabled key.", innererror: { code: "KeyDisabled" } } });
    for (const op of ["wrapkey", "unwrapkey", "encrypt", "decrypt"]) {
      const res = await kit.call("POST", `/keys/dis//${op}${V}`, { token: await tok(), body: { alg: "RSA-OAEP", value: b64(crypto.publicEncrypt({ key: pubKey(key), oaepHash: "sha1" }, Buffer.alloc(16))) } });
      assert.equal(res.status, 403, op);
      assert.equal(res.json.error.innererror.code, "KeyDisabled");
    }
    const list = await kit.call("GET", `/keys/dis/versions${V}`, { token: await tok() });
    assert.equal(list.json.value[0].attributes.enabled, false, "listing still shows disabled keys");
    assert.equal((await kit.call("PATCH", `/keys/dis${V}`, { token: await tok(), body: { attributes: { enabled: true } } })).status, 200);
    assert.equal((await kit.call("GET", `/keys/dis${V}`, { token: await tok() })).status, 200);
  });

  it("refuses operations missing from key_ops with KeyOperationForbidden", async () => {
    await create("ops", { kty: "RSA", key_ops: ["wrapKey", "unwrapKey"] });
    const res = await kit.call("POST", `/keys/ops//decrypt${V}`, { token: await tok(), body: { alg: "RSA-OAEP", value: "AAAA" } });
    assert.equal(res.status, 403);
    assert.equal(res.json.error.message, "Operation decrypt is not permitted on this key.");
    assert.equal(res.json.error.innererror.code, "KeyOperationForbidden");
  });

  it("outside nbf/exp refuses wrapKey, encrypt and sign but still unwraps, decrypts and verifies", async () => {
    const now = Math.floor(kit.clock.now() / 1000);
    const key = (await create("window", { kty: "RSA", attributes: { nbf: now + 3600, exp: now + 7200 } })).json.key;
    const cek = crypto.randomBytes(32);
    const wrapped = b64(crypto.publicEncrypt({ key: pubKey(key), oaepHash: "sha1" }, cek));
    const digest = b64(crypto.createHash("sha256").update("x").digest());
    const early = await kit.call("POST", `/keys/window//wrapkey${V}`, { token: await tok(), body: { alg: "RSA-OAEP", value: b64(cek) } });
    assert.equal(early.status, 403);
    assert.equal(early.json.error.innererror.code, "KeyNotYetValid");
    assert.equal((await kit.call("POST", `/keys/window//unwrapkey${V}`, { token: await tok(), body: { alg: "RSA-OAEP", value: wrapped } })).json.value, b64(cek));
    kit.clock.advance(3600_000);
    assert.equal((await kit.call("POST", `/keys/window//wrapkey${V}`, { token: await kit.token(kit.admin), body: { alg: "RSA-OAEP", value: b64(cek) } })).status, 200, "inside the window");
    kit.clock.advance(3600_000);
    const fresh = await kit.token(kit.admin);
    for (const [op, body] of [["wrapkey", { alg: "RSA-OAEP", value: b64(cek) }], ["encrypt", { alg: "RSA-OAEP", value: b64(cek) }], ["sign", { alg: "RS256", value: digest }]] as const) {
      const res = await kit.call("POST", `/keys/window//${op}${V}`, { token: fresh, body });
      assert.equal(res.status, 403, op);
      assert.equal(res.json.error.innererror.code, "KeyExpired", op);
    }
    assert.equal((await kit.call("POST", `/keys/window//unwrapkey${V}`, { token: fresh, body: { alg: "RSA-OAEP", value: wrapped } })).json.value, b64(cek));
    assert.equal((await kit.call("POST", `/keys/window//verify${V}`, { token: fresh, body: { alg: "RS256", digest, value: b64(Buffer.alloc(256)) } })).json.value, false);
    assert.equal((await kit.call("GET", `/keys/window${V}`, { token: fresh })).status, 200, "get works outside the window");
  });
});

describe("safety", () => {
  it("stores private keys sealed: no PKCS#8 or JWK private member appears in the database", async () => {
    const { privateKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
    const jwk = privateKey.export({ format: "jwk" });
    await kit.call("PUT", `/keys/sealed${V}`, { token: await tok(), body: { key: jwk } });
    const rows = await (kit.store.db as any).selectFrom("vault_key_versions").selectAll().where("name_key", "=", "sealed").execute();
    assert.equal(rows.length, 1);
    const text = JSON.stringify(rows);
    const der = privateKey.export({ type: "pkcs8", format: "der" });
    for (const secret of [jwk.d!, jwk.p!, jwk.q!, der.toString("base64"), der.toString("base64url"), der.toString("hex")]) {
      assert.ok(!text.includes(secret.slice(0, 32)), "private material in clear");
    }
    assert.match(rows[0].private_sealed, /^v1\./);
  });
});

describe("in-process API", () => {
  let wrapped: Buffer;
  const cek = crypto.randomBytes(32);
  let serverIdentity: Awaited<ReturnType<Kit["newPrincipal"]>>;
  let claims: Awaited<ReturnType<Kit["identity"]["tokens"]["verify"]>>;

  before(async () => {
    serverIdentity = await kit.newPrincipal("sql-server-identity");
    kit.addVault("tde", {
      accessPolicies: [policy(kit.admin, ["all"]), policy(serverIdentity, ["get", "wrapKey", "unwrapKey"])],
      networkAcls: { defaultAction: "Deny", bypass: "AzureServices", ipRules: [{ value: "203.0.113.0/24" }], virtualNetworkRules: [] },
      enablePurgeProtection: true,
    });
    const res = await kit.call("POST", `/keys/protector/create${V}`, { token: await tok(), host: "tde.vault.azure.net", body: { kty: "RSA", key_size: 2048 }, remoteAddress: "203.0.113.7" });
    assert.equal(res.status, 200);
    claims = await kit.identity.tokens.verify(await kit.token(serverIdentity), ["https://vault.azure.net"]);
    wrapped = crypto.publicEncrypt({ key: pubKey(res.json.key), oaepHash: "sha256" }, cek);
  });

  const reasonOf = async (p: Promise<unknown>) => {
    try {
      await p;
      return "ok";
    } catch (err) {
      if (err instanceof KeyVaultError) return err.reason;
      throw err;
    }
  };

  it("gets, wraps and unwraps as a trusted service through the firewall (bypass AzureServices)", async () => {
    const got = await kit.dp.invoke({ vaultName: "tde", keyName: "protector", operation: "get", caller: claims, trustedService: true });
    assert.match(got.kid, /^https:\/\/tde\.vault\.azure\.net\/keys\/protector\/[0-9a-f]{32}$/);
    assert.equal(got.key.d, undefined);
    const un = await kit.dp.invoke({ keyId: got.kid, operation: "unwrapKey", alg: "RSA-OAEP-256", value: wrapped, caller: claims, trustedService: true });
    assert.deepEqual(un.value, cek);
    const w = await kit.dp.invoke({ keyId: got.kid, operation: "wrapKey", alg: "RSA-OAEP", value: cek, caller: { token: await kit.token(serverIdentity) }, trustedService: true });
    const back = await kit.dp.invoke({ keyId: got.kid, operation: "unwrapKey", alg: "RSA-OAEP", value: w.value!, caller: claims, trustedService: true });
    assert.deepEqual(back.value, cek);
  });

  it("distinguishes the seed's failure causes by reason", async () => {
    const base = { vaultName: "tde", keyName: "protector", operation: "get" as const, caller: claims, trustedService: true };
    assert.equal(await reasonOf(kit.dp.invoke({ ...base, trustedService: false })), "firewall");
    assert.equal(await reasonOf(kit.dp.invoke({ ...base, trustedService: false, remoteAddress: "203.0.113.200" })), "ok", "ipRules admit the address");
    assert.equal(await reasonOf(kit.dp.invoke({ ...base, vaultName: "missing-vault" })), "vault-not-found");
    assert.equal(await reasonOf(kit.dp.invoke({ ...base, keyName: "missing-key" })), "key-not-found");
    assert.equal(await reasonOf(kit.dp.invoke({ ...base, caller: undefined })), "unauthenticated");
    assert.equal(await reasonOf(kit.dp.invoke({ ...base, caller: { token: "garbage" } })), "token-rejected");
    assert.equal(await reasonOf(kit.dp.invoke({ ...base, caller: { ...claims, tid: "00000000-0000-0000-0000-000000000001" } })), "wrong-tenant");
    const stranger = await kit.newPrincipal("stranger");
    try {
      await kit.dp.invoke({ ...base, caller: { ...claims, oid: stranger.objectId, appid: stranger.appId } });
      assert.fail("expected a denial");
    } catch (err) {
      assert.ok(err instanceof KeyVaultError);
      assert.equal(err.reason, "permission-denied");
      assert.equal(err.detail.permission, "get");
      assert.equal(err.detail.model, "accessPolicy");
    }
    await kit.call("PATCH", `/keys/protector${V}`, { token: await tok(), host: "tde.vault.azure.net", remoteAddress: "203.0.113.7", body: { attributes: { enabled: false } } });
    assert.equal(await reasonOf(kit.dp.invoke(base)), "key-disabled");
    await kit.call("PATCH", `/keys/protector${V}`, { token: await tok(), host: "tde.vault.azure.net", remoteAddress: "203.0.113.7", body: { attributes: { enabled: true, exp: Math.floor(kit.clock.now() / 1000) - 1 } } });
    assert.equal(await reasonOf(kit.dp.invoke({ ...base, operation: "wrapKey", alg: "RSA-OAEP", value: cek })), "key-expired");
    assert.equal(await reasonOf(kit.dp.invoke({ ...base, operation: "unwrapKey", alg: "RSA-OAEP-256", value: wrapped })), "ok", "unwrap works after exp");
    await kit.call("PATCH", `/keys/protector${V}`, { token: await tok(), host: "tde.vault.azure.net", remoteAddress: "203.0.113.7", body: { attributes: { exp: null, nbf: Math.floor(kit.clock.now() / 1000) + 60 } } });
    assert.equal(await reasonOf(kit.dp.invoke({ ...base, operation: "wrapKey", alg: "RSA-OAEP", value: cek })), "key-not-yet-valid");
    await kit.call("PATCH", `/keys/protector${V}`, { token: await tok(), host: "tde.vault.azure.net", remoteAddress: "203.0.113.7", body: { attributes: { nbf: null } } });
    await kit.call("DELETE", `/keys/protector${V}`, { token: await tok(), host: "tde.vault.azure.net", remoteAddress: "203.0.113.7" });
    try {
      await kit.dp.invoke(base);
      assert.fail("expected key-not-found");
    } catch (err) {
      assert.ok(err instanceof KeyVaultError);
      assert.equal(err.reason, "key-not-found");
      assert.equal(err.detail.deleted, true);
    }
    await kit.call("POST", `/deletedkeys/protector/recover${V}`, { token: await tok(), host: "tde.vault.azure.net", remoteAddress: "203.0.113.7" });
    assert.equal(await reasonOf(kit.dp.invoke(base)), "ok");
    kit.registry.softDelete("tde");
    try {
      await kit.dp.invoke(base);
      assert.fail("expected vault-not-found");
    } catch (err) {
      assert.ok(err instanceof KeyVaultError);
      assert.equal(err.reason, "vault-not-found");
      assert.equal(err.detail.deleted, true);
    }
  });

  it("keys of a purged vault are deleted, and a re-created vault of that name does not see them", async () => {
    const v = kit.addVault("reborn");
    const host = "reborn.vault.azure.net";
    await kit.call("POST", `/keys/k/create${V}`, { token: await tok(), host, body: { kty: "EC" } });
    const rows = async () => (await (kit.store.db as any).selectFrom("vault_key_versions").select("version").where("vault", "=", v.uid).execute()).length;
    assert.equal(await rows(), 1);
    kit.addVault("reborn");
    assert.equal((await kit.call("GET", `/keys/k${V}`, { token: await tok(), host })).status, 404, "another incarnation");
    await kit.dp.forgetVault(v);
    assert.equal(await rows(), 0, "sealed material of the purged vault is gone from the store");
  });
});

import assert from "node:assert/strict";
import crypto from "node:crypto";
import { CryptographyClient, KeyClient, type CryptographyClientOptions } from "@azure/keyvault-keys";
import type { TokenCredential } from "@azure/identity";

/**
 * One run of the official @azure/keyvault-keys SDK (KeyClient, CryptographyClient) against a vault, used
 * unchanged in direct mode (test process) and in proxy mode (a child process with only environment
 * variables). It asserts as it goes and returns what the parent test checks again.
 */
export interface ScenarioResult {
  kid: string;
  versions: number;
  listed: number;
  pages: number;
  localWrapRemoteUnwrap: boolean;
  remoteOaep256: boolean;
  encryptDecrypt: boolean;
  signVerify: string[];
  rotatedKid: string;
  restoredKid: string;
  recoveredKid: string;
  purged: boolean;
  errors: Record<string, { statusCode?: number; code?: string }>;
}

const poll = { intervalInMs: 10 };

async function caught(p: Promise<unknown>): Promise<{ statusCode?: number; code?: string }> {
  try {
    await p;
  } catch (err) {
    const e = err as { statusCode?: number; code?: string };
    return { statusCode: e.statusCode, code: e.code };
  }
  throw new Error("expected the call to fail");
}

export async function runKeysScenario(vaultUrl: string, credential: TokenCredential, options: CryptographyClientOptions = {}): Promise<ScenarioResult> {
  const keys = new KeyClient(vaultUrl, credential, options);
  const cryptoFor = (id: string) => new CryptographyClient(id, credential, options);

  // create, get (latest and by version), versions, update
  const k1 = await keys.createRsaKey("e2e-rsa", { keySize: 2048, tags: { purpose: "e2e" } });
  assert.ok(k1.id!.startsWith(`${vaultUrl}/keys/e2e-rsa/`), k1.id);
  assert.equal(k1.key!.n!.length, 256);
  assert.equal((k1.key as Record<string, unknown>).d, undefined);
  assert.equal(k1.properties.enabled, true);
  const k2 = await keys.createRsaKey("e2e-rsa", { keySize: 3072 });
  assert.equal((await keys.getKey("e2e-rsa")).id, k2.id);
  assert.equal((await keys.getKey("e2e-rsa", { version: k1.properties.version! })).id, k1.id);
  let versions = 0;
  for await (const v of keys.listPropertiesOfKeyVersions("e2e-rsa")) {
    assert.ok(v.id === k1.id || v.id === k2.id);
    versions++;
  }
  const updated = await keys.updateKeyProperties("e2e-rsa", k1.properties.version!, { tags: { a: "b" }, expiresOn: new Date(Date.UTC(2037, 0, 1)) /* the SDK serialises dates with `| 0` (int32): keep before 2038 */ });
  assert.deepEqual(updated.properties.tags, { a: "b" });
  assert.equal(updated.properties.expiresOn?.toISOString(), "2037-01-01T00:00:00.000Z");

  // list with paging: more than 25 keys
  await Promise.all(Array.from({ length: 26 }, (_, i) => keys.createEcKey(`e2e-many-${i}`, { curve: "P-256" })));
  let listed = 0;
  for await (const p of keys.listPropertiesOfKeys()) {
    assert.ok(!p.id!.split("/keys/")[1]!.includes("/"), "list items carry version-less ids");
    listed++;
  }
  let pages = 0;
  for await (const page of keys.listPropertiesOfKeys().byPage({ maxPageSize: 10 })) {
    assert.ok(page.length <= 10);
    pages++;
  }

  // crypto: local RSA-OAEP wrap (after the client's GET), remote unwrap; remote RSA-OAEP-256 both ways
  const cek = crypto.randomBytes(32);
  const cc = cryptoFor(k2.id!);
  const wrapped = await cc.wrapKey("RSA-OAEP", cek);
  assert.equal(wrapped.keyID, k2.id);
  const unwrapped = await cc.unwrapKey("RSA-OAEP", wrapped.result);
  const localWrapRemoteUnwrap = Buffer.from(unwrapped.result).equals(cek);
  const w256 = await cc.wrapKey("RSA-OAEP-256", cek);
  const remoteOaep256 = Buffer.from((await cc.unwrapKey("RSA-OAEP-256", w256.result)).result).equals(cek);
  const enc = await cc.encrypt({ algorithm: "RSA-OAEP", plaintext: Buffer.from("hello tdekv") });
  const encryptDecrypt = Buffer.from((await cc.decrypt({ algorithm: "RSA-OAEP", ciphertext: enc.result })).result).toString() === "hello tdekv";

  // sign/verify: RSA and EC, digests signed remotely and verified remotely; RS256 also verified by the SDK locally
  const signVerify: string[] = [];
  const data = Buffer.from("sign me");
  for (const alg of ["RS256", "PS384", "RS512"] as const) {
    const digest = crypto.createHash(`sha${alg.slice(2)}`).update(data).digest();
    const sig = await cc.sign(alg, digest);
    assert.equal((await cc.verify(alg, digest, sig.result)).result, true, alg);
    assert.equal((await cc.verify(alg, crypto.createHash(`sha${alg.slice(2)}`).update("other").digest(), sig.result)).result, false, alg);
    signVerify.push(alg);
  }
  const rsSig = await cc.signData("RS256", data);
  assert.equal((await cc.verifyData("RS256", data, rsSig.result)).result, true);
  const ec = await keys.createEcKey("e2e-ec", { curve: "P-384" });
  const ecc = cryptoFor(ec.id!);
  const ecSig = await ecc.signData("ES384", data);
  assert.equal((await ecc.verifyData("ES384", data, ecSig.result)).result, true);
  signVerify.push("ES384");

  // rotate and rotation policy
  const defaultPolicy = await keys.getKeyRotationPolicy("e2e-rsa");
  assert.equal(defaultPolicy.lifetimeActions?.[0]?.action, "Notify");
  const policy = await keys.updateKeyRotationPolicy("e2e-rsa", { lifetimeActions: [{ action: "Rotate", timeAfterCreate: "P90D" }], expiresIn: "P2Y" });
  assert.equal(policy.expiresIn, "P2Y");
  const rotated = await keys.rotateKey("e2e-rsa");
  assert.notEqual(rotated.id, k2.id);
  assert.ok(rotated.properties.expiresOn && rotated.properties.expiresOn.getTime() > Date.now() + 700 * 86400_000);

  // backup, delete + purge, restore
  const bk = await keys.createRsaKey("e2e-bk", { keySize: 2048 });
  const blob = await keys.backupKey("e2e-bk");
  assert.ok(blob && blob.length > 100);
  await (await keys.beginDeleteKey("e2e-bk", poll)).pollUntilDone();
  await keys.purgeDeletedKey("e2e-bk");
  const restored = await keys.restoreKeyBackup(blob!);

  // soft delete, deleted key, recover, purge
  const deleted = await (await keys.beginDeleteKey("e2e-rsa", poll)).pollUntilDone();
  assert.equal(deleted.properties.recoveryId, `${vaultUrl}/deletedkeys/e2e-rsa`);
  assert.ok(deleted.properties.scheduledPurgeDate! > deleted.properties.deletedOn!);
  assert.equal((await keys.getDeletedKey("e2e-rsa")).name, "e2e-rsa");
  let seenDeleted = false;
  for await (const d of keys.listDeletedKeys()) if (d.name === "e2e-rsa") seenDeleted = true;
  assert.ok(seenDeleted);
  const recovered = await (await keys.beginRecoverDeletedKey("e2e-rsa", poll)).pollUntilDone();
  await (await keys.beginDeleteKey("e2e-rsa", poll)).pollUntilDone();
  await keys.purgeDeletedKey("e2e-rsa");
  const purged = (await caught(keys.getDeletedKey("e2e-rsa"))).statusCode === 404;

  // errors as RestError with Key Vault's code
  await keys.updateKeyProperties("e2e-ec", ec.properties.version!, { enabled: false });
  const errors = {
    missing: await caught(keys.getKey("no-such-key")),
    disabledGet: await caught(keys.getKey("e2e-ec")),
    disabledSign: await caught(cryptoFor(ec.id!).sign("ES384", crypto.createHash("sha384").update(data).digest())),
    badName: await caught(keys.createRsaKey("bad_name")),
  };
  return {
    kid: k1.id!,
    versions,
    listed,
    pages,
    localWrapRemoteUnwrap,
    remoteOaep256,
    encryptDecrypt,
    signVerify,
    rotatedKid: rotated.id!,
    restoredKid: restored.id === bk.id ? restored.id! : `mismatch ${restored.id} vs ${bk.id}`,
    recoveredKid: recovered.id!,
    purged,
    errors,
  };
}

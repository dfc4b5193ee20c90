import type { SecretBox } from "../../platform/index.js";
import { kvErrors } from "./errors.js";
import { vaultKey, type KeyService, type VaultContext } from "./key-service.js";
import type { KeyRecord, NewVersion } from "./key-store.js";
import { isEc, isRsa, type Kty } from "./crypto/algorithms.js";
import { PrivateKeyOps } from "./key-crypto.js";
import type { PublicJwk } from "./key-material.js";
import { checkKeyName, decodeBase64Url, encodeBase64Url, isObject, isWellFormedVersion, type JsonWebKeyOperation } from "./domain/validation.js";
import type { RotationPolicy } from "./domain/rotation-policy.js";

/**
 * BackupKey / RestoreKey (keyvault.md §1.2): every version of a key in one opaque blob. Like Azure's, the
 * blob is protected by the service: the whole payload is sealed with tdekv's master key, so only the same
 * tdekv instance (data dir) can restore it and nothing inside is readable. Restore needs a free name.
 */
const MAGIC = "tdekv-key-backup-1.";
const CONTEXT = "vault-key-backup";
/** Generous: a 4096-bit version is ~3.5 KB sealed; real blobs of keys with many versions reach ~100s of KB. */
const MAX_BLOB_BYTES = 2 * 1024 * 1024;

interface BackupVersion {
  version: string;
  kty: Kty;
  keySize: number | null;
  crv: string | null;
  keyOps: JsonWebKeyOperation[];
  publicJwk: PublicJwk;
  pkcs8: string;
  enabled: boolean;
  nbfAt: number | null;
  expAt: number | null;
  tags: Record<string, string>;
  createdAt: number;
  updatedAt: number;
}

interface BackupPayload {
  name: string;
  versions: BackupVersion[];
  rotationPolicy: RotationPolicy | null;
}

export async function backupKey(svc: KeyService, box: SecretBox, ctx: VaultContext, name: string): Promise<string> {
  const latest = await svc.liveKey(ctx, name);
  const versions = await svc.store.allVersions(latest.vault, latest.nameKey);
  const policy = (await svc.store.findName(latest.vault, latest.nameKey))?.rotationPolicy ?? null;
  const payload: BackupPayload = {
    name: latest.name,
    rotationPolicy: policy,
    versions: versions.map((v) => {
      const der = svc.openPrivate(v);
      const pkcs8 = der.toString("base64url");
      der.fill(0);
      return {
        version: v.version,
        kty: v.kty,
        keySize: v.keySize,
        crv: v.crv,
        keyOps: v.keyOps,
        publicJwk: v.publicJwk,
        pkcs8,
        enabled: v.enabled,
        nbfAt: v.nbfAt,
        expAt: v.expAt,
        tags: v.tags,
        createdAt: v.createdAt,
        updatedAt: v.updatedAt,
      };
    }),
  };
  return encodeBase64Url(Buffer.from(MAGIC + box.seal(JSON.stringify(payload), CONTEXT)));
}

function invalidBlob() {
  return kvErrors.badParameter("The backup blob is not a valid Key Vault key backup (or it was made by another tdekv instance).");
}

function readPayload(box: SecretBox, value: unknown): BackupPayload {
  const raw = decodeBase64Url(value, "value", { required: true, maxBytes: MAX_BLOB_BYTES })!.toString("utf8");
  if (!raw.startsWith(MAGIC)) throw invalidBlob();
  let payload: unknown;
  try {
    payload = JSON.parse(box.open(raw.slice(MAGIC.length), CONTEXT).toString("utf8"));
  } catch {
    throw invalidBlob();
  }
  if (!isObject(payload) || typeof payload.name !== "string" || !Array.isArray(payload.versions) || payload.versions.length === 0) throw invalidBlob();
  for (const v of payload.versions) {
    if (!isObject(v) || typeof v.version !== "string" || !isWellFormedVersion(v.version) || typeof v.kty !== "string" || !(isRsa(v.kty) || isEc(v.kty)) || typeof v.pkcs8 !== "string") {
      throw invalidBlob();
    }
  }
  return payload as unknown as BackupPayload;
}

export async function restoreKey(svc: KeyService, box: SecretBox, ctx: VaultContext, body: Record<string, unknown>): Promise<KeyRecord> {
  const payload = readPayload(box, body.value);
  checkKeyName(payload.name);
  const nameKey = payload.name.toLowerCase();
  const versions: NewVersion[] = payload.versions.map((v) => {
    const der = Buffer.from(v.pkcs8, "base64url");
    // Prove the material parses before it is stored; a bad blob must fail here, not on first use.
    try {
      new PrivateKeyOps(v.kty, v.crv, der);
    } catch {
      throw invalidBlob();
    }
    const sealed = svc.sealFor(ctx.vault, nameKey, v.version, der);
    der.fill(0);
    return {
      name: payload.name,
      version: v.version,
      kty: v.kty,
      keySize: v.keySize,
      crv: v.crv,
      keyOps: v.keyOps,
      publicJwk: v.publicJwk,
      privateSealed: sealed,
      enabled: v.enabled,
      nbfAt: v.nbfAt,
      expAt: v.expAt,
      tags: v.tags,
      exportable: false,
      createdAt: v.createdAt,
      updatedAt: v.updatedAt,
    };
  });
  await svc.store.restore(vaultKey(ctx.vault), nameKey, payload.name, versions, payload.rotationPolicy, svc.now());
  svc.forget(vaultKey(ctx.vault), nameKey);
  return svc.liveKey(ctx, payload.name);
}

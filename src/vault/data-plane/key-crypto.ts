import { availableParallelism } from "node:os";
import { constants, createPrivateKey, createPublicKey, privateDecrypt, privateEncrypt, publicDecrypt, publicEncrypt, timingSafeEqual, webcrypto, type KeyObject } from "node:crypto";
import { kvErrors } from "./errors.js";
import { ENCRYPTION_ALGORITHMS, SIGNATURE_ALGORITHMS, isEc, isRsa, type EncryptionAlgorithm, type SignatureScheme } from "./crypto/algorithms.js";
import { HASH_BYTES, digestInfo, emsaPssEncode, emsaPssVerify, leftPad, pkcs1v15Unpad } from "./crypto/rsa-padding.js";
import { bytesToBigInt, ecdsaSignDigest, ecdsaVerifyDigest } from "./crypto/ecdsa.js";
import { modulusBits, type PublicJwk } from "./key-material.js";

/**
 * The crypto operations on one key version (keyvault.md §1.2 encrypt/decrypt/wrapKey/unwrapKey/sign/verify).
 * Public operations work from the stored public JWK and never open the sealed private key; private ones
 * run on a PrivateKeyOps that the key cache keeps decrypted in memory.
 */
const subtle = webcrypto.subtle;
const { RSA_NO_PADDING, RSA_PKCS1_OAEP_PADDING, RSA_PKCS1_PADDING } = constants;

/**
 * OAEP decryption runs on libuv's pool through WebCrypto, so unwraps use every core while the event loop
 * serves HTTP. OpenSSL serialises concurrent private operations on one key object (RSA blinding), so each
 * key gets a few independent copies used round-robin.
 */
const OAEP_POOL = Math.max(2, Math.min(4, availableParallelism()));

const decryptFailed = () => kvErrors.badParameter("The value could not be decrypted with this key and algorithm.");

export function encryptionAlgorithm(kty: string, alg: string): EncryptionAlgorithm {
  if (!Object.hasOwn(ENCRYPTION_ALGORITHMS, alg)) throw kvErrors.badParameter(`The algorithm '${alg}' is not supported. Supported for RSA keys: RSA-OAEP, RSA-OAEP-256, RSA1_5.`);
  if (!isRsa(kty)) throw kvErrors.badParameter(`The algorithm '${alg}' is not valid for a key of type ${kty}.`);
  return alg as EncryptionAlgorithm;
}

export function signatureScheme(kty: string, crv: string | null, alg: string, digestLength: number): SignatureScheme {
  if (!Object.hasOwn(SIGNATURE_ALGORITHMS, alg)) throw kvErrors.badParameter(`The algorithm '${alg}' is not a supported signature algorithm.`);
  const scheme = SIGNATURE_ALGORITHMS[alg as keyof typeof SIGNATURE_ALGORITHMS];
  const fits = scheme.family === "ecdsa" ? isEc(kty) && crv === scheme.crv : isRsa(kty);
  if (!fits) throw kvErrors.badParameter(`The algorithm '${alg}' is not valid for a key of type ${kty}${crv ? ` on curve ${crv}` : ""}.`);
  if (digestLength !== HASH_BYTES[scheme.hash]) throw kvErrors.badParameter(`The digest for ${alg} must be ${HASH_BYTES[scheme.hash]} bytes long, not ${digestLength}.`);
  return scheme;
}

export class PublicKeyOps {
  readonly key: KeyObject;
  private readonly modulusBytes: number;
  private readonly modBits: number;

  constructor(
    readonly kty: string,
    readonly jwk: PublicJwk,
  ) {
    if ("n" in jwk) {
      this.key = createPublicKey({ key: { kty: "RSA", n: jwk.n, e: jwk.e }, format: "jwk" });
      this.modBits = modulusBits(jwk);
      this.modulusBytes = Math.ceil(this.modBits / 8);
    } else {
      this.key = createPublicKey({ key: { kty: "EC", crv: jwk.crv === "P-256K" ? "secp256k1" : jwk.crv, x: jwk.x, y: jwk.y }, format: "jwk" });
      this.modBits = 0;
      this.modulusBytes = 0;
    }
  }

  /** encrypt and wrapKey are the same RSA operation (one block; keyvault.md §1.5 operand limits). */
  encrypt(alg: string, plaintext: Buffer): Buffer {
    const a = encryptionAlgorithm(this.kty, alg);
    const spec = ENCRYPTION_ALGORITHMS[a];
    const max = this.modulusBytes - spec.overhead;
    if (plaintext.length > max) throw kvErrors.badParameter(`The value is too long for ${a} with a ${this.modBits}-bit key (${plaintext.length} bytes, at most ${max}).`);
    return spec.oaepHash
      ? publicEncrypt({ key: this.key, padding: RSA_PKCS1_OAEP_PADDING, oaepHash: spec.oaepHash }, plaintext)
      : publicEncrypt({ key: this.key, padding: RSA_PKCS1_PADDING }, plaintext);
  }

  verify(alg: string, digest: Buffer, signature: Buffer): boolean {
    const scheme = signatureScheme(this.kty, "crv" in this.jwk ? this.jwk.crv : null, alg, digest.length);
    if (scheme.family === "ecdsa") {
      const jwk = this.jwk as { crv: string; x: string; y: string };
      return ecdsaVerifyDigest(jwk.crv, bytesToBigInt(Buffer.from(jwk.x, "base64url")), bytesToBigInt(Buffer.from(jwk.y, "base64url")), digest, signature);
    }
    if (signature.length !== this.modulusBytes) return false;
    try {
      if (scheme.family === "rsa-pkcs1") {
        const recovered = publicDecrypt({ key: this.key, padding: RSA_PKCS1_PADDING }, signature);
        const expected = digestInfo(scheme.hash, digest);
        return recovered.length === expected.length && timingSafeEqual(recovered, expected);
      }
      const em = publicDecrypt({ key: this.key, padding: RSA_NO_PADDING }, signature);
      const emLen = Math.ceil((this.modBits - 1) / 8);
      if (em.subarray(0, em.length - emLen).some((b) => b !== 0)) return false;
      return emsaPssVerify(scheme.hash, digest, em.subarray(em.length - emLen), this.modBits);
    } catch {
      return false;
    }
  }
}

export class PrivateKeyOps {
  private readonly key: KeyObject;
  private readonly modBits: number;
  private readonly modulusBytes: number;
  private readonly ecD: bigint | undefined;
  private readonly pools = new Map<"sha1" | "sha256", Promise<webcrypto.CryptoKey[]>>();
  private next = 0;

  constructor(
    readonly kty: string,
    readonly crv: string | null,
    pkcs8: Buffer,
  ) {
    this.key = createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" });
    if (isRsa(kty)) {
      this.modBits = this.key.asymmetricKeyDetails?.modulusLength ?? 0;
      this.modulusBytes = Math.ceil(this.modBits / 8);
      this.ecD = undefined;
    } else {
      this.modBits = 0;
      this.modulusBytes = 0;
      this.ecD = bytesToBigInt(Buffer.from(this.key.export({ format: "jwk" }).d!, "base64url"));
    }
  }

  private oaepKeys(hash: "sha1" | "sha256"): Promise<webcrypto.CryptoKey[]> {
    let pool = this.pools.get(hash);
    if (!pool) {
      const der = this.key.export({ type: "pkcs8", format: "der" });
      const algorithm = { name: "RSA-OAEP", hash: hash === "sha1" ? "SHA-1" : "SHA-256" };
      pool = Promise.all(Array.from({ length: OAEP_POOL }, () => subtle.importKey("pkcs8", der, algorithm, false, ["decrypt"])));
      this.pools.set(hash, pool);
    }
    return pool;
  }

  /** decrypt and unwrapKey. Every failure is the same 400, so no padding detail leaks. */
  async decrypt(alg: string, ciphertext: Buffer): Promise<Buffer> {
    const a = encryptionAlgorithm(this.kty, alg);
    if (ciphertext.length > this.modulusBytes) throw kvErrors.badParameter(`The value is longer than the ${this.modBits}-bit key's modulus.`);
    const block = leftPad(ciphertext, this.modulusBytes);
    const hash = ENCRYPTION_ALGORITHMS[a].oaepHash;
    if (hash) {
      const keys = await this.oaepKeys(hash);
      const key = keys[this.next++ % keys.length]!;
      try {
        return Buffer.from(await subtle.decrypt({ name: "RSA-OAEP" }, key, block));
      } catch {
        throw decryptFailed();
      }
    }
    let em: Buffer;
    try {
      em = privateDecrypt({ key: this.key, padding: RSA_NO_PADDING }, block);
    } catch {
      throw decryptFailed();
    }
    const message = pkcs1v15Unpad(leftPad(em, this.modulusBytes));
    if (!message) throw decryptFailed();
    return Buffer.from(message);
  }

  sign(alg: string, digest: Buffer): Buffer {
    const scheme = signatureScheme(this.kty, this.crv, alg, digest.length);
    if (scheme.family === "ecdsa") return ecdsaSignDigest(this.crv!, this.ecD!, digest);
    if (scheme.family === "rsa-pkcs1") return privateEncrypt({ key: this.key, padding: RSA_PKCS1_PADDING }, digestInfo(scheme.hash, digest));
    const em = emsaPssEncode(scheme.hash, digest, this.modBits);
    return privateEncrypt({ key: this.key, padding: RSA_NO_PADDING }, leftPad(em, this.modulusBytes));
  }
}

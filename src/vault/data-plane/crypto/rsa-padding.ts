import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * RSA encodings that Node's one-shot APIs cannot do with a pre-computed digest or on Node 20:
 * - Key Vault's sign/verify take the digest, not the message (keyvault.md §1.3 KeySignParameters), so
 *   RS* signs an EMSA-PKCS1-v1_5 DigestInfo and PS* an EMSA-PSS encoding (RFC 8017 §9.1) with a raw
 *   private operation;
 * - Node 20 refuses PKCS#1 v1.5 *decryption* (CVE-2023-46809), so RSA1_5 unwrap/decrypt strips the type-2
 *   padding here after a raw private operation.
 */
export type HashName = "sha256" | "sha384" | "sha512";

export const HASH_BYTES: Record<HashName, number> = { sha256: 32, sha384: 48, sha512: 64 };

const DIGEST_INFO_PREFIX: Record<HashName, Buffer> = {
  sha256: Buffer.from("3031300d060960864801650304020105000420", "hex"),
  sha384: Buffer.from("3041300d060960864801650304020205000430", "hex"),
  sha512: Buffer.from("3051300d060960864801650304020305000440", "hex"),
};

/** EMSA-PKCS1-v1_5's DigestInfo for a digest (the signer then applies type-1 padding). */
export const digestInfo = (hash: HashName, digest: Buffer): Buffer => Buffer.concat([DIGEST_INFO_PREFIX[hash], digest]);

function mgf1(hash: HashName, seed: Buffer, length: number): Buffer {
  const out: Buffer[] = [];
  let size = 0;
  for (let counter = 0; size < length; counter++) {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(counter);
    const block = createHash(hash).update(seed).update(c).digest();
    out.push(block);
    size += block.length;
  }
  return Buffer.concat(out).subarray(0, length);
}

/** EMSA-PSS-ENCODE (RFC 8017 §9.1.1) with a salt as long as the hash, as Key Vault's PS* use. */
export function emsaPssEncode(hash: HashName, mHash: Buffer, modBits: number): Buffer {
  const hLen = HASH_BYTES[hash];
  const emBits = modBits - 1;
  const emLen = Math.ceil(emBits / 8);
  const salt = randomBytes(hLen);
  const h = createHash(hash).update(Buffer.alloc(8)).update(mHash).update(salt).digest();
  const db = Buffer.alloc(emLen - hLen - 1);
  db[db.length - salt.length - 1] = 0x01;
  salt.copy(db, db.length - salt.length);
  const mask = mgf1(hash, h, db.length);
  for (let i = 0; i < db.length; i++) db[i]! ^= mask[i]!;
  db[0]! &= 0xff >> (8 * emLen - emBits);
  return Buffer.concat([db, h, Buffer.from([0xbc])]);
}

/** EMSA-PSS-VERIFY (RFC 8017 §9.1.2); the salt length is read from the encoding, so any length verifies. */
export function emsaPssVerify(hash: HashName, mHash: Buffer, em: Buffer, modBits: number): boolean {
  const hLen = HASH_BYTES[hash];
  const emBits = modBits - 1;
  const emLen = Math.ceil(emBits / 8);
  if (em.length !== emLen || emLen < hLen + 2 || em[emLen - 1] !== 0xbc) return false;
  const masked = Buffer.from(em.subarray(0, emLen - hLen - 1));
  const h = em.subarray(emLen - hLen - 1, emLen - 1);
  const topBits = 8 * emLen - emBits;
  if (topBits > 0 && (masked[0]! & (0xff << (8 - topBits)) & 0xff) !== 0) return false;
  const mask = mgf1(hash, h, masked.length);
  for (let i = 0; i < masked.length; i++) masked[i]! ^= mask[i]!;
  masked[0]! &= 0xff >> topBits;
  const one = masked.indexOf(0x01);
  if (one < 0 || masked.subarray(0, one).some((b) => b !== 0)) return false;
  const salt = masked.subarray(one + 1);
  const h2 = createHash(hash).update(Buffer.alloc(8)).update(mHash).update(salt).digest();
  return timingSafeEqual(h, h2);
}

/**
 * Removes EME-PKCS1-v1_5 type-2 padding (RFC 8017 §7.2.2) from a raw RSA result of `k` bytes. Returns
 * undefined for any malformed block; callers answer one generic error, so no padding oracle detail leaks.
 */
export function pkcs1v15Unpad(em: Buffer): Buffer | undefined {
  if (em.length < 11 || em[0] !== 0x00 || em[1] !== 0x02) return undefined;
  const sep = em.indexOf(0x00, 2);
  if (sep < 10) return undefined;
  return em.subarray(sep + 1);
}

/** Left-pads a big-endian value to `length` bytes (RSA inputs must be exactly the modulus length). */
export function leftPad(buf: Buffer, length: number): Buffer {
  if (buf.length >= length) return buf;
  return Buffer.concat([Buffer.alloc(length - buf.length), buf]);
}

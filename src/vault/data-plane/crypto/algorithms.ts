import type { HashName } from "./rsa-padding.js";

/**
 * Algorithm tables (keyvault.md §1.4). Vaults hold RSA and EC keys; oct/AES is Managed HSM only and is
 * refused. "-HSM" key types behave like their software twins here (tdekv has no HSM; see the design record).
 */
export const RSA_KTYS = ["RSA", "RSA-HSM"] as const;
export const EC_KTYS = ["EC", "EC-HSM"] as const;
export type Kty = (typeof RSA_KTYS)[number] | (typeof EC_KTYS)[number];

export const isRsa = (kty: string): boolean => kty === "RSA" || kty === "RSA-HSM";
export const isEc = (kty: string): boolean => kty === "EC" || kty === "EC-HSM";

export const RSA_KEY_SIZES = [2048, 3072, 4096] as const;
export const EC_CURVES = ["P-256", "P-384", "P-521", "P-256K"] as const;

/** Node's names for the JWK curves. */
export const NODE_CURVE: Record<string, string> = { "P-256": "prime256v1", "P-384": "secp384r1", "P-521": "secp521r1", "P-256K": "secp256k1" };

export type EncryptionAlgorithm = "RSA-OAEP" | "RSA-OAEP-256" | "RSA1_5";

export const ENCRYPTION_ALGORITHMS: Record<EncryptionAlgorithm, { oaepHash?: "sha1" | "sha256"; overhead: number }> = {
  // OAEP overhead is 2·hLen + 2 bytes; PKCS#1 v1.5 needs at least 11 (RFC 8017 §7.1.1, §7.2.1).
  "RSA-OAEP": { oaepHash: "sha1", overhead: 42 },
  "RSA-OAEP-256": { oaepHash: "sha256", overhead: 66 },
  RSA1_5: { overhead: 11 },
};

export type SignatureAlgorithm = "RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512" | "ES256" | "ES384" | "ES512" | "ES256K";

export interface SignatureScheme {
  family: "rsa-pkcs1" | "rsa-pss" | "ecdsa";
  hash: HashName;
  /** ECDSA: the curve the algorithm is defined on (ES256 ⇒ P-256, ...). */
  crv?: string;
}

export const SIGNATURE_ALGORITHMS: Record<SignatureAlgorithm, SignatureScheme> = {
  RS256: { family: "rsa-pkcs1", hash: "sha256" },
  RS384: { family: "rsa-pkcs1", hash: "sha384" },
  RS512: { family: "rsa-pkcs1", hash: "sha512" },
  PS256: { family: "rsa-pss", hash: "sha256" },
  PS384: { family: "rsa-pss", hash: "sha384" },
  PS512: { family: "rsa-pss", hash: "sha512" },
  ES256: { family: "ecdsa", hash: "sha256", crv: "P-256" },
  ES384: { family: "ecdsa", hash: "sha384", crv: "P-384" },
  ES512: { family: "ecdsa", hash: "sha512", crv: "P-521" },
  ES256K: { family: "ecdsa", hash: "sha256", crv: "P-256K" },
};

/** key_ops a new key gets when the request names none (keyvault.md §1.3 example bundle). */
export const defaultKeyOps = (kty: string): ("encrypt" | "decrypt" | "sign" | "verify" | "wrapKey" | "unwrapKey")[] =>
  isRsa(kty) ? ["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"] : ["sign", "verify"];

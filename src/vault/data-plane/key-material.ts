import { createECDH, createPrivateKey, createPublicKey, generateKeyPair, privateDecrypt, publicEncrypt, randomBytes, timingSafeEqual, type KeyObject } from "node:crypto";
import { promisify } from "node:util";
import { kvErrors } from "./errors.js";
import { EC_CURVES, NODE_CURVE, RSA_KEY_SIZES, isEc, isRsa, type Kty } from "./crypto/algorithms.js";
import { isObject } from "./domain/validation.js";

const generateKeyPairAsync = promisify(generateKeyPair);

/**
 * Key material as the store keeps it: the private key as PKCS#8 DER (sealed before it touches disk) and
 * the public JWK members that GET returns (keyvault.md §1.3: RSA n,e; EC crv,x,y; never d, p, q, ...).
 */
export interface KeyMaterial {
  kty: Kty;
  keySize: number | null;
  crv: string | null;
  publicJwk: PublicJwk;
  pkcs8: Buffer;
}

export type PublicJwk = { n: string; e: string } | { crv: string; x: string; y: string };

function publicJwkOf(key: KeyObject, kty: Kty): PublicJwk {
  const jwk = createPublicKey(key).export({ format: "jwk" });
  if (isRsa(kty)) return { n: jwk.n!, e: jwk.e! };
  return { crv: jwkCurve(jwk.crv!), x: jwk.x!, y: jwk.y! };
}

/** Node calls P-256K "secp256k1" in JWKs; Key Vault calls it "P-256K". */
const jwkCurve = (nodeCrv: string): string => (nodeCrv === "secp256k1" ? "P-256K" : nodeCrv);

export const modulusBits = (jwk: { n: string }): number => {
  const n = Buffer.from(jwk.n, "base64url");
  let i = 0;
  while (i < n.length && n[i] === 0) i++;
  return n.length - i === 0 ? 0 : (n.length - i - 1) * 8 + (n[i]!.toString(2).length);
};

/** Key generation runs on libuv's pool (async), never on the event loop nor inside a DB transaction. */
export async function generateKeyMaterial(args: { kty: Kty; keySize?: number; crv?: string; publicExponent?: number }): Promise<KeyMaterial> {
  if (isRsa(args.kty)) {
    const keySize = args.keySize ?? 2048;
    if (!(RSA_KEY_SIZES as readonly number[]).includes(keySize)) throw kvErrors.badParameter(`The key size ${keySize} is not supported for ${args.kty} keys. Supported sizes: 2048, 3072, 4096.`);
    const publicExponent = args.publicExponent ?? 65537;
    if (publicExponent !== 3 && publicExponent !== 65537) throw kvErrors.badParameter(`The public exponent ${publicExponent} is not supported. Use 65537.`);
    const { privateKey } = await generateKeyPairAsync("rsa", { modulusLength: keySize, publicExponent });
    return { kty: args.kty, keySize, crv: null, publicJwk: publicJwkOf(privateKey, args.kty), pkcs8: privateKey.export({ type: "pkcs8", format: "der" }) };
  }
  const crv = args.crv ?? "P-256";
  if (!(EC_CURVES as readonly string[]).includes(crv)) throw kvErrors.badParameter(`The curve '${crv}' is not supported. Supported curves: ${EC_CURVES.join(", ")}.`);
  if (args.keySize !== undefined) throw kvErrors.badParameter("'key_size' does not apply to EC keys; use 'crv'.");
  const { privateKey } = await generateKeyPairAsync("ec", { namedCurve: NODE_CURVE[crv]! });
  return { kty: args.kty, keySize: null, crv, publicJwk: publicJwkOf(privateKey, args.kty), pkcs8: privateKey.export({ type: "pkcs8", format: "der" }) };
}

const RSA_PRIVATE = ["d", "p", "q", "dp", "dq", "qi"] as const;

function b64Member(jwk: Record<string, unknown>, name: string): string {
  const v = jwk[name];
  if (typeof v !== "string" || !/^[A-Za-z0-9_-]+={0,2}$/.test(v)) throw kvErrors.badParameter(`The JSON web key member '${name}' is missing or not base64url.`);
  return v.replace(/=+$/, "");
}

const sameInteger = (a: string, b: string): boolean => {
  const strip = (s: string) => {
    const buf = Buffer.from(s, "base64url");
    let i = 0;
    while (i < buf.length - 1 && buf[i] === 0) i++;
    return buf.subarray(i);
  };
  const x = strip(a);
  const y = strip(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/**
 * ImportKey (keyvault.md §1.2/§1.3): a JWK with its private part. The material must be self-consistent:
 * Node accepts an RSA JWK whose n disagrees with p·q, so we check a round trip before storing anything.
 */
export function importKeyMaterial(jwk: unknown, hsm: boolean): KeyMaterial {
  if (!isObject(jwk)) throw kvErrors.badParameter("The parameter 'key' is required and must be a JSON web key.");
  const ktyIn = typeof jwk.kty === "string" ? jwk.kty : "";
  if (jwk.key_hsm !== undefined || jwk.t !== undefined) throw kvErrors.badParameter("Bring-your-own-key (key_hsm) blobs are not supported by tdekv; import the key as a plain JWK.");
  if (ktyIn === "oct" || ktyIn === "oct-HSM") throw kvErrors.badParameter(`Key type '${ktyIn}' is only supported by Managed HSM, not by a key vault.`);
  if (!isRsa(ktyIn) && !isEc(ktyIn)) throw kvErrors.badParameter(`The key type '${ktyIn || "(missing)"}' is not supported. Supported: RSA, RSA-HSM, EC, EC-HSM.`);
  const kty = (hsm ? (isRsa(ktyIn) ? "RSA-HSM" : "EC-HSM") : ktyIn) as Kty;
  let privateKey: KeyObject;
  if (isRsa(kty)) {
    const n = b64Member(jwk, "n");
    const e = b64Member(jwk, "e");
    const priv: Record<string, string> = {};
    for (const m of RSA_PRIVATE) {
      if (jwk[m] === undefined) throw kvErrors.badParameter("The key to import must include its private part (d, p, q, dp, dq, qi).");
      priv[m] = b64Member(jwk, m);
    }
    try {
      privateKey = createPrivateKey({ key: { kty: "RSA", n, e, ...priv }, format: "jwk" });
    } catch {
      throw kvErrors.badParameter("The RSA key to import is not valid.");
    }
    const bits = modulusBits({ n });
    if (!(RSA_KEY_SIZES as readonly number[]).includes(bits)) throw kvErrors.badParameter(`The key size ${bits} is not supported for RSA keys. Supported sizes: 2048, 3072, 4096.`);
    // Pairwise consistency: encrypt under the stated public key, decrypt with the private (CRT) key.
    const probe = randomBytes(32);
    let back: Buffer | undefined;
    try {
      back = privateDecrypt({ key: privateKey, oaepHash: "sha256" }, publicEncrypt({ key: createPublicKey({ key: { kty: "RSA", n, e }, format: "jwk" }), oaepHash: "sha256" }, probe));
    } catch {
      back = undefined;
    }
    if (!back || !back.equals(probe)) throw kvErrors.badParameter("The RSA key to import is not consistent: its public and private parts do not belong together.");
    return { kty, keySize: bits, crv: null, publicJwk: publicJwkOf(privateKey, kty), pkcs8: privateKey.export({ type: "pkcs8", format: "der" }) };
  }
  const crv = typeof jwk.crv === "string" ? jwk.crv : "";
  if (!(EC_CURVES as readonly string[]).includes(crv)) throw kvErrors.badParameter(`The curve '${crv || "(missing)"}' is not supported. Supported curves: ${EC_CURVES.join(", ")}.`);
  const x = b64Member(jwk, "x");
  const y = b64Member(jwk, "y");
  if (jwk.d === undefined) throw kvErrors.badParameter("The key to import must include its private part (d).");
  const d = b64Member(jwk, "d");
  try {
    privateKey = createPrivateKey({ key: { kty: "EC", crv: crv === "P-256K" ? "secp256k1" : crv, x, y, d }, format: "jwk" });
  } catch {
    throw kvErrors.badParameter("The EC key to import is not valid.");
  }
  const ecdh = createECDH(NODE_CURVE[crv]!);
  try {
    ecdh.setPrivateKey(Buffer.from(d, "base64url"));
  } catch {
    throw kvErrors.badParameter("The EC key to import is not valid.");
  }
  const pub = ecdh.getPublicKey();
  const size = (pub.length - 1) / 2;
  if (!sameInteger(pub.subarray(1, 1 + size).toString("base64url"), x) || !sameInteger(pub.subarray(1 + size).toString("base64url"), y)) {
    throw kvErrors.badParameter("The EC key to import is not consistent: its public and private parts do not belong together.");
  }
  return { kty, keySize: null, crv, publicJwk: publicJwkOf(privateKey, kty), pkcs8: privateKey.export({ type: "pkcs8", format: "der" }) };
}

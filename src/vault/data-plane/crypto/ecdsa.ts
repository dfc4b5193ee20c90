import { createECDH, randomBytes } from "node:crypto";

/**
 * ECDSA over a digest the caller already computed (Key Vault's ES256/384/512/256K take the digest,
 * keyvault.md §1.3). Node's sign/verify always hash their input, so:
 * - signing takes k·G from OpenSSL's constant-time scalar multiplication (ECDH with k as private key) and
 *   does only the mod-n arithmetic here (FIPS 186-5 §6.4.1);
 * - verifying works on public data only, so plain BigInt Jacobian arithmetic is fine.
 */
interface Curve {
  openssl: string;
  size: number;
  p: bigint;
  a: bigint;
  b: bigint;
  n: bigint;
  gx: bigint;
  gy: bigint;
}

const h = (s: string) => BigInt("0x" + s);

/** Domain parameters as `openssl ecparam -param_enc explicit -text` prints them (SEC 2, FIPS 186-5). */
export const CURVES: Record<string, Curve> = {
  "P-256": {
    openssl: "prime256v1",
    size: 32,
    p: h("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff"),
    a: h("ffffffff00000001000000000000000000000000fffffffffffffffffffffffc"),
    b: h("5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b"),
    n: h("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551"),
    gx: h("6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"),
    gy: h("4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5"),
  },
  "P-384": {
    openssl: "secp384r1",
    size: 48,
    p: h("fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff"),
    a: h("fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000fffffffc"),
    b: h("b3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aef"),
    n: h("ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973"),
    gx: h("aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7"),
    gy: h("3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5f"),
  },
  "P-521": {
    openssl: "secp521r1",
    size: 66,
    p: h("01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"),
    a: h("01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffc"),
    b: h("0051953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef109e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00"),
    n: h("01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409"),
    gx: h("00c6858e06b70404e9cd9e3ecb662395b4429c648139053fb521f828af606b4d3dbaa14b5e77efe75928fe1dc127a2ffa8de3348b3c1856a429bf97e7e31c2e5bd66"),
    gy: h("011839296a789a3bc0045c8a5fb42c7d1bd998f54449579b446817afbd17273e662c97ee72995ef42640c550b9013fad0761353c7086a272c24088be94769fd16650"),
  },
  "P-256K": {
    openssl: "secp256k1",
    size: 32,
    p: h("fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f"),
    a: 0n,
    b: 7n,
    n: h("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"),
    gx: h("79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"),
    gy: h("483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8"),
  },
};

const mod = (a: bigint, m: bigint) => {
  const r = a % m;
  return r < 0n ? r + m : r;
};

function modPow(base: bigint, exp: bigint, m: bigint): bigint {
  let result = 1n;
  let b = mod(base, m);
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return result;
}

/** Inverse modulo a prime (Fermat). */
const modInv = (a: bigint, p: bigint) => modPow(a, p - 2n, p);

export const bytesToBigInt = (b: Uint8Array): bigint => (b.length === 0 ? 0n : BigInt("0x" + Buffer.from(b).toString("hex")));

export function bigIntToBytes(v: bigint, size: number): Buffer {
  const hex = v.toString(16).padStart(size * 2, "0");
  return Buffer.from(hex, "hex");
}

/** The leftmost bits of the digest, as many as the group order has (FIPS 186-5 §6.4.1 step 2). */
function digestToInt(digest: Buffer, n: bigint): bigint {
  const nBits = n.toString(2).length;
  let z = bytesToBigInt(digest);
  const excess = digest.length * 8 - nBits;
  if (excess > 0) z >>= BigInt(excess);
  return z;
}

export function ecdsaSignDigest(crv: string, d: bigint, digest: Buffer): Buffer {
  const c = CURVES[crv];
  if (!c) throw new Error(`unsupported curve ${crv}`);
  const z = digestToInt(digest, c.n);
  for (;;) {
    const k = mod(bytesToBigInt(randomBytes(c.size + 16)), c.n - 1n) + 1n;
    const ecdh = createECDH(c.openssl);
    ecdh.setPrivateKey(bigIntToBytes(k, c.size));
    const point = ecdh.getPublicKey();
    const r = mod(bytesToBigInt(point.subarray(1, 1 + c.size)), c.n);
    if (r === 0n) continue;
    const s = mod(modInv(k, c.n) * (z + r * d), c.n);
    if (s === 0n) continue;
    return Buffer.concat([bigIntToBytes(r, c.size), bigIntToBytes(s, c.size)]);
  }
}

type Jacobian = [bigint, bigint, bigint];
const INFINITY: Jacobian = [1n, 1n, 0n];

function double(c: Curve, [x, y, z]: Jacobian): Jacobian {
  const p = c.p;
  if (z === 0n || y === 0n) return INFINITY;
  const y2 = (y * y) % p;
  const s = (4n * x * y2) % p;
  const z2 = (z * z) % p;
  const m = mod(3n * x * x + c.a * z2 * z2, p);
  const x3 = mod(m * m - 2n * s, p);
  const y3 = mod(m * (s - x3) - 8n * y2 * y2, p);
  const z3 = (2n * y * z) % p;
  return [x3, y3, z3];
}

function add(c: Curve, a: Jacobian, b: Jacobian): Jacobian {
  if (a[2] === 0n) return b;
  if (b[2] === 0n) return a;
  const p = c.p;
  const z1z1 = (a[2] * a[2]) % p;
  const z2z2 = (b[2] * b[2]) % p;
  const u1 = (a[0] * z2z2) % p;
  const u2 = (b[0] * z1z1) % p;
  const s1 = (a[1] * b[2] * z2z2) % p;
  const s2 = (b[1] * a[2] * z1z1) % p;
  if (u1 === u2) return s1 === s2 ? double(c, a) : INFINITY;
  const hh = mod(u2 - u1, p);
  const r = mod(s2 - s1, p);
  const h2 = (hh * hh) % p;
  const h3 = (h2 * hh) % p;
  const x3 = mod(r * r - h3 - 2n * u1 * h2, p);
  const y3 = mod(r * (u1 * h2 - x3) - s1 * h3, p);
  const z3 = (hh * a[2] * b[2]) % p;
  return [x3, y3, z3];
}

/** u1·G + u2·Q by Shamir's trick; returns the affine x or undefined at infinity. */
function twinMultiplyX(c: Curve, u1: bigint, u2: bigint, q: Jacobian): bigint | undefined {
  const g: Jacobian = [c.gx, c.gy, 1n];
  const gq = add(c, g, q);
  let acc = INFINITY;
  const bits = Math.max(u1.toString(2).length, u2.toString(2).length);
  for (let i = bits - 1; i >= 0; i--) {
    acc = double(c, acc);
    const b1 = (u1 >> BigInt(i)) & 1n;
    const b2 = (u2 >> BigInt(i)) & 1n;
    if (b1 && b2) acc = add(c, acc, gq);
    else if (b1) acc = add(c, acc, g);
    else if (b2) acc = add(c, acc, q);
  }
  if (acc[2] === 0n) return undefined;
  const zInv = modInv(acc[2], c.p);
  return (acc[0] * zInv * zInv) % c.p;
}

export function ecdsaVerifyDigest(crv: string, x: bigint, y: bigint, digest: Buffer, signature: Buffer): boolean {
  const c = CURVES[crv];
  if (!c || signature.length !== 2 * c.size) return false;
  const r = bytesToBigInt(signature.subarray(0, c.size));
  const s = bytesToBigInt(signature.subarray(c.size));
  if (r <= 0n || r >= c.n || s <= 0n || s >= c.n) return false;
  // The public point must lie on the curve (it came from our own store, but a cheap check costs nothing).
  if (mod(y * y - (x * x * x + c.a * x + c.b), c.p) !== 0n) return false;
  const w = modInv(s, c.n);
  const u1 = mod(digestToInt(digest, c.n) * w, c.n);
  const u2 = mod(r * w, c.n);
  const vx = twinMultiplyX(c, u1, u2, [x, y, 1n]);
  return vx !== undefined && mod(vx, c.n) === r;
}

import type { KeyService, VaultContext } from "./key-service.js";
import type { KeyRecord } from "./key-store.js";

/**
 * The six crypto operations on one key version, shared by the HTTP routes and the in-process API so both
 * apply the same key-state rules and the same crypto (issue 3 §3). encrypt/wrapKey and verify use only the
 * public key; decrypt/unwrapKey and sign the cached private key.
 */
export type CryptoOperation = "encrypt" | "decrypt" | "wrapKey" | "unwrapKey" | "sign" | "verify";

export interface CryptoParams {
  alg: string;
  /** encrypt/wrapKey: plaintext; decrypt/unwrapKey: ciphertext; sign: digest; verify: signature. */
  value: Buffer;
  /** verify only. */
  digest?: Buffer;
}

export interface CryptoOutcome {
  rec: KeyRecord;
  value?: Buffer;
  verified?: boolean;
}

export async function runCrypto(svc: KeyService, ctx: VaultContext, op: CryptoOperation, name: string, version: string | undefined, p: CryptoParams): Promise<CryptoOutcome> {
  const rec = await svc.keyFor(ctx, name, version, op);
  switch (op) {
    case "encrypt":
    case "wrapKey":
      return { rec, value: svc.publicOpsFor(rec).encrypt(p.alg, p.value) };
    case "decrypt":
    case "unwrapKey":
      return { rec, value: await svc.privateOpsFor(rec).decrypt(p.alg, p.value) };
    case "sign":
      return { rec, value: svc.privateOpsFor(rec).sign(p.alg, p.value) };
    case "verify":
      return { rec, verified: svc.publicOpsFor(rec).verify(p.alg, p.digest ?? Buffer.alloc(0), p.value) };
  }
}

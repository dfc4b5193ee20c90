import { createHash, randomBytes } from "node:crypto";
import { DomainError, type Clock } from "../platform/index.js";
import type { Principal } from "../identity/index.js";

/** What Microsoft.Sql needs from Key Vault, called in-process as the server's identity (a trusted service). */
export interface VaultKeyInfo {
  kid: string;
  kty: string;
  keySize?: number;
  enabled: boolean;
  nbf?: number;
  exp?: number;
  recoveryLevel?: string;
  n?: string;
  e?: string;
}

export interface ServerKeyVault {
  getKey(identity: Principal, kid: string): Promise<VaultKeyInfo>;
  wrapKey(identity: Principal, kid: string, alg: string, value: Buffer): Promise<{ kid: string; value: Buffer }>;
  unwrapKey(identity: Principal, kid: string, alg: string, value: Buffer): Promise<Buffer>;
}

/**
 * The seed's failure causes ("Common errors causing databases to become inaccessible"), as one vocabulary
 * shared by configuration-time validation (issue 4), the probe (issue 5) and doctor (issue 7).
 */
export type KeyAccessCause =
  | "no-identity"
  | "identity-deleted"
  | "wrong-tenant"
  | "vault-unreachable"
  | "network-error"
  | "vault-unavailable"
  | "timeout"
  | "firewall"
  | "key-not-found"
  | "key-disabled"
  | "key-expired"
  | "key-not-yet-valid"
  | "missing-permissions"
  | "unsupported-key"
  | "recovery-level"
  | "unknown";

export class KeyAccessError extends DomainError {
  readonly kind = "key-access";
  constructor(
    readonly failure: KeyAccessCause,
    message: string,
    /** For missing-permissions: which of get, wrapKey, unwrapKey were refused. */
    readonly missing: string[] = [],
  ) {
    super(message);
  }
}

/** Turns a Key Vault error (typed by the data plane, `reason`) into a seed cause. */
export function classifyVaultError(err: unknown): KeyAccessError {
  if (err instanceof KeyAccessError) return err;
  const e = err as { reason?: string; message?: string; detail?: { permission?: string; action?: string; tokenReason?: string } };
  const msg = e?.message ?? String(err);
  switch (e?.reason) {
    case "vault-not-found":
      return new KeyAccessError("vault-unreachable", msg);
    case "firewall":
      return new KeyAccessError("firewall", msg);
    case "key-not-found":
    case "deleted-key-not-found":
      return new KeyAccessError("key-not-found", msg);
    case "key-disabled":
      return new KeyAccessError("key-disabled", msg);
    case "key-expired":
      return new KeyAccessError("key-expired", msg);
    case "key-not-yet-valid":
      return new KeyAccessError("key-not-yet-valid", msg);
    case "permission-denied":
      return new KeyAccessError("missing-permissions", msg, [e.detail?.permission ?? e.detail?.action ?? "unknown"]);
    case "wrong-tenant":
      return new KeyAccessError("wrong-tenant", msg);
    case "token-rejected":
    case "unauthenticated":
      return new KeyAccessError("identity-deleted", msg);
    default:
      return new KeyAccessError("unknown", msg);
  }
}

/** 40 hex digits (SHA-1 length), as Azure shows server key thumbprints, over the key's public modulus and exponent. */
export function thumbprintOf(key: { n?: string; e?: string; kid: string }): string {
  return createHash("sha1")
    .update(key.n ?? key.kid)
    .update(key.e ?? "")
    .digest("hex")
    .toUpperCase();
}

export const WRAP_ALG = "RSA-OAEP-256";

/**
 * The full check a server makes of a customer-managed key: the key's state and shape, then get, wrapKey and
 * unwrapKey of a canary as the server's identity (seed "Missing permissions": Get, WrapKey, UnwrapKey).
 * Every permission is tried so the error can name all that are missing.
 */
export async function validateKey(vault: ServerKeyVault, identity: Principal, kid: string, clock: Clock): Promise<VaultKeyInfo> {
  const missing: string[] = [];
  let info: VaultKeyInfo | undefined;
  try {
    info = await vault.getKey(identity, kid);
  } catch (err) {
    const c = classifyVaultError(err);
    if (c.failure !== "missing-permissions") throw c;
    missing.push("get");
  }
  if (info) {
    if (info.kty !== "RSA" && info.kty !== "RSA-HSM") throw new KeyAccessError("unsupported-key", `key type ${info.kty}`);
    if (info.keySize !== undefined && info.keySize !== 2048 && info.keySize !== 3072) throw new KeyAccessError("unsupported-key", `key size ${info.keySize}`);
    if (!info.enabled) throw new KeyAccessError("key-disabled", "the key is disabled");
    const now = clock.now() / 1000;
    if (info.nbf !== undefined && info.nbf > now) throw new KeyAccessError("key-not-yet-valid", "the key is not yet valid");
    if (info.exp !== undefined && info.exp <= now) throw new KeyAccessError("key-expired", "the key has expired");
    // Soft delete AND purge protection are required: any level that still says "Purgeable" is refused
    // (azure-sql-tde.md §3, "other than 'Purgeable'").
    if (info.recoveryLevel && /purgeable/i.test(info.recoveryLevel)) {
      throw new KeyAccessError("recovery-level", `recovery level ${info.recoveryLevel}`);
    }
  }
  const canary = randomBytes(32);
  let wrapped: Buffer | undefined;
  try {
    wrapped = (await vault.wrapKey(identity, kid, WRAP_ALG, canary)).value;
  } catch (err) {
    const c = classifyVaultError(err);
    if (c.failure !== "missing-permissions") throw c;
    missing.push("wrapKey");
  }
  if (wrapped) {
    try {
      const back = await vault.unwrapKey(identity, kid, WRAP_ALG, wrapped);
      if (!back.equals(canary)) throw new KeyAccessError("unknown", "the canary did not round-trip");
    } catch (err) {
      const c = classifyVaultError(err);
      if (c.failure !== "missing-permissions") throw c;
      missing.push("unwrapKey");
    }
  } else if (!missing.includes("unwrapKey")) {
    // Without a wrapped canary, unwrap can only be probed for permission; any 403 names it.
    try {
      await vault.unwrapKey(identity, kid, WRAP_ALG, randomBytes(256));
    } catch (err) {
      const c = classifyVaultError(err);
      if (c.failure === "missing-permissions") missing.push("unwrapKey");
    }
  }
  if (missing.length) throw new KeyAccessError("missing-permissions", `missing ${missing.join(", ")}`, missing);
  return info!;
}

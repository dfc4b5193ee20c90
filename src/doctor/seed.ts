import type { Cause } from "./types.js";

/**
 * The seed's errors ("Identify and resolve common errors", shared/seed/tde-cmk-akv-common-errors.md) and the
 * codes tdekv's probe reports for the causes the seed lists without its own message (sql/protector-ops.ts
 * maps cause → code the same way; the doctor must name what the Activity Log and the probe name).
 */
export interface SeedError {
  status: number;
  code: string;
  message: string;
  seed: string;
}

const NO_IDENTITY: SeedError = {
  status: 401,
  code: "AzureKeyVaultNoServerIdentity",
  message: "The server identity is not correctly configured on server. Please contact support.",
  seed: "Missing server identity",
};
const CONNECTION_FAILED: SeedError = {
  status: 503,
  code: "AzureKeyVaultConnectionFailed",
  message: "The operation could not be completed on the server because attempts to connect to Azure Key Vault have failed.",
  seed: "Missing key vault",
};
const KEY_NOT_FOUND: SeedError = {
  status: 404,
  code: "ServerKeyNotFound",
  message: "The requested server key was not found on the current subscription.",
  seed: "Missing key",
};
const MISSING_PERMISSIONS: SeedError = {
  status: 401,
  code: "AzureKeyVaultMissingPermissions",
  message: "The server is missing required permissions on the Azure Key Vault.",
  seed: "Missing permissions",
};
const KEY_DISABLED: SeedError = {
  status: 400,
  code: "AzureKeyVaultKeyDisabled",
  message: "The operation could not be completed on the server because the Azure Key Vault key is disabled.",
  seed: "Missing key (the key was disabled)",
};
const EXPIRATION: SeedError = {
  status: 400,
  code: "AzureKeyVaultInvalidExpirationDate",
  message: "The operation could not be completed because the Azure Key Vault key expiration date is invalid.",
  seed: "Missing key (the key expired)",
};
const RSA: SeedError = {
  status: 400,
  code: "AzureKeyVaultRsaKeyNotSupported",
  message: "The provided key vault uses unsupported RSA Key Size or Key Type. The supported RSA key size is 2048 or 3072 and Key Type is RSA or RSA-HSM.",
  seed: "Key requirements (azure-sql-tde.md §3)",
};
const RECOVERY: SeedError = {
  status: 400,
  code: "SecurityInvalidAzureKeyVaultRecoveryLevel",
  message: "The provided Key Vault uri is not valid. Please ensure the vault has the right Recovery Level other than 'Purgeable'.",
  seed: "Key vault requirements: soft delete and purge protection (azure-sql-tde.md §3)",
};

export const SEED_ERRORS: Record<Exclude<Cause, "healing" | "revalidation-needed">, SeedError> = {
  "identity-deleted": NO_IDENTITY,
  "moved-subscription": { ...NO_IDENTITY, seed: "Missing server identity (the server was moved to a different subscription)" },
  "moved-tenant": { ...NO_IDENTITY, seed: "Missing server identity (IMPORTANT: moved to a new tenant)" },
  "vault-deleted": CONNECTION_FAILED,
  "vault-missing": CONNECTION_FAILED,
  "firewall-no-trusted-services": { ...CONNECTION_FAILED, seed: "Missing key vault (the firewall doesn't allow Microsoft services)" },
  "network-error": { ...CONNECTION_FAILED, seed: "Missing key vault (an intermittent network error)" },
  "key-deleted": KEY_NOT_FOUND,
  "key-missing": KEY_NOT_FOUND,
  "key-disabled": KEY_DISABLED,
  "key-expired": EXPIRATION,
  "key-not-yet-valid": { ...EXPIRATION, seed: "Missing key (the key is not yet valid)" },
  "key-unsupported": RSA,
  "recovery-level": RECOVERY,
  "permissions-insufficient": MISSING_PERMISSIONS,
  "permissions-revoked": { ...MISSING_PERMISSIONS, seed: "Missing permissions (revoked from the key vault)" },
};

/** What an Activity Log errorCode means, when the configuration checks no longer show the cause. */
export function seedErrorForCode(code: string | undefined): SeedError | undefined {
  if (!code) return undefined;
  return Object.values(SEED_ERRORS).find((e) => e.code === code);
}

/** Seed "Introduction": the window in which a database heals by itself. */
export const SEED_WINDOW_MS = 30 * 60 * 1000;

/** The key-vault role that grants exactly get, wrapKey and unwrapKey (azure-sql-tde.md §3). */
export const CRYPTO_SERVICE_ENCRYPTION_USER = { name: "Key Vault Crypto Service Encryption User", guid: "e147488a-f6f5-4113-8e2d-b22465e65bf6" };

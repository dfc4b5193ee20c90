import { ArmError } from "../../arm/index.js";

/**
 * Microsoft.Sql's TDE / Key Vault errors (seed "Identify and resolve common errors"; azure-sql-tde.md §2).
 * Where the seed and the current swagger disagree on the status (401 vs 400 for NoServerIdentity and
 * MissingPermissions), the seed wins: see docs/fidelity.md.
 */
export const sqlErrors = {
  noServerIdentity: (server: string) =>
    new ArmError(401, "AzureKeyVaultNoServerIdentity", `The server identity is not correctly configured on server '${server}'. Please contact support.`),
  missingPermissions: (server: string, missing: string[]) =>
    new ArmError(
      401,
      "AzureKeyVaultMissingPermissions",
      `The server '${server}' is missing required permissions on the Azure Key Vault. The server identity needs the key permissions get, wrapKey and unwrapKey; missing: ${missing.join(", ")}.`,
    ),
  connectionFailed: (server: string, detail: string) =>
    new ArmError(503, "AzureKeyVaultConnectionFailed", `The operation could not be completed on the server '${server}' because attempts to connect to Azure Key Vault have failed. ${detail}`.trim()),
  serverKeyNotFound: () => new ArmError(404, "ServerKeyNotFound", "The requested server key was not found on the current subscription."),
  serverKeyDoesNotExist: () => new ArmError(409, "ServerKeyDoesNotExists", "The server key does not exist."),
  keyNameNotFound: (kid: string) => new ArmError(409, "AzureKeyVaultKeyNameNotFound", `The operation could not be completed because the Azure Key Vault Key name '${kid}' does not exist.`),
  keyDisabled: () => new ArmError(400, "AzureKeyVaultKeyDisabled", "The operation could not be completed on the server because the Azure Key Vault key is disabled."),
  invalidExpiration: () =>
    new ArmError(400, "AzureKeyVaultInvalidExpirationDate", "The operation could not be completed because the Azure Key Vault key expiration date is invalid."),
  rsaKeyNotSupported: () =>
    new ArmError(
      400,
      "AzureKeyVaultRsaKeyNotSupported",
      "The provided key vault uses unsupported RSA Key Size or Key Type. The supported RSA key size is 2048 or 3072 and Key Type is RSA or RSA-HSM.",
    ),
  invalidRecoveryLevel: (kid: string) =>
    new ArmError(
      400,
      "SecurityInvalidAzureKeyVaultRecoveryLevel",
      `The provided Key Vault uri '${kid}' is not valid. Please ensure the vault has the right Recovery Level other than 'Purgeable'.`,
    ),
  invalidKeyName: () => new ArmError(400, "InvalidKeyName", "An invalid value was given for the server key name."),
  malformedVaultUri: () => new ArmError(400, "AzureKeyVaultMalformedVaultUri", "The provided Key Vault uri is not valid."),
  invalidKeyType: () => new ArmError(400, "InvalidKeyType", "The create server key type is not supported."),
  invalidUpsertKeyType: () =>
    new ArmError(400, "InvalidUpsertKeyType", "Service-managed TDE keys are managed by the service. Service-managed TDE keys don't support Create or Update by the user."),
  invalidKeyUpsertRequest: () => new ArmError(400, "InvalidKeyUpsertRequest", "The create server key request does not exist or has no properties object."),
  invalidProtectorName: () => new ArmError(400, "InvalidEncryptionProtectorName", "The encryption protector key name is not supported."),
  keyInUse: () => new ArmError(409, "AzureKeyVaultKeyInUse", "The key is currently being used by the server."),
  keyThumbprintDifferent: () =>
    new ArmError(400, "AzureKeyVaultKeyThumbprintIsDifferent", "The operation could not be completed because the Azure Key Vault Key material is different than the current encryption protector key."),
  uriAlreadyExists: () => new ArmError(409, "ServerKeyUriAlreadyExists", "A server key with this uri already exists."),
  cmkOperationNotAllowed: () =>
    new ArmError(400, "CMKOperationNotAllowed", "User tried to perform an operation on the server when the server did not have Azure Key Vault Access."),
  missingIdentityId: () => new ArmError(400, "MissingIdentityId", "The list of user assigned identities is missing or empty for identity type 'UserAssigned'."),
  invalidPrimaryIdentity: () => new ArmError(400, "InvalidPrimaryIdentityId", "The primary user assigned identity is not in the list of user assigned identities of the server."),
  missingPrimaryIdentity: () => new ArmError(400, "MissingPrimaryIdentity", "The primary user assigned identity id must be provided when more than one user assigned identity is given."),
  invalidIdentityTypeForKeyId: () =>
    new ArmError(400, "InvalidIdentityTypeForKeyId", "KeyId is provided by user during create but identity type is not set to 'UserAssigned'."),
  primaryIdentityMissingForKeyId: () =>
    new ArmError(400, "PrimaryIdentityMissingPermissionForKeyId", "KeyId is provided by user during create but PrimaryUserAssignedIdentityId is not provided in the API call."),
  identityNotFound: (id: string) => new ArmError(400, "InvalidIdentity", `The user assigned identity '${id}' could not be found.`),
  serverNameInUse: (name: string) => new ArmError(409, "ServerAlreadyExists", `The server '${name}' already exists. Choose a different server name.`),
  invalidServerName: (name: string) =>
    new ArmError(400, "InvalidServerName", `Invalid server name '${name}': server names must be 1-63 lower-case letters, digits and hyphens, and may not start or end with a hyphen.`),
  invalidDatabaseName: (name: string) => new ArmError(400, "InvalidDatabaseName", `The database name '${name}' is invalid.`),
  databaseInaccessible: (db: string, server: string) =>
    new ArmError(
      400,
      "DatabaseInaccessible",
      `Database '${db}' on server '${server}' is inaccessible because the server lost access to its Azure Key Vault key. The only operation allowed on an inaccessible database is deleting it.`,
    ),
  databaseUnavailable: () => new ArmError(503, "DatabaseUnavailable", "The operation failed because the database is unavailable."),
  invalidIdentityType: (type: string) =>
    new ArmError(400, "InvalidIdentityType", `The identity type '${type}' is not supported. Use None, SystemAssigned, UserAssigned or 'SystemAssigned,UserAssigned'.`),
  invalidTdeState: (state: string) => new ArmError(400, "InvalidParameterValue", `Invalid value given for parameter state: '${state}'. Specify 'Enabled' or 'Disabled'.`),
};

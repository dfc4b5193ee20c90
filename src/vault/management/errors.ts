import { ArmError } from "../../arm/index.js";

/**
 * Microsoft.KeyVault and Microsoft.Authorization errors, in one catalog, as ARM `CloudError`s
 * (keyvault.md §2.5). Codes and messages are Azure's where a public trace of them exists (the issue
 * threads cited per entry); entries marked "wording unverified" keep Azure's code family and shape but the
 * exact sentence was not found in public material (see docs/designs/2026-11-28-vault-management.md).
 */
const SOFT_DELETE_LINK = "https://go.microsoft.com/fwlink/?linkid=2149745";

export const kvErrors = {
  /** Azure/azure-powershell#15115, Esri/arcgis-gitops#174 (current wording, with "globally"). */
  vaultAlreadyExists: (name: string) =>
    new ArmError(
      409,
      "VaultAlreadyExists",
      `The vault name '${name}' is already in use. Vault names are globally unique so it is possible that the name is already taken. If you are sure that the vault name was not taken then it is possible that a vault with the same name was recently deleted but not purged after being placed in a recoverable state. If the vault is in a recoverable state then the vault will need to be purged before reusing the name. For more information about VaultAlreadyExists, soft delete and purging a vault follow this link https://go.microsoft.com/fwlink/?linkid=2147740.`,
    ),
  /** Same subscription, soft-deleted vault of that name: alan-turing-institute/data-safe-haven#2523, Azure/azure-dev#1431. */
  deletedVaultConflict: () =>
    new ArmError(
      409,
      "ConflictError",
      `A vault with the same name already exists in deleted state. You need to either recover or purge existing key vault. Follow this link ${SOFT_DELETE_LINK} for more information on soft delete.`,
    ),
  /** common-error-codes.md lists VaultNameNotValid; the sentence follows Azure's naming rule text. */
  vaultNameNotValid: (name: string) =>
    new ArmError(
      400,
      "VaultNameNotValid",
      `The vault name '${name}' is invalid. A vault's name must be between 3-24 alphanumeric characters. The name must begin with a letter, end with a letter or digit, and not contain consecutive hyphens. Follow this link for more information: https://go.microsoft.com/fwlink/?linkid=2147742`,
    ),
  /** Azure/azure-rest-api-specs#18106, Azure/ai-hub#241: explicit false is refused, on create too. */
  purgeProtectionIrreversible: () =>
    new ArmError(400, "BadRequest", 'The property "enablePurgeProtection" cannot be set to false. Enabling the purge protection for a vault is an irreversible action.'),
  /** Same family as the purge-protection message (wording unverified). */
  softDeleteIrreversible: () =>
    new ArmError(400, "BadRequest", 'The property "enableSoftDelete" cannot be set to false. Enabling the soft delete for a vault is an irreversible action.'),
  /** Wording unverified. */
  purgeProtectionNeedsSoftDelete: () =>
    new ArmError(400, "BadRequest", 'The property "enablePurgeProtection" can only be set to true on a vault that has "enableSoftDelete" set to true.'),
  /** 7..90 days (MGMT VaultProperties.softDeleteRetentionInDays); wording unverified. */
  invalidRetention: (value: unknown) =>
    new ArmError(400, "BadRequest", `The specified value '${String(value)}' for 'softDeleteRetentionInDays' is invalid. It must be an integer between 7 and 90.`),
  /** "Once set, the retention policy interval cannot be changed" (soft-delete-overview.md); wording unverified. */
  retentionImmutable: () =>
    new ArmError(400, "BadRequest", 'The property "softDeleteRetentionInDays" has been set already and it can\'t be modified.'),
  /** Azure/azure-libraries-for-net#361, Azure/azure-cli#17503: a bad permission name. */
  invalidAccessPolicies: () => new ArmError(400, "BadRequest", "An invalid value was provided for 'accessPolicies'."),
  /** alexander-kastil/az-204#142. */
  invalidAccessPolicyField: (index: number, field: string, value: unknown) =>
    new ArmError(400, "BadRequest", `Invalid value found at accessPolicies[${index}].${field}: ${String(value)}`),
  tooManyAccessPolicies: (max: number) =>
    new ArmError(400, "BadRequest", `The number of access policies exceeds the maximum of ${max} allowed for a vault.`),
  /** Same family as 'accessPolicies' (wording unverified): tenantId, sku, networkAcls, publicNetworkAccess... */
  invalidValue: (property: string) => new ArmError(400, "BadRequest", `An invalid value was provided for '${property}'.`),
  propertiesRequired: () => new ArmError(400, "BadRequest", "The 'properties' property is required."),
  /** Wording unverified; terraform-provider-azurerm#12972 shows the code. */
  softDeletedVaultDoesNotExist: (name: string) =>
    new ArmError(
      400,
      "SoftDeletedVaultDoesNotExist",
      `A soft deleted vault with the name '${name}' does not exist. Ensure that the name for the vault that is being attempted to recover is in a recoverable state. For more information on soft delete please follow this link ${SOFT_DELETE_LINK}.`,
    ),
  /** ARM's proxy-resource 404 for deletedVaults. */
  deletedVaultNotFound: (location: string, name: string) =>
    new ArmError(404, "ResourceNotFound", `The Resource 'Microsoft.KeyVault/locations/${location}/deletedVaults/${name}' under resource group '<null>' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`),
  /** microsoft/AzureTRE#1446, Azure/azure-sdk-tools#9329 (code and message; the status is not shown there). */
  purgeNotAllowed: () => new ArmError(405, "MethodNotAllowed", "Operation 'DeletedVaultPurge' is not allowed."),
  invalidOperationKind: (kind: string) =>
    new ArmError(400, "BadRequest", `The operation kind '${kind}' is invalid. It must be one of 'add', 'replace' or 'remove'.`),

  // Microsoft.Authorization (role assignments and definitions).
  /** Azure's PrincipalNotFound, as printed by az and the SDKs (docs: aka.ms/docs-principaltype). */
  principalNotFound: (principalId: string, tenantId: string) =>
    new ArmError(
      400,
      "PrincipalNotFound",
      `Principal ${principalId.replace(/-/g, "")} does not exist in the directory ${tenantId}. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype`,
    ),
  /** az's idempotency check matches "role assignment already exists" on a 409 (role/custom.py). */
  roleAssignmentExists: () => new ArmError(409, "RoleAssignmentExists", "The role assignment already exists."),
  roleAssignmentUpdateNotPermitted: () =>
    new ArmError(400, "RoleAssignmentUpdateNotPermitted", "Tenant ID, application ID, principal ID, and scope are not allowed to be updated."),
  invalidRoleAssignmentId: (name: string) =>
    new ArmError(400, "InvalidRoleAssignmentId", `The role assignment ID '${name}' is not valid. The role assignment ID must be a GUID.`),
  roleAssignmentNotFound: (name: string) => new ArmError(404, "RoleAssignmentNotFound", `The role assignment '${name}' is not found.`),
  roleDefinitionDoesNotExist: (id: string, status = 400) =>
    new ArmError(status, "RoleDefinitionDoesNotExist", `The specified role definition with ID '${id}' does not exist.`),
  invalidPrincipalId: (value: unknown) =>
    new ArmError(400, "InvalidPrincipalId", `A valid principal ID must be provided for role assignment. The principal ID '${String(value)}' is not valid.`),
  invalidPrincipalType: (value: unknown) =>
    new ArmError(400, "InvalidPrincipalType", `The principal type '${String(value)}' is not valid. It must be one of User, Group, ServicePrincipal, ForeignGroup, Device.`),
  unsupportedFilter: (filter: string) => new ArmError(400, "UnsupportedQuery", `The filter '${filter}' is not supported.`),
  customRolesNotSupported: () =>
    new ArmError(405, "MethodNotAllowed", "tdekv serves Azure's built-in role definitions only; custom role definitions cannot be created or deleted."),
};

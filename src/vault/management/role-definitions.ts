/**
 * Azure's built-in role definitions that matter for Key Vault, with their real GUIDs, actions and
 * dataActions, copied from MicrosoftDocs/azure-docs articles/role-based-access-control/built-in-roles/
 * security.md (and general.md for Owner/Contributor/Reader). Only built-in roles exist in tdekv.
 */
export interface RoleDefinition {
  guid: string;
  roleName: string;
  description: string;
  actions: string[];
  notActions: string[];
  dataActions: string[];
  notDataActions: string[];
}

const KV_MGMT_READ = [
  "Microsoft.Authorization/*/read",
  "Microsoft.Insights/alertRules/*",
  "Microsoft.Resources/deployments/*",
  "Microsoft.Resources/subscriptions/resourceGroups/read",
  "Microsoft.Support/*",
  "Microsoft.KeyVault/checkNameAvailability/read",
  "Microsoft.KeyVault/deletedVaults/read",
  "Microsoft.KeyVault/locations/*/read",
  "Microsoft.KeyVault/vaults/*/read",
  "Microsoft.KeyVault/operations/read",
];
const RBAC_ONLY = "Only works for key vaults that use the 'Azure role-based access control' permission model.";

export const BUILT_IN_ROLES: RoleDefinition[] = [
  {
    guid: "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    roleName: "Owner",
    description: "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.",
    actions: ["*"],
    notActions: [],
    dataActions: [],
    notDataActions: [],
  },
  {
    guid: "b24988ac-6180-42a0-ab88-20f7382dd24c",
    roleName: "Contributor",
    description: "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC, manage assignments in Azure Blueprints, or share image galleries.",
    actions: ["*"],
    notActions: [
      "Microsoft.Authorization/*/Delete",
      "Microsoft.Authorization/*/Write",
      "Microsoft.Authorization/elevateAccess/Action",
      "Microsoft.Blueprint/blueprintAssignments/write",
      "Microsoft.Blueprint/blueprintAssignments/delete",
      "Microsoft.Compute/galleries/share/action",
      "Microsoft.Purview/consents/write",
      "Microsoft.Purview/consents/delete",
    ],
    dataActions: [],
    notDataActions: [],
  },
  {
    guid: "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    roleName: "Reader",
    description: "View all resources, but does not allow you to make any changes.",
    actions: ["*/read"],
    notActions: [],
    dataActions: [],
    notDataActions: [],
  },
  {
    guid: "00482a5a-887f-4fb3-b363-3b7fe8e74483",
    roleName: "Key Vault Administrator",
    description: `Perform all data plane operations on a key vault and all objects in it, including certificates, keys, and secrets. Cannot manage key vault resources or manage role assignments. ${RBAC_ONLY}`,
    actions: KV_MGMT_READ,
    notActions: [],
    dataActions: ["Microsoft.KeyVault/vaults/*"],
    notDataActions: [],
  },
  {
    guid: "f25e0fa2-a7c8-4377-a976-54943a77a395",
    roleName: "Key Vault Contributor",
    description: "Lets you manage key vaults, but not access to them.",
    actions: ["Microsoft.Authorization/*/read", "Microsoft.Insights/alertRules/*", "Microsoft.KeyVault/*", "Microsoft.Resources/deployments/*", "Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.Support/*"],
    notActions: ["Microsoft.KeyVault/locations/deletedVaults/purge/action", "Microsoft.KeyVault/hsmPools/*", "Microsoft.KeyVault/managedHsms/*"],
    dataActions: [],
    notDataActions: [],
  },
  {
    guid: "14b46e9e-c2b7-41b4-b07b-48a6ebf60603",
    roleName: "Key Vault Crypto Officer",
    description: `Perform any action on the keys of a key vault, except manage permissions. ${RBAC_ONLY}`,
    actions: KV_MGMT_READ,
    notActions: [],
    dataActions: ["Microsoft.KeyVault/vaults/keys/*", "Microsoft.KeyVault/vaults/keyrotationpolicies/*"],
    notDataActions: [],
  },
  {
    guid: "e147488a-f6f5-4113-8e2d-b22465e65bf6",
    roleName: "Key Vault Crypto Service Encryption User",
    description: `Read metadata of keys and perform wrap/unwrap operations. ${RBAC_ONLY}`,
    actions: ["Microsoft.EventGrid/eventSubscriptions/write", "Microsoft.EventGrid/eventSubscriptions/read", "Microsoft.EventGrid/eventSubscriptions/delete"],
    notActions: [],
    dataActions: ["Microsoft.KeyVault/vaults/keys/read", "Microsoft.KeyVault/vaults/keys/wrap/action", "Microsoft.KeyVault/vaults/keys/unwrap/action"],
    notDataActions: [],
  },
  {
    guid: "08bbd89e-9f13-488c-ac41-acfcb10c90ab",
    roleName: "Key Vault Crypto Service Release User",
    description: `Release keys. ${RBAC_ONLY}`,
    actions: [],
    notActions: [],
    dataActions: ["Microsoft.KeyVault/vaults/keys/release/action"],
    notDataActions: [],
  },
  {
    guid: "12338af0-0e69-4776-bea7-57ae8d297424",
    roleName: "Key Vault Crypto User",
    description: `Perform cryptographic operations using keys. ${RBAC_ONLY}`,
    actions: [],
    notActions: [],
    dataActions: [
      "Microsoft.KeyVault/vaults/keys/read",
      "Microsoft.KeyVault/vaults/keys/update/action",
      "Microsoft.KeyVault/vaults/keys/backup/action",
      "Microsoft.KeyVault/vaults/keys/encrypt/action",
      "Microsoft.KeyVault/vaults/keys/decrypt/action",
      "Microsoft.KeyVault/vaults/keys/wrap/action",
      "Microsoft.KeyVault/vaults/keys/unwrap/action",
      "Microsoft.KeyVault/vaults/keys/sign/action",
      "Microsoft.KeyVault/vaults/keys/verify/action",
    ],
    notDataActions: [],
  },
  {
    guid: "21090545-7ca7-4776-b22c-e363652d74d2",
    roleName: "Key Vault Reader",
    description: `Read metadata of key vaults and its certificates, keys, and secrets. Cannot read sensitive values such as secret contents or key material. ${RBAC_ONLY}`,
    actions: KV_MGMT_READ,
    notActions: [],
    dataActions: ["Microsoft.KeyVault/vaults/*/read", "Microsoft.KeyVault/vaults/secrets/readMetadata/action"],
    notDataActions: [],
  },
  {
    guid: "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
    roleName: "Key Vault Secrets Officer",
    description: `Perform any action on the secrets of a key vault, except manage permissions. ${RBAC_ONLY}`,
    actions: KV_MGMT_READ,
    notActions: [],
    dataActions: ["Microsoft.KeyVault/vaults/secrets/*"],
    notDataActions: [],
  },
  {
    guid: "4633458b-17de-408a-b874-0445c86b69e6",
    roleName: "Key Vault Secrets User",
    description: `Read secret contents. ${RBAC_ONLY}`,
    actions: [],
    notActions: [],
    dataActions: ["Microsoft.KeyVault/vaults/secrets/getSecret/action", "Microsoft.KeyVault/vaults/secrets/readMetadata/action"],
    notDataActions: [],
  },
];

const BY_GUID = new Map(BUILT_IN_ROLES.map((r) => [r.guid, r]));

export const findRole = (guid: string): RoleDefinition | undefined => BY_GUID.get(guid.toLowerCase());
export const findRoleByName = (name: string): RoleDefinition | undefined => BUILT_IN_ROLES.find((r) => r.roleName.toLowerCase() === name.toLowerCase());

/**
 * Every Key Vault (vaults) data action, from permissions/security.md "Microsoft.KeyVault" DataActions.
 * Role patterns ("Microsoft.KeyVault/vaults/keys/*") are expanded against this list, so callers compare
 * concrete actions.
 */
export const KEY_VAULT_DATA_ACTIONS = [
  "Microsoft.KeyVault/vaults/certificatecas/delete",
  "Microsoft.KeyVault/vaults/certificatecas/read",
  "Microsoft.KeyVault/vaults/certificatecas/write",
  "Microsoft.KeyVault/vaults/certificatecontacts/write",
  "Microsoft.KeyVault/vaults/certificates/delete",
  "Microsoft.KeyVault/vaults/certificates/read",
  "Microsoft.KeyVault/vaults/certificates/backup/action",
  "Microsoft.KeyVault/vaults/certificates/purge/action",
  "Microsoft.KeyVault/vaults/certificates/update/action",
  "Microsoft.KeyVault/vaults/certificates/create/action",
  "Microsoft.KeyVault/vaults/certificates/import/action",
  "Microsoft.KeyVault/vaults/certificates/recover/action",
  "Microsoft.KeyVault/vaults/certificates/restore/action",
  "Microsoft.KeyVault/vaults/keyrotationpolicies/read",
  "Microsoft.KeyVault/vaults/keyrotationpolicies/write",
  "Microsoft.KeyVault/vaults/keys/read",
  "Microsoft.KeyVault/vaults/keys/update/action",
  "Microsoft.KeyVault/vaults/keys/create/action",
  "Microsoft.KeyVault/vaults/keys/import/action",
  "Microsoft.KeyVault/vaults/keys/recover/action",
  "Microsoft.KeyVault/vaults/keys/restore/action",
  "Microsoft.KeyVault/vaults/keys/delete",
  "Microsoft.KeyVault/vaults/keys/backup/action",
  "Microsoft.KeyVault/vaults/keys/purge/action",
  "Microsoft.KeyVault/vaults/keys/encrypt/action",
  "Microsoft.KeyVault/vaults/keys/decrypt/action",
  "Microsoft.KeyVault/vaults/keys/wrap/action",
  "Microsoft.KeyVault/vaults/keys/unwrap/action",
  "Microsoft.KeyVault/vaults/keys/sign/action",
  "Microsoft.KeyVault/vaults/keys/verify/action",
  "Microsoft.KeyVault/vaults/keys/release/action",
  "Microsoft.KeyVault/vaults/keys/rotate/action",
  "Microsoft.KeyVault/vaults/secrets/delete",
  "Microsoft.KeyVault/vaults/secrets/backup/action",
  "Microsoft.KeyVault/vaults/secrets/purge/action",
  "Microsoft.KeyVault/vaults/secrets/update/action",
  "Microsoft.KeyVault/vaults/secrets/recover/action",
  "Microsoft.KeyVault/vaults/secrets/restore/action",
  "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
  "Microsoft.KeyVault/vaults/secrets/getSecret/action",
  "Microsoft.KeyVault/vaults/secrets/setSecret/action",
  "Microsoft.KeyVault/vaults/storageaccounts/read",
  "Microsoft.KeyVault/vaults/storageaccounts/set/action",
  "Microsoft.KeyVault/vaults/storageaccounts/delete",
  "Microsoft.KeyVault/vaults/storageaccounts/backup/action",
  "Microsoft.KeyVault/vaults/storageaccounts/purge/action",
  "Microsoft.KeyVault/vaults/storageaccounts/regeneratekey/action",
  "Microsoft.KeyVault/vaults/storageaccounts/recover/action",
  "Microsoft.KeyVault/vaults/storageaccounts/restore/action",
  "Microsoft.KeyVault/vaults/storageaccounts/sas/set/action",
  "Microsoft.KeyVault/vaults/storageaccounts/sas/delete",
  "Microsoft.KeyVault/vaults/storageaccounts/sas/read",
];

/** Azure RBAC action patterns: case-insensitive, `*` matches any run of characters (slashes included). */
export function actionMatches(pattern: string, action: string): boolean {
  const re = new RegExp(`^${pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`, "i");
  return re.test(action);
}

/** The concrete Key Vault data actions a set of roles grants (dataActions minus notDataActions). */
export function dataActionsOf(roles: RoleDefinition[]): string[] {
  return KEY_VAULT_DATA_ACTIONS.filter((action) =>
    roles.some((r) => r.dataActions.some((p) => actionMatches(p, action)) && !r.notDataActions.some((p) => actionMatches(p, action))),
  );
}

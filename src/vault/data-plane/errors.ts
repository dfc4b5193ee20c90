import { DomainError, type SurfaceResponse } from "../../platform/index.js";

/**
 * The Key Vault data plane's error catalog, in one place (keyvault.md §1.7). Domain code throws
 * KeyVaultError through the factories below; the HTTP edge renders `{error:{code,message,innererror}}`
 * with `toWireError`, and tdekv's own services (issue 4/5) match on `reason` and `detail` instead of text.
 * Messages are Key Vault's where the reference quotes them; entries marked "unverified" are our best
 * rendering of a case the reference could not pin down (keyvault.md §7).
 */
export type KeyVaultErrorReason =
  | "vault-not-found"
  | "unauthenticated"
  | "token-rejected"
  | "wrong-tenant"
  | "firewall"
  | "permission-denied"
  | "key-not-found"
  | "deleted-key-not-found"
  | "key-disabled"
  | "key-expired"
  | "key-not-yet-valid"
  | "operation-not-permitted"
  | "bad-parameter"
  | "name-deleted-but-recoverable"
  | "conflict"
  | "purge-protected"
  | "path-not-found"
  | "method-not-allowed"
  | "internal";

export interface KeyVaultErrorDetail {
  /** vault-not-found: the name belongs to a soft-deleted vault (when the registry can tell). */
  deleted?: boolean;
  /** token-rejected: TokenRejected.reason (expired, audience, signature, ...). */
  tokenReason?: string;
  /** permission-denied: the access-policy permission or RBAC data action that was missing. */
  permission?: string;
  action?: string;
  model?: "accessPolicy" | "rbac";
  /** firewall: the address refused; `connection` when publicNetworkAccess is Disabled. */
  clientAddress?: string;
  connection?: boolean;
  /** key-*: which key and operation. */
  keyName?: string;
  version?: string;
  operation?: string;
}

export class KeyVaultError extends DomainError {
  readonly kind = "key-vault";
  constructor(
    readonly reason: KeyVaultErrorReason,
    readonly status: number,
    readonly code: string,
    message: string,
    readonly innerCode?: string,
    readonly detail: KeyVaultErrorDetail = {},
  ) {
    super(message);
  }
}

/** Caller as Key Vault prints it in 403 messages. */
export const callerString = (c: { appid: string; oid: string; tid: string }): string =>
  `appid=${c.appid};oid=${c.oid};iss=https://sts.windows.net/${c.tid}/`;

/** Vault as Key Vault prints it in 403 messages. */
export const vaultString = (v: { name: string; location: string }): string => `${v.name};location=${v.location}`;

const KEY_NOT_FOUND_HELP =
  "If you recently deleted this key you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182";

/**
 * Access-policy denial inner code. Public dumps show "AccessDenied" (current service) and
 * "ForbiddenByPolicy" (older); keyvault.md §1.7 calls AccessDenied current, so we send that.
 */
export const ACCESS_POLICY_INNER_CODE = "AccessDenied";

export const kvErrors = {
  /**
   * Deviation: a deleted or unknown vault has no DNS name in Azure, so clients fail before any HTTP. tdekv
   * receives the request anyway (proxy or *.vault.localhost) and answers 404 VaultNotFound.
   */
  vaultNotFound: (name: string, deleted = false) =>
    new KeyVaultError(
      "vault-not-found",
      404,
      "VaultNotFound",
      deleted
        ? `The vault '${name}' is deleted (soft-deleted vaults are unreachable until recovered). In Azure its host name would not resolve; tdekv answers 404 instead.`
        : `No vault named '${name}' exists. In Azure the host name ${name}.vault.azure.net would not resolve; tdekv answers 404 instead.`,
      undefined,
      { deleted },
    ),
  unauthenticated: () => new KeyVaultError("unauthenticated", 401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token."),
  invalidAudience: (expected: string, found: string) =>
    new KeyVaultError("token-rejected", 401, "Unauthorized", `AKV10022: Invalid audience. Expected ${expected}, found: ${found}.`, undefined, { tokenReason: "audience" }),
  /** Unverified wording (keyvault.md lists only the status for expired tokens, D-ERR). */
  tokenExpired: (expiredAt?: string) =>
    new KeyVaultError("token-rejected", 401, "Unauthorized", `The access token is expired${expiredAt ? ` (it expired at ${expiredAt})` : ""}.`, undefined, { tokenReason: "expired" }),
  tokenInvalid: (reason: string) =>
    new KeyVaultError("token-rejected", 401, "Unauthorized", `The access token is not valid (${reason}).`, undefined, { tokenReason: reason }),
  wrongTenant: (vaultTenant: string, tokenTenant: string) =>
    new KeyVaultError(
      "wrong-tenant",
      401,
      "Unauthorized",
      `AKV10032: Invalid issuer. Expected one of https://sts.windows.net/${vaultTenant}/, found https://sts.windows.net/${tokenTenant}/.`,
    ),
  firewall: (clientAddress: string, caller: string, vault: string) =>
    new KeyVaultError(
      "firewall",
      403,
      "Forbidden",
      `Client address is not authorized and caller is not a trusted service.\r\nClient address: ${clientAddress}\r\nCaller: ${caller}\r\nVault: ${vault}`,
      "ForbiddenByFirewall",
      { clientAddress },
    ),
  /** publicNetworkAccess: Disabled. Key Vault reports it as ForbiddenByConnection (public az/portal output). */
  publicAccessDisabled: (clientAddress: string, caller: string, vault: string, bypass: string) =>
    new KeyVaultError(
      "firewall",
      403,
      "Forbidden",
      bypass === "AzureServices"
        ? `Public network access is disabled and request is not from a trusted service nor via an approved private link.\r\nCaller: ${caller}\r\nVault: ${vault}`
        : `Connection is not an approved private link and caller was ignored because bypass is not set to 'AzureServices' and PublicNetworkAccess is set to 'Disabled'.\r\nVault: ${vault}`,
      "ForbiddenByConnection",
      { clientAddress, connection: true },
    ),
  policyDenied: (caller: string, permission: string, vault: string) =>
    new KeyVaultError(
      "permission-denied",
      403,
      "Forbidden",
      `The user, group or application '${caller}' does not have keys ${permission} permission on key vault '${vault}'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287`,
      ACCESS_POLICY_INNER_CODE,
      { permission, model: "accessPolicy" },
    ),
  rbacDenied: (caller: string, action: string, resource: string, vault: string) =>
    new KeyVaultError(
      "permission-denied",
      403,
      "Forbidden",
      `Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\nCaller: ${caller}\r\nAction: '${action}'\r\nResource: '${resource.toLowerCase()}'\r\nAssignment: (not found)\r\nDenyAssignmentId: null\r\nDecisionReason: null \r\nVault: ${vault}\r\n`,
      "ForbiddenByRbac",
      { action, model: "rbac" },
    ),
  keyNotFound: (name: string, version?: string, deleted = false) =>
    new KeyVaultError("key-not-found", 404, "KeyNotFound", `A key with (name/id) ${version ? `${name}/${version}` : name} was not found in this key vault. ${KEY_NOT_FOUND_HELP}`, undefined, {
      keyName: name,
      ...(version ? { version } : {}),
      deleted,
    }),
  deletedKeyNotFound: (name: string) => new KeyVaultError("deleted-key-not-found", 404, "KeyNotFound", `Deleted Key not found: ${name}`, undefined, { keyName: name }),
  keyDisabled: (operation: string, name: string) =>
    new KeyVaultError("key-disabled", 403, "Forbidden", `Operation ${operation} is not allowed on a disabled key.`, "KeyDisabled", { operation, keyName: name }),
  /** Status per D-KEYS; inner code and wording unverified (keyvault.md §7 item 3). */
  keyExpired: (operation: string, name: string) =>
    new KeyVaultError("key-expired", 403, "Forbidden", `Operation ${operation} is not allowed on an expired key.`, "KeyExpired", { operation, keyName: name }),
  keyNotYetValid: (operation: string, name: string) =>
    new KeyVaultError("key-not-yet-valid", 403, "Forbidden", `Operation ${operation} is not allowed on a key that is not yet valid.`, "KeyNotYetValid", { operation, keyName: name }),
  operationNotPermitted: (operation: string, name: string) =>
    new KeyVaultError("operation-not-permitted", 403, "Forbidden", `Operation ${operation} is not permitted on this key.`, "KeyOperationForbidden", { operation, keyName: name }),
  badParameter: (message: string) => new KeyVaultError("bad-parameter", 400, "BadParameter", message),
  invalidName: (name: string) => new KeyVaultError("bad-parameter", 400, "BadParameter", `The request URI contains an invalid name: ${name}`),
  nameDeletedButRecoverable: (name: string) =>
    new KeyVaultError(
      "name-deleted-but-recoverable",
      409,
      "Conflict",
      `Key ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the key can only be recovered or purged.`,
      "ObjectIsDeletedButRecoverable",
      { keyName: name },
    ),
  keyAlreadyExists: (name: string) =>
    new KeyVaultError("conflict", 409, "Conflict", `Key ${name} already exists. A backup can only be restored under a name that is not in use.`, undefined, { keyName: name }),
  purgeProtected: (vault: string) =>
    new KeyVaultError(
      "purge-protected",
      403,
      "Forbidden",
      `Operation "purge" is not allowed because purge protection is enabled for this vault. Key Vault service will automatically purge it after the retention period has passed.\r\nVault: ${vault}`,
    ),
  pathNotFound: (method: string, path: string) =>
    new KeyVaultError("path-not-found", 404, "NotFound", `tdekv's Key Vault serves keys only; there is no operation ${method} ${path}.`),
  methodNotAllowed: (method: string, path: string) => new KeyVaultError("method-not-allowed", 405, "MethodNotAllowed", `The method ${method} is not allowed on ${path}.`),
};

/** Key Vault's wire envelope (keyvault.md §1.7): `{error:{code,message,innererror}}`. */
export function toWireError(err: KeyVaultError, headers: Record<string, string> = {}): SurfaceResponse {
  const error: Record<string, unknown> = { code: err.code, message: err.message };
  if (err.innerCode) error.innererror = { code: err.innerCode };
  return { status: err.status, headers, body: { error } };
}

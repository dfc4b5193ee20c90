import type { AccessPolicyEntry } from "../../vault-registry.js";

/**
 * What each data-plane operation needs: the access-policy key permission (MGMT AccessPolicyEntry enum,
 * keyvault.md §2.5) and the RBAC data action(s) (keyvault.md §2.5 "RBAC data actions"). Where the public
 * operation list and our brief name an action differently, every candidate is accepted and the first is
 * the one a denial names, so role definitions written either way keep working.
 */
export type KeyOperationName =
  | "get"
  | "list"
  | "create"
  | "update"
  | "import"
  | "delete"
  | "recover"
  | "backup"
  | "restore"
  | "purge"
  | "encrypt"
  | "decrypt"
  | "wrapKey"
  | "unwrapKey"
  | "sign"
  | "verify"
  | "rotate"
  | "getrotationpolicy"
  | "setrotationpolicy"
  | "getDeleted"
  | "listDeleted"
  | "rng";

export interface OperationRule {
  /** Access-policy key permission, as Key Vault prints it in denials; undefined = any authenticated caller. */
  permission?: string;
  /** RBAC data actions, any of which grants the operation. */
  actions: string[];
}

const A = "Microsoft.KeyVault/vaults";

export const OPERATION_RULES: Record<KeyOperationName, OperationRule> = {
  get: { permission: "get", actions: [`${A}/keys/read`] },
  list: { permission: "list", actions: [`${A}/keys/read`] },
  create: { permission: "create", actions: [`${A}/keys/create/action`] },
  update: { permission: "update", actions: [`${A}/keys/update/action`] },
  import: { permission: "import", actions: [`${A}/keys/import/action`] },
  delete: { permission: "delete", actions: [`${A}/keys/delete`] },
  recover: { permission: "recover", actions: [`${A}/keys/recover/action`, `${A}/deletedKeys/recover/action`] },
  backup: { permission: "backup", actions: [`${A}/keys/backup/action`] },
  restore: { permission: "restore", actions: [`${A}/keys/restore/action`] },
  purge: { permission: "purge", actions: [`${A}/keys/purge/action`, `${A}/deletedKeys/delete`] },
  encrypt: { permission: "encrypt", actions: [`${A}/keys/encrypt/action`] },
  decrypt: { permission: "decrypt", actions: [`${A}/keys/decrypt/action`] },
  wrapKey: { permission: "wrapKey", actions: [`${A}/keys/wrap/action`] },
  unwrapKey: { permission: "unwrapKey", actions: [`${A}/keys/unwrap/action`] },
  sign: { permission: "sign", actions: [`${A}/keys/sign/action`] },
  verify: { permission: "verify", actions: [`${A}/keys/verify/action`] },
  rotate: { permission: "rotate", actions: [`${A}/keys/rotate/action`] },
  getrotationpolicy: { permission: "getrotationpolicy", actions: [`${A}/keyrotationpolicies/read`] },
  setrotationpolicy: { permission: "setrotationpolicy", actions: [`${A}/keyrotationpolicies/write`] },
  getDeleted: { permission: "get", actions: [`${A}/keys/read`, `${A}/deletedKeys/read`] },
  listDeleted: { permission: "list", actions: [`${A}/keys/read`, `${A}/deletedKeys/read`] },
  rng: { actions: [] },
};

const eq = (a: string | undefined, b: string | undefined) => (a ?? "").toLowerCase() === (b ?? "").toLowerCase();

/**
 * Access policies (keyvault.md §2.4): an entry applies when tenant and object id match; an entry with an
 * applicationId is a compound identity and applies only when the token's appid is that application.
 * Permissions of all applying entries add up; names compare case-insensitively; "all" grants everything.
 */
export function policyPermits(policies: readonly AccessPolicyEntry[], caller: { tid: string; oid: string; appid: string }, permission: string): boolean {
  for (const entry of policies) {
    if (!eq(entry.tenantId, caller.tid) || !eq(entry.objectId, caller.oid)) continue;
    if (entry.applicationId && !eq(entry.applicationId, caller.appid)) continue;
    for (const p of entry.permissions.keys ?? []) {
      if (eq(p, permission) || eq(p, "all")) return true;
    }
  }
  return false;
}

const patternCache = new Map<string, RegExp>();

/** ARM action patterns: `*` matches any run of characters, comparison is case-insensitive. */
export function actionMatches(pattern: string, action: string): boolean {
  let re = patternCache.get(pattern);
  if (!re) {
    re = new RegExp("^" + pattern.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*") + "$", "i");
    if (patternCache.size > 1000) patternCache.clear();
    patternCache.set(pattern, re);
  }
  return re.test(action);
}

export function rbacPermits(granted: readonly string[], candidates: readonly string[]): boolean {
  return candidates.some((action) => granted.some((pattern) => actionMatches(pattern, action)));
}

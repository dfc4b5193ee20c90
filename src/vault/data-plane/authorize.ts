import { TokenRejected, VAULT_AUDIENCES, type AccessClaims, type TokenService } from "../../identity/index.js";
import type { VaultRecord, VaultRegistry } from "../vault-registry.js";
import { callerString, kvErrors, vaultString } from "./errors.js";
import { networkVerdict } from "./domain/network.js";
import { OPERATION_RULES, policyPermits, rbacPermits, type KeyOperationName } from "./domain/permissions.js";

/**
 * Who may do what (keyvault.md §2): the token first (401s, answered before anything else looks at the
 * request), then the network rules, then access policies or RBAC. The same code serves HTTP requests and
 * tdekv's own services calling in-process, so both fail for the same reasons with the same errors.
 */
export interface Caller {
  claims: AccessClaims;
  /** Peer address for ipRules; empty for in-process calls that do not emulate one. */
  address: string;
  /** A trusted Microsoft service (tdekv's SQL server): passes the firewall when bypass is AzureServices. */
  trustedService: boolean;
}

const sameId = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/**
 * Verified tokens, remembered until they expire: a client sends the same bearer token with every request
 * for an hour, and checking its RS256 signature each time would cost more than the unwrap it authorizes.
 * An entry is used only while `verifiedAt <= now < exp` on the injected clock, so expiry (and a clock moved
 * back before the verification) still fail exactly as a fresh verification would.
 */
export class VerifiedTokens {
  private readonly entries = new Map<string, { claims: AccessClaims; verifiedAt: number }>();
  constructor(
    private readonly tokens: TokenService,
    private readonly clock: { now(): number },
    private readonly capacity = 4096,
  ) {}

  async verify(token: string): Promise<AccessClaims> {
    const now = this.clock.now();
    const hit = this.entries.get(token);
    if (hit && hit.verifiedAt <= now && now < hit.claims.exp * 1000) return hit.claims;
    if (hit) this.entries.delete(token);
    const claims = await this.tokens.verify(token, VAULT_AUDIENCES);
    if (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(token, { claims, verifiedAt: now });
    return claims;
  }
}

/**
 * Token → claims. The vault only accepts tokens its own tenant issued (AKV10032), for the Key Vault
 * resource (AKV10022), unexpired.
 */
export async function authenticate(tokens: VerifiedTokens, token: string | undefined, vault: VaultRecord, resource: string): Promise<AccessClaims> {
  if (!token) throw kvErrors.unauthenticated();
  let claims: AccessClaims;
  try {
    claims = await tokens.verify(token);
  } catch (err) {
    if (!(err instanceof TokenRejected)) throw err;
    switch (err.reason) {
      case "missing":
        throw kvErrors.unauthenticated();
      case "audience":
        throw kvErrors.invalidAudience(resource, err.detail.audience ?? "");
      case "expired":
        throw kvErrors.tokenExpired(err.detail.expiredAt);
      default:
        throw kvErrors.tokenInvalid(err.reason);
    }
  }
  return checkTenant(claims, vault);
}

export function checkTenant(claims: AccessClaims, vault: VaultRecord): AccessClaims {
  if (!sameId(claims.tid, vault.tenantId)) throw kvErrors.wrongTenant(vault.tenantId, claims.tid);
  return claims;
}

/** `Bearer <token>` from an Authorization header; anything else counts as no token (AKV10000). */
export function bearerToken(header: string | undefined): string | undefined {
  const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return m?.[1];
}

export class Authorizer {
  constructor(private readonly registry: VaultRegistry) {}

  /** Network rules, then permission for `op` on the vault (and key, for RBAC's resource in messages). */
  async authorize(vault: VaultRecord, caller: Caller, op: KeyOperationName, keyName?: string): Promise<void> {
    const verdict = networkVerdict(vault, { address: caller.address, trustedService: caller.trustedService });
    if (!verdict.allowed) {
      const who = callerString(caller.claims);
      throw verdict.kind === "connection"
        ? kvErrors.publicAccessDisabled(caller.address, who, vaultString(vault), vault.networkAcls.bypass)
        : kvErrors.firewall(caller.address, who, vaultString(vault));
    }
    const rule = OPERATION_RULES[op];
    if (!rule.permission) return;
    if (vault.enableRbacAuthorization) {
      // keyvault.md §2.5: with RBAC on, access policies are ignored.
      const granted = await this.registry.dataActionsFor(caller.claims.oid, vault.id);
      if (!rbacPermits(granted, rule.actions)) {
        const resource = keyName ? `${vault.id}/keys/${keyName}` : vault.id;
        throw kvErrors.rbacDenied(callerString(caller.claims), rule.actions[0]!, resource, vaultString(vault));
      }
      return;
    }
    if (!policyPermits(vault.accessPolicies, caller.claims, rule.permission)) {
      throw kvErrors.policyDenied(callerString(caller.claims), rule.permission, vaultString(vault));
    }
  }
}

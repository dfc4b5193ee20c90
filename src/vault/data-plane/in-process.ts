import type { AccessClaims } from "../../identity/index.js";
import type { VaultRecord } from "../vault-registry.js";
import { kvErrors } from "./errors.js";
import { authenticate, checkTenant, type Authorizer, type VerifiedTokens } from "./authorize.js";
import type { KeyService, VaultContext } from "./key-service.js";
import { runCrypto } from "./key-operations.js";
import { parseVaultHost } from "./http-surface.js";
import { jsonWebKey, keyAttributes, keyId } from "./wire.js";
import { normalizeAddress } from "./domain/network.js";

/**
 * The data plane as tdekv's own services call it (the SQL server acting as a trusted Microsoft service,
 * issues 4/5). It runs the same authentication, firewall, authorization, key-state and crypto code as HTTP
 * and throws KeyVaultError, whose `reason` tells the seed's failure causes apart:
 *   vault-not-found (detail.deleted)      - the vault is gone or soft-deleted ("Missing key vault")
 *   firewall                              - network rules refuse the caller (bypass is not AzureServices)
 *   unauthenticated / token-rejected / wrong-tenant - no usable identity (moved tenant, deleted identity)
 *   permission-denied (detail.permission | detail.action) - which permission is missing
 *   key-not-found (detail.deleted)        - key missing or soft-deleted
 *   key-disabled / key-expired / key-not-yet-valid / operation-not-permitted - key state
 */
export interface KeyInvocation {
  /** A key id, `https://{vault}.vault.azure.net/keys/{name}[/{version}]` (or a *.vault.localhost one). */
  keyId?: string;
  vaultName?: string;
  keyName?: string;
  /** Empty or absent: the latest version. */
  version?: string;
  operation: "get" | "wrapKey" | "unwrapKey";
  /** wrapKey/unwrapKey: RSA-OAEP, RSA-OAEP-256 or RSA1_5. */
  alg?: string;
  value?: Buffer;
  /** The calling identity: verified claims, or a raw access token to verify like HTTP does. */
  caller: AccessClaims | { token: string } | undefined;
  /** A trusted Microsoft service: passes network rules only when the vault's bypass is AzureServices. */
  trustedService?: boolean;
  /** The caller's address for ipRules (empty: none, so only the bypass can admit a Deny vault). */
  remoteAddress?: string;
}

export interface KeyInvocationResult {
  kid: string;
  /** Public JWK members (kid, kty, key_ops, n, e | crv, x, y). */
  key: Record<string, unknown>;
  /** Wire-shaped attributes (unix seconds): enabled, nbf, exp, created, updated, recoveryLevel, ... */
  attributes: Record<string, unknown>;
  tags: Record<string, string>;
  /** wrapKey/unwrapKey result. */
  value?: Buffer;
}

interface Target {
  vaultName: string;
  keyName: string;
  version?: string;
  origin: string;
  resource: string;
}

function targetOf(inv: KeyInvocation): Target {
  if (inv.keyId) {
    let url: URL;
    try {
      url = new URL(inv.keyId);
    } catch {
      throw kvErrors.badParameter(`'${inv.keyId}' is not a Key Vault key identifier.`);
    }
    const host = parseVaultHost(url.host);
    const m = /^\/keys\/([^/]+)(?:\/([^/]*))?\/?$/.exec(url.pathname);
    if (url.protocol !== "https:" || !host || !m) throw kvErrors.badParameter(`'${inv.keyId}' is not a Key Vault key identifier.`);
    return { vaultName: host.vaultName, keyName: decodeURIComponent(m[1]!), ...(m[2] ? { version: m[2] } : {}), origin: url.origin, resource: host.resource };
  }
  if (!inv.vaultName || !inv.keyName) throw kvErrors.badParameter("Name a key by keyId, or by vaultName and keyName.");
  const vaultName = inv.vaultName.toLowerCase();
  return { vaultName, keyName: inv.keyName, ...(inv.version ? { version: inv.version } : {}), origin: `https://${vaultName}.vault.azure.net`, resource: "https://vault.azure.net" };
}

export function createInProcessApi(deps: { svc: KeyService; tokens: VerifiedTokens; authorizer: Authorizer; resolveVault(name: string): Promise<VaultRecord> }) {
  return async function invoke(inv: KeyInvocation): Promise<KeyInvocationResult> {
    const t = targetOf(inv);
    const vault = await deps.resolveVault(t.vaultName);
    let claims: AccessClaims;
    if (!inv.caller) throw kvErrors.unauthenticated();
    if ("token" in inv.caller) claims = await authenticate(deps.tokens, inv.caller.token, vault, t.resource);
    else claims = checkTenant(inv.caller, vault);
    await deps.authorizer.authorize(vault, { claims, address: normalizeAddress(inv.remoteAddress ?? ""), trustedService: inv.trustedService === true }, inv.operation, t.keyName);
    const ctx: VaultContext = { vault, origin: t.origin };
    if (inv.operation === "get") {
      const rec = await deps.svc.get(ctx, t.keyName, t.version);
      return { kid: keyId(t.origin, rec), key: jsonWebKey(t.origin, rec), attributes: keyAttributes(rec, vault), tags: rec.tags };
    }
    if (!inv.alg) throw kvErrors.badParameter("The parameter 'alg' is required.");
    if (!inv.value || inv.value.length === 0) throw kvErrors.badParameter("The parameter 'value' is required.");
    const out = await runCrypto(deps.svc, ctx, inv.operation, t.keyName, t.version, { alg: inv.alg, value: inv.value });
    return { kid: keyId(t.origin, out.rec), key: jsonWebKey(t.origin, out.rec), attributes: keyAttributes(out.rec, vault), tags: out.rec.tags, value: out.value! };
  };
}

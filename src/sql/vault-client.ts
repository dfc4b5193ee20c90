import type { Principal, TokenService } from "../identity/index.js";
import type { Clock } from "../platform/index.js";
import type { KeyInvocation, KeyInvocationResult } from "../vault/data-plane/index.js";
import type { ServerKeyVault, VaultKeyInfo } from "./key-access.js";

const VAULT_RESOURCE = "https://vault.azure.net";

/**
 * Microsoft.Sql's client of Key Vault: calls the data plane in-process with a real access token of the
 * server's managed identity, as a trusted Microsoft service (so the vault firewall admits it only with
 * bypass AzureServices, seed "Missing key vault"). Tokens are cached per principal until shortly before
 * they expire, as a real service's token cache would.
 */
export function vaultClient(invoke: (inv: KeyInvocation) => Promise<KeyInvocationResult>, tokens: TokenService, clock: Clock): ServerKeyVault {
  const cache = new Map<string, { token: string; refreshAt: number }>();
  async function caller(identity: Principal): Promise<{ token: string }> {
    const hit = cache.get(identity.objectId);
    if (hit && hit.refreshAt > clock.now()) return { token: hit.token };
    const issued = await tokens.issue(identity, VAULT_RESOURCE);
    cache.set(identity.objectId, { token: issued.accessToken, refreshAt: Math.min(issued.expiresOn * 1000 - 120_000, clock.now() + 600_000) });
    return { token: issued.accessToken };
  }
  const base = { trustedService: true, remoteAddress: "" };
  return {
    async getKey(identity, kid): Promise<VaultKeyInfo> {
      const r = await invoke({ ...base, keyId: kid, operation: "get", caller: await caller(identity) });
      const n = typeof r.key.n === "string" ? r.key.n : undefined;
      const a = r.attributes;
      return {
        kid: r.kid,
        kty: String(r.key.kty),
        ...(n ? { keySize: Buffer.from(n, "base64url").length * 8, n } : {}),
        ...(typeof r.key.e === "string" ? { e: r.key.e } : {}),
        enabled: a.enabled !== false,
        ...(typeof a.nbf === "number" ? { nbf: a.nbf } : {}),
        ...(typeof a.exp === "number" ? { exp: a.exp } : {}),
        ...(typeof a.recoveryLevel === "string" ? { recoveryLevel: a.recoveryLevel } : {}),
      };
    },
    async wrapKey(identity, kid, alg, value) {
      const r = await invoke({ ...base, keyId: kid, operation: "wrapKey", alg, value, caller: await caller(identity) });
      return { kid: r.kid, value: r.value! };
    },
    async unwrapKey(identity, kid, alg, value) {
      const r = await invoke({ ...base, keyId: kid, operation: "unwrapKey", alg, value, caller: await caller(identity) });
      return r.value!;
    },
  };
}

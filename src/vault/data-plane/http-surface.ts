import { header, type Logger, type SecretBox, type SurfaceHandler, type SurfaceRequest, type SurfaceResponse } from "../../platform/index.js";
import type { VaultRecord } from "../vault-registry.js";
import { KeyVaultError, kvErrors, toWireError } from "./errors.js";
import { authenticate, bearerToken, type Authorizer, type VerifiedTokens } from "./authorize.js";
import type { KeyService } from "./key-service.js";
import { matchRoute } from "./routes.js";
import { normalizeAddress } from "./domain/network.js";

/**
 * Key Vault's HTTP surface for `{vault}.vault.azure.net` (proxy mode) and `{vault}.vault.localhost:PORT`
 * (direct mode). Order per request (keyvault.md §2.1, az-cli-compat.md §9):
 *   vault by host → 401 challenge / token checks → route → api-version → firewall → permission → body.
 * The challenge comes before any look at the body: SDKs send their first request without token and body.
 */
export interface VaultHost {
  vaultName: string;
  /** The Key Vault resource the challenge advertises; must be a dot-suffix of the host (sdk-compat.md §3.3). */
  resource: string;
}

export function parseVaultHost(hostHeader: string): VaultHost | undefined {
  const host = hostHeader.toLowerCase().replace(/:\d+$/, "");
  for (const [suffix, resource] of [
    [".vault.azure.net", "https://vault.azure.net"],
    [".vault.localhost", "https://vault.localhost"],
  ] as const) {
    if (host.endsWith(suffix)) {
      // A name that is not a vault name simply matches no vault (404 VaultNotFound).
      return { vaultName: host.slice(0, -suffix.length), resource };
    }
  }
  return undefined;
}

export interface SurfaceDeps {
  svc: KeyService;
  box: SecretBox;
  tokens: VerifiedTokens;
  authorizer: Authorizer;
  log: Logger;
  resolveVault(name: string): Promise<VaultRecord>;
  onKeysChanged?: (vaultId: string) => void;
}

/** Operations that change keys (crypto, reads and backups do not): each success hints the portal. */
const KEY_WRITES = new Set(["create", "import", "update", "delete", "recover", "purge", "restore", "rotate", "setrotationpolicy"]);

/** `x-ms-keyvault-*` headers real responses carry (keyvault.md §1.1). */
function serviceHeaders(req: SurfaceRequest, vault: VaultRecord | undefined): Record<string, string> {
  const addr = normalizeAddress(req.remoteAddress);
  const h: Record<string, string> = {
    "cache-control": "no-cache",
    "x-ms-keyvault-service-version": "1.9.0.0",
    "x-ms-keyvault-network-info": `conn_type=${addr.includes(":") ? "Ipv6" : "Ipv4"};addr=${addr};act_addr_fam=${addr.includes(":") ? "InterNetworkV6" : "InterNetwork"};`,
  };
  if (vault) h["x-ms-keyvault-region"] = vault.location;
  const clientRequestId = header(req, "x-ms-client-request-id");
  if (clientRequestId && clientRequestId.length <= 200) h["x-ms-client-request-id"] = clientRequestId;
  return h;
}

export function createKeysSurface(deps: SurfaceDeps): SurfaceHandler {
  return async (req) => {
    const target = parseVaultHost(req.host);
    if (!target) return undefined;
    let vault: VaultRecord | undefined;
    try {
      vault = await deps.resolveVault(target.vaultName);
      let claims;
      try {
        claims = await authenticate(deps.tokens, bearerToken(header(req, "authorization")), vault, target.resource);
      } catch (err) {
        if (err instanceof KeyVaultError && err.status === 401) {
          return toWireError(err, {
            ...serviceHeaders(req, vault),
            "www-authenticate": `Bearer authorization="https://login.microsoftonline.com/${vault.tenantId}", resource="${target.resource}"`,
          });
        }
        throw err;
      }
      const route = matchRoute(req.method, req.path);
      const apiVersion = req.query.get("api-version");
      if (!apiVersion) throw kvErrors.badParameter("The 'api-version' query parameter is required.");
      await deps.authorizer.authorize(vault, { claims, address: normalizeAddress(req.remoteAddress), trustedService: false }, route.op, route.name);
      const res: SurfaceResponse = await route.run({ svc: deps.svc, box: deps.box, ctx: { vault, origin: req.origin }, req, apiVersion });
      if (res.status < 300 && KEY_WRITES.has(route.op)) deps.onKeysChanged?.(vault.id);
      return { ...res, headers: { ...serviceHeaders(req, vault), ...res.headers } };
    } catch (err) {
      if (err instanceof KeyVaultError) return toWireError(err, serviceHeaders(req, vault));
      // A bug, not a client error: log what happened without request bodies (they may carry key material).
      deps.log.error({ reqId: req.requestId, method: req.method, path: req.path, err: err instanceof Error ? err.message : String(err) }, "key vault request failed");
      return toWireError(new KeyVaultError("internal", 500, "InternalServerError", "The service encountered an internal error."), serviceHeaders(req, vault));
    }
  };
}

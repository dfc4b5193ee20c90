import { type SurfaceRequest, type SurfaceResponse, header } from "../platform/index.js";
import type { SurfaceName } from "./hosts.js";

/**
 * CORS for the portal (issue 9 §1, §3; portal.md §3.3). The portal is served from tdekv's own origins and
 * calls two other origins from the browser: Entra's token endpoint (cross-origin in proxy mode, like
 * Entra's "spa" redirect type) and Key Vault (`{vault}.vault.localhost:PORT` or `{vault}.vault.azure.net`).
 * Only tdekv's portal origins are answered, by echo; never `*`, and never credentials (tokens go in headers).
 * ARM is the portal's own origin, so it needs none.
 */
const ALLOWED_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE";
const ALLOWED_HEADERS = "authorization, content-type, accept, x-ms-client-request-id, x-ms-return-client-request-id, x-ms-correlation-request-id";
const EXPOSED_HEADERS = "www-authenticate, x-ms-request-id, x-ms-correlation-request-id, x-ms-client-request-id, x-ms-keyvault-service-version, x-ms-keyvault-region, retry-after";
const MAX_AGE_SECONDS = "600";

/** Entra paths a browser client may call: token endpoints and discovery documents. */
const LOGIN_CORS_PATH = /^\/[^/]+\/(?:oauth2\/(?:v2\.0\/)?token|v2\.0\/\.well-known\/openid-configuration|\.well-known\/openid-configuration|discovery\/(?:v2\.0\/)?keys)\/?$/i;

export function corsApplies(surface: SurfaceName, req: SurfaceRequest): boolean {
  if (surface === "vault") return true;
  return (surface === "login" || surface === "direct") && LOGIN_CORS_PATH.test(req.path);
}

export function createCors(portalOrigins: () => readonly string[]) {
  const allowed = (req: SurfaceRequest): string | undefined => {
    const origin = header(req, "origin");
    return origin && portalOrigins().includes(origin.toLowerCase()) ? origin : undefined;
  };
  return {
    /** An OPTIONS preflight: 204 with the grant for a portal origin; 204 without it (the browser refuses) otherwise. */
    isPreflight: (req: SurfaceRequest) => req.method === "OPTIONS" && header(req, "access-control-request-method") !== undefined,
    preflight(req: SurfaceRequest): SurfaceResponse {
      const origin = allowed(req);
      const headers: Record<string, string> = { vary: "origin", "cache-control": "no-store" };
      if (origin) {
        headers["access-control-allow-origin"] = origin;
        headers["access-control-allow-methods"] = ALLOWED_METHODS;
        headers["access-control-allow-headers"] = ALLOWED_HEADERS;
        headers["access-control-max-age"] = MAX_AGE_SECONDS;
      }
      return { status: 204, headers };
    },
    decorate(req: SurfaceRequest, res: SurfaceResponse): SurfaceResponse {
      const origin = allowed(req);
      const vary = res.headers?.vary ? `${res.headers.vary}, origin` : "origin";
      if (!origin) return { ...res, headers: { ...res.headers, vary } };
      return { ...res, headers: { ...res.headers, vary, "access-control-allow-origin": origin, "access-control-expose-headers": EXPOSED_HEADERS } };
    },
  };
}

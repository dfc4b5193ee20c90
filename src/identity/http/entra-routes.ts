import { type SurfaceRequest, type SurfaceResponse, header } from "../../platform/index.js";
import type { Directory, Principal } from "../directory.js";
import type { TokenService } from "../token-service.js";
import { EntraError, ManagedIdentityError } from "../domain/errors.js";
import { entraErrors } from "../domain/entra-errors.js";
import { isKnownResource, resourceFromScope } from "../domain/resources.js";
import { createUserFlows, type UserFlowDeps } from "./user-flows.js";

/**
 * Entra ID's endpoints as MSAL (node and python) and the managed-identity credentials call them:
 * OIDC discovery, JWKS, instance discovery, v1 and v2 client-credentials token endpoints, and the App
 * Service (`/msi/token`) and IMDS (`/metadata/identity/oauth2/token`) managed-identity endpoints
 * (sdk-compat.md §2, az-cli-compat.md §5).
 */
export interface EntraDeps extends Omit<UserFlowDeps, "directory" | "tokens"> {
  directory: Directory;
  tokens: TokenService;
  /** The secret a workload must present in X-IDENTITY-HEADER (App Service style). */
  identityHeader: string;
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}): SurfaceResponse => ({
  status,
  body,
  headers: { "cache-control": "no-store", pragma: "no-cache", ...headers },
});

function entraErrorBody(err: EntraError, req: SurfaceRequest, now: Date) {
  const timestamp = now.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
  return {
    error: err.error,
    error_description: `${err.message}\r\nTrace ID: ${req.requestId}\r\nCorrelation ID: ${req.correlationId}\r\nTimestamp: ${timestamp}`,
    error_codes: [err.aadsts],
    timestamp,
    trace_id: req.requestId,
    correlation_id: req.correlationId,
    error_uri: `${req.origin}/error?code=${err.aadsts}`,
  };
}

function openidConfiguration(origin: string, tenant: string, v2: boolean) {
  const t = tenant === "common" || tenant === "organizations" ? "{tenantid}" : tenant;
  const base = `${origin}/${tenant}`;
  return {
    token_endpoint: v2 ? `${base}/oauth2/v2.0/token` : `${base}/oauth2/token`,
    token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
    jwks_uri: v2 ? `${base}/discovery/v2.0/keys` : `${base}/discovery/keys`,
    response_modes_supported: ["query", "fragment", "form_post"],
    subject_types_supported: ["pairwise"],
    id_token_signing_alg_values_supported: ["RS256"],
    response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
    scopes_supported: ["openid", "profile", "email", "offline_access"],
    issuer: v2 ? `${origin}/${t}/v2.0` : `https://sts.windows.net/${t}/`,
    request_uri_parameter_supported: false,
    tenant_region_scope: "WW",
    authorization_endpoint: v2 ? `${base}/oauth2/v2.0/authorize` : `${base}/oauth2/authorize`,
    device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
    end_session_endpoint: `${base}/oauth2/v2.0/logout`,
    claims_supported: ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "tid", "ver", "oid"],
    cloud_instance_name: "microsoftonline.com",
  };
}

export function createEntraRoutes(deps: EntraDeps, now: () => Date) {
  const users = createUserFlows(deps, now);

  /** One token endpoint, several grants: users' (code, refresh) or applications' (client credentials). */
  async function tokenEndpoint(req: SurfaceRequest, tenantSegment: string, v2: boolean): Promise<SurfaceResponse> {
    const form = new URLSearchParams(req.body.toString("utf8"));
    if (!users.isUserGrant(form.get("grant_type"))) return clientCredentials(req, tenantSegment, v2);
    try {
      return await users.token(req, tenantSegment, form);
    } catch (err) {
      if (err instanceof EntraError) return json(err.status, entraErrorBody(err, req, now()));
      throw err;
    }
  }

  async function clientCredentials(req: SurfaceRequest, tenantSegment: string, v2: boolean): Promise<SurfaceResponse> {
    const form = new URLSearchParams(req.body.toString("utf8"));
    try {
      if (tenantSegment === "common" || tenantSegment === "organizations" || tenantSegment === "consumers") throw entraErrors.tenantRequired();
      const tenant = await deps.directory.getTenant(tenantSegment);
      if (!tenant) throw entraErrors.tenantNotFound(tenantSegment);
      const grant = form.get("grant_type");
      if (!grant) throw entraErrors.missingField("grant_type");
      if (grant !== "client_credentials") throw entraErrors.unsupportedGrant(grant);
      // client_secret_basic is allowed too: Authorization: Basic base64(id:secret).
      let clientId = form.get("client_id") ?? "";
      let secret = form.get("client_secret") ?? "";
      const basic = header(req, "authorization");
      if (basic?.startsWith("Basic ")) {
        const [id, ...rest] = Buffer.from(basic.slice(6), "base64").toString("utf8").split(":");
        clientId = decodeURIComponent(id ?? "");
        secret = decodeURIComponent(rest.join(":"));
      }
      if (!clientId) throw entraErrors.missingField("client_id");
      let resource: string | undefined;
      if (v2) {
        const scope = form.get("scope");
        if (!scope) throw entraErrors.missingField("scope");
        resource = resourceFromScope(scope);
        if (!resource) throw entraErrors.invalidScope(scope);
      } else {
        resource = form.get("resource") ?? undefined;
        if (!resource) throw entraErrors.missingField("resource");
      }
      if (!secret) throw entraErrors.missingField("client_assertion' or 'client_secret");
      const principal = await deps.directory.authenticateClient(tenant.id, clientId, secret);
      if (principal === undefined) throw entraErrors.applicationNotFound(clientId, tenant.id);
      if (principal === false) throw entraErrors.invalidSecret(clientId);
      if (!isKnownResource(resource)) throw entraErrors.resourceNotFound(resource, tenant.id);
      const issued = await deps.tokens.issue(principal, resource);
      return v2
        ? json(200, { token_type: "Bearer", expires_in: issued.expiresIn, ext_expires_in: issued.expiresIn, access_token: issued.accessToken })
        : json(200, {
            token_type: "Bearer",
            expires_in: String(issued.expiresIn),
            ext_expires_in: String(issued.expiresIn),
            expires_on: String(issued.expiresOn),
            not_before: String(issued.notBefore),
            resource,
            access_token: issued.accessToken,
          });
    } catch (err) {
      if (err instanceof EntraError) return json(err.status, entraErrorBody(err, req, now()));
      throw err;
    }
  }

  /** Which managed identity a workload asks for: client_id, object_id/principal_id or mi_res_id/msi_res_id. */
  async function selectIdentity(q: URLSearchParams): Promise<Principal> {
    const clientId = q.get("client_id");
    const objectId = q.get("object_id") ?? q.get("principal_id");
    const resId = q.get("mi_res_id") ?? q.get("msi_res_id");
    let p: Principal | undefined;
    if (clientId) p = await deps.directory.findPrincipal({ appId: clientId });
    else if (objectId) p = await deps.directory.findPrincipal({ objectId });
    else if (resId) {
      p = (await deps.directory.findManagedIdentity("UserAssigned", resId)) ?? (await deps.directory.findManagedIdentity("SystemAssigned", resId));
    } else {
      throw new ManagedIdentityError(400, "invalid_request", "Identity not specified: pass client_id, object_id or mi_res_id to choose one of tdekv's managed identities.");
    }
    if (!p || (p.kind !== "UserAssigned" && p.kind !== "SystemAssigned")) throw new ManagedIdentityError(400, "invalid_request", "Identity not found");
    return p;
  }

  async function managedIdentityToken(req: SurfaceRequest, style: "appservice" | "imds"): Promise<SurfaceResponse> {
    try {
      if (style === "imds" && header(req, "metadata")?.toLowerCase() !== "true") {
        throw new ManagedIdentityError(400, "invalid_request", "Required metadata header not specified");
      }
      if (style === "appservice" && header(req, "x-identity-header") !== deps.identityHeader) {
        throw new ManagedIdentityError(401, "unauthorized", "The X-IDENTITY-HEADER is missing or does not match this tdekv instance's IDENTITY_HEADER.");
      }
      const resource = req.query.get("resource");
      if (!resource) throw new ManagedIdentityError(400, "invalid_request", "Required query variable 'resource' is missing");
      if (!isKnownResource(resource)) throw new ManagedIdentityError(400, "invalid_resource", `AADSTS500011: The resource principal named ${resource} was not found in the tenant.`);
      const principal = await selectIdentity(req.query);
      const issued = await deps.tokens.issue(principal, resource);
      const body: Record<string, string> = {
        access_token: issued.accessToken,
        expires_on: String(issued.expiresOn),
        expires_in: String(issued.expiresIn),
        ext_expires_in: String(issued.expiresIn),
        not_before: String(issued.notBefore),
        resource,
        token_type: "Bearer",
      };
      if (style === "appservice") body.client_id = principal.appId;
      return json(200, body);
    } catch (err) {
      if (err instanceof ManagedIdentityError) return json(err.status, { error: err.error, error_description: err.message });
      throw err;
    }
  }

  /** Answers the Entra and managed-identity paths; undefined for anything else. */
  return async function entra(req: SurfaceRequest): Promise<SurfaceResponse | undefined> {
    const p = req.path.replace(/\/+$/, "");
    const m = /^\/([^/]+)(\/.*)$/.exec(p);
    if (req.method === "GET" && p === "/msi/token") return managedIdentityToken(req, "appservice");
    if (req.method === "GET" && p === "/metadata/identity/oauth2/token") return managedIdentityToken(req, "imds");
    if (!m) return undefined;
    const tenant = decodeURIComponent(m[1]!).toLowerCase();
    const rest = m[2]!.toLowerCase();
    if (tenant === "subscriptions" || tenant === "providers" || tenant === "tenants" || tenant === "metadata" || tenant.startsWith("_")) return undefined;
    if (req.method === "GET" && rest === "/v2.0/.well-known/openid-configuration") return json(200, openidConfiguration(req.origin, tenant, true));
    if (req.method === "GET" && rest === "/.well-known/openid-configuration") return json(200, openidConfiguration(req.origin, tenant, false));
    if (req.method === "GET" && (rest === "/discovery/v2.0/keys" || rest === "/discovery/keys")) return json(200, deps.tokens.jwks());
    if (req.method === "GET" && rest === "/discovery/instance") {
      const host = new URL(req.origin).host;
      const aliases = host === "login.microsoftonline.com" ? ["login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net"] : [host];
      return json(200, {
        tenant_discovery_endpoint: `${req.origin}/${tenant}/v2.0/.well-known/openid-configuration`,
        "api-version": "1.1",
        metadata: [{ preferred_network: aliases[0], preferred_cache: aliases[0], aliases }],
      });
    }
    if (req.method === "POST" && rest === "/oauth2/v2.0/token") return tokenEndpoint(req, tenant, true);
    if (req.method === "POST" && rest === "/oauth2/token") return tokenEndpoint(req, tenant, false);
    if ((req.method === "GET" || req.method === "POST") && (rest === "/oauth2/v2.0/authorize" || rest === "/oauth2/authorize")) return users.authorize(req, tenant);
    return undefined;
  };
}

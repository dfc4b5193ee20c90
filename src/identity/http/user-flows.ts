import type { SurfaceRequest, SurfaceResponse } from "../../platform/index.js";
import type { Directory, Principal } from "../directory.js";
import type { TokenService } from "../token-service.js";
import { EntraError } from "../domain/errors.js";
import { entraErrors } from "../domain/entra-errors.js";
import { PUBLIC_CLIENTS, isRegisteredRedirect } from "../domain/public-clients.js";
import { isS256Challenge } from "../domain/pkce.js";
import { isKnownResource, resourceFromScope } from "../domain/resources.js";
import type { AuthorizationRequest, SignInGrants } from "../sign-in-grants.js";
import { signInErrorPage, signInPage } from "./sign-in-page.js";

/**
 * Users signing in (issue 9 §1): the authorization code flow with PKCE (S256 only) for tdekv's public
 * clients, and refresh tokens that, like Entra's, are multi-resource: one issued with an ARM token also
 * buys a Key Vault token (portal.md §3.3).
 */
export interface UserFlowDeps {
  directory: Directory;
  tokens: TokenService;
  grants: SignInGrants;
  /** tdekv's own origins the portal may be served from (`https://localhost:PORT`, `https://management.azure.com`, ...). */
  portalOrigins(): string[];
  bootstrapTenantId(): string;
}

const MULTI_TENANT = new Set(["organizations", "common"]);

const noStore = { "cache-control": "no-store", pragma: "no-cache" };

export function createUserFlows(deps: UserFlowDeps, now: () => Date) {
  const trace = (req: SurfaceRequest) => ({ requestId: req.requestId, correlationId: req.correlationId, timestamp: now().toISOString().replace(/\.\d+Z$/, "Z") });

  /** The one resource a delegated scope names (`https://management.core.windows.net//.default openid ...`). */
  function resourceOf(scope: string): string {
    const resource = resourceFromScope(scope);
    if (!resource || !isKnownResource(resource)) throw entraErrors.invalidDelegatedScope(scope);
    return resource;
  }

  async function tenantOf(segment: string): Promise<string | undefined> {
    if (MULTI_TENANT.has(segment)) return undefined;
    const tenant = await deps.directory.getTenant(segment);
    if (!tenant) throw entraErrors.tenantNotFound(segment);
    return tenant.id;
  }

  function redirectWith(request: Pick<AuthorizationRequest, "redirectUri" | "responseMode" | "state">, params: Record<string, string>): SurfaceResponse {
    const p = new URLSearchParams(params);
    if (request.state !== undefined) p.set("state", request.state);
    const location = request.responseMode === "fragment" ? `${request.redirectUri}#${p}` : `${request.redirectUri}${request.redirectUri.includes("?") ? "&" : "?"}${p}`;
    return { status: 302, headers: { location, ...noStore, "referrer-policy": "no-referrer" } };
  }

  async function usersFor(tenantId: string | undefined): Promise<Principal[]> {
    return deps.directory.listUsers(deps.bootstrapTenantId(), tenantId);
  }

  /**
   * GET shows the page. Client and redirect URI are checked first: until both are known good, errors are
   * a page and never a redirect (an open redirector otherwise). After that, errors go back to the client.
   */
  async function showPage(req: SurfaceRequest, segment: string): Promise<SurfaceResponse> {
    const q = req.query;
    const clientId = (q.get("client_id") ?? "").toLowerCase();
    const redirectUri = q.get("redirect_uri") ?? "";
    let tenantId: string | undefined;
    try {
      tenantId = await tenantOf(segment);
      if (!clientId) throw entraErrors.missingField("client_id");
      const client = PUBLIC_CLIENTS.get(clientId);
      if (!client) throw entraErrors.applicationNotFound(clientId, tenantId ?? segment);
      if (!redirectUri || !isRegisteredRedirect(client, redirectUri, deps.portalOrigins())) throw entraErrors.redirectMismatch(redirectUri, clientId);
    } catch (err) {
      if (err instanceof EntraError) return signInErrorPage(400, err.message, trace(req));
      throw err;
    }
    const responseMode = q.get("response_mode") === "fragment" ? "fragment" : "query";
    const state = q.get("state") ?? undefined;
    const back = { redirectUri, responseMode, state } as const;
    try {
      const responseType = q.get("response_type") ?? "";
      if (responseType !== "code") throw entraErrors.unsupportedResponseType(responseType);
      const challenge = q.get("code_challenge") ?? "";
      const method = q.get("code_challenge_method") ?? "";
      if (!challenge) throw entraErrors.pkceRequired();
      if (method !== "S256") throw entraErrors.pkceRequired(" tdekv accepts code_challenge_method=S256 only.");
      if (!isS256Challenge(challenge)) throw entraErrors.invalidChallenge();
      const scope = q.get("scope") ?? (q.get("resource") ? `${q.get("resource")}/.default openid` : "");
      if (!scope) throw entraErrors.missingField("scope");
      const resource = resourceOf(scope);
      if (q.get("prompt") === "none") throw entraErrors.loginRequired();
      const request: AuthorizationRequest = {
        clientId,
        redirectUri,
        scope,
        resource,
        challenge,
        responseMode,
        ...(state !== undefined ? { state } : {}),
        ...(q.get("nonce") ? { nonce: q.get("nonce")! } : {}),
        ...(tenantId ? { tenantId } : {}),
      };
      const users = await usersFor(tenantId);
      const tenants = new Map((await deps.directory.listTenants()).map((t) => [t.id, t.displayName]));
      const hint = q.get("login_hint")?.toLowerCase();
      return signInPage({
        action: req.path,
        formToken: deps.grants.beginPage(request),
        clientName: PUBLIC_CLIENTS.get(clientId)!.displayName,
        redirectUri,
        users: users.map((u) => ({ objectId: u.objectId, displayName: u.displayName, userPrincipalName: u.userPrincipalName ?? "", tenantName: tenants.get(u.tenantId) ?? u.tenantId })),
        ...(hint ? { selected: users.find((u) => u.userPrincipalName === hint)?.objectId } : {}),
      });
    } catch (err) {
      if (err instanceof EntraError) return redirectWith(back, { error: err.error, error_description: err.message });
      throw err;
    }
  }

  /** POST from the page: the one-time form token names the checked request; the user is one of its tenant's. */
  async function signIn(req: SurfaceRequest): Promise<SurfaceResponse> {
    const form = new URLSearchParams(req.body.toString("utf8"));
    const request = deps.grants.takePage(form.get("form_token") ?? "");
    if (!request) {
      return signInErrorPage(400, "This sign-in page has expired or was already used. Open the portal again to start a new sign-in.", trace(req));
    }
    const userId = form.get("user") ?? "";
    const user = userId ? await deps.directory.findUser(userId) : undefined;
    if (!user || (request.tenantId && user.tenantId !== request.tenantId)) {
      const e = entraErrors.userNotFound(userId || "(none)", request.tenantId ?? "organizations");
      return redirectWith(request, { error: "access_denied", error_description: e.message });
    }
    return redirectWith(request, { code: deps.grants.issueCode(request, user) });
  }

  async function tokenResponse(req: SurfaceRequest, user: Principal, args: { clientId: string; scope: string; resource: string; nonce?: string; refreshToken?: string }): Promise<SurfaceResponse> {
    const issued = await deps.tokens.issueForUser(user, args.resource, args.clientId);
    const words = new Set(args.scope.split(/\s+/).filter(Boolean));
    const body: Record<string, unknown> = {
      token_type: "Bearer",
      scope: args.scope,
      expires_in: issued.expiresIn,
      ext_expires_in: issued.expiresIn,
      access_token: issued.accessToken,
    };
    if (args.refreshToken) body.refresh_token = args.refreshToken;
    if (words.has("openid")) {
      body.id_token = await deps.tokens.idToken(user, { clientId: args.clientId, issuer: `${req.origin}/${user.tenantId}/v2.0`, ...(args.nonce ? { nonce: args.nonce } : {}) });
    }
    return { status: 200, headers: noStore, body };
  }

  /** `grant_type=authorization_code` and `grant_type=refresh_token`; throws EntraError. */
  async function token(req: SurfaceRequest, segment: string, form: URLSearchParams): Promise<SurfaceResponse> {
    const tenantId = await tenantOf(segment);
    const clientId = (form.get("client_id") ?? "").toLowerCase();
    if (!clientId) throw entraErrors.missingField("client_id");
    if (!PUBLIC_CLIENTS.has(clientId)) throw entraErrors.applicationNotFound(clientId, tenantId ?? segment);
    const grant = form.get("grant_type");
    if (grant === "authorization_code") {
      const code = form.get("code");
      if (!code) throw entraErrors.missingField("code");
      const redirectUri = form.get("redirect_uri");
      if (!redirectUri) throw entraErrors.missingField("redirect_uri");
      const g = await deps.grants.redeemCode(code, { clientId, redirectUri, verifier: form.get("code_verifier") ?? "" });
      if (tenantId && tenantId !== g.tenantId) throw entraErrors.codeInvalid();
      const user = await deps.directory.findUser(g.userObjectId);
      if (!user) throw entraErrors.userNotFound(g.userObjectId, g.tenantId);
      const offline = g.request.scope.split(/\s+/).includes("offline_access");
      return tokenResponse(req, user, {
        clientId,
        scope: g.request.scope,
        resource: g.request.resource,
        ...(g.request.nonce ? { nonce: g.request.nonce } : {}),
        ...(offline ? { refreshToken: await deps.grants.issueRefreshToken(g) } : {}),
      });
    }
    // refresh_token: any resource Entra knows, whatever the first token was for (multi-resource refresh).
    const refresh = form.get("refresh_token");
    if (!refresh) throw entraErrors.missingField("refresh_token");
    const r = await deps.grants.redeemRefreshToken(refresh, clientId);
    if (tenantId && tenantId !== r.tenantId) throw entraErrors.codeInvalid();
    const scope = form.get("scope") ?? r.scope;
    const resource = resourceOf(scope);
    const user = await deps.directory.findUser(r.objectId);
    if (!user) throw entraErrors.userNotFound(r.objectId, r.tenantId);
    // The refresh token is not rotated: the portal refreshes its ARM and vault tokens concurrently.
    return tokenResponse(req, user, { clientId, scope, resource, refreshToken: refresh });
  }

  return {
    /** `/{tenant}/oauth2/v2.0/authorize` and the v1 `/{tenant}/oauth2/authorize`. */
    authorize(req: SurfaceRequest, segment: string): Promise<SurfaceResponse> {
      return req.method === "POST" ? signIn(req) : showPage(req, segment);
    },
    token,
    isUserGrant: (grant: string | null) => grant === "authorization_code" || grant === "refresh_token",
  };
}

import type { Db } from "../storage/index.js";
import { type Clock, type SecretBox, newSecret } from "../platform/index.js";
import { Directory } from "./directory.js";
import { TokenService } from "./token-service.js";
import { createEntraRoutes } from "./http/entra-routes.js";
import { createGraphRoutes } from "./http/graph-routes.js";
import { SignInGrants } from "./sign-in-grants.js";

export { Directory, BOOTSTRAP_USER_UPN, SEEDED_USER_NAME, type Principal, type PrincipalKind, type Tenant, type Subscription, type ServicePrincipalCredentials } from "./directory.js";
export { TokenService, type AccessClaims, type IssuedToken, issuerFor } from "./token-service.js";
export { TokenRejected, type TokenRejection, EntraError, ManagedIdentityError } from "./domain/errors.js";
export { AZURE_PORTAL_APP_ID } from "./domain/public-clients.js";
export { CODE_LIFETIME_MS, REFRESH_LIFETIME_MS } from "./sign-in-grants.js";
export { PUBLIC_ARM_AUDIENCES, VAULT_AUDIENCES, isLocalHost, resourceFromScope } from "./domain/resources.js";

export interface Identity {
  directory: Directory;
  tokens: TokenService;
  identityHeader: string;
  routes: ReturnType<typeof createEntraRoutes>;
  /** Microsoft Graph (graph.microsoft.com): the principal look-ups az makes. */
  graph: ReturnType<typeof createGraphRoutes>;
  /** Users' sign-ins: codes and refresh tokens (revocable). */
  grants: SignInGrants;
}

/** Builds the identity component: the directory, the token service and Entra's HTTP surface. */
export async function createIdentity(deps: {
  db: Db;
  clock: Clock;
  box: SecretBox;
  tokenLifetimeSeconds: number;
  /** tdekv's portal origins, for the portal's redirect URI (known once the listener is up). */
  portalOrigins?: () => string[];
  bootstrapTenantId?: () => string;
}): Promise<Identity> {
  const directory = new Directory(deps.db, deps.clock, deps.box);
  const tokens = await TokenService.open(
    directory,
    (jwk) => deps.box.seal(jwk, "token-signing-key"),
    (sealed) => deps.box.open(sealed, "token-signing-key").toString(),
    deps.clock,
    deps.tokenLifetimeSeconds,
  );
  let identityHeader = await directory.getSetting("identity-header");
  if (!identityHeader) {
    identityHeader = newSecret(24);
    await directory.setSetting("identity-header", identityHeader);
  }
  const grants = new SignInGrants(deps.db, deps.clock);
  const routes = createEntraRoutes(
    { directory, tokens, identityHeader, grants, portalOrigins: deps.portalOrigins ?? (() => []), bootstrapTenantId: deps.bootstrapTenantId ?? (() => "") },
    () => new Date(deps.clock.now()),
  );
  return { directory, tokens, identityHeader, routes, graph: createGraphRoutes({ directory, tokens }), grants };
}

import { type SurfaceRequest, header } from "../platform/index.js";
import { type AccessClaims, type TokenService, TokenRejected, PUBLIC_ARM_AUDIENCES } from "../identity/index.js";
import { armErrors } from "./domain/errors.js";

/**
 * ARM's front gate: a bearer token signed by tdekv's Entra, unexpired, for an ARM audience. Direct-mode
 * SDKs ask for `${endpoint}/.default` (sdk-compat.md §4.1), so the direct endpoint is an ARM audience too.
 */
export function armAudiences(localOrigins: string[]): string[] {
  const extra = localOrigins.flatMap((o) => [o, `${o}/`]);
  return [...PUBLIC_ARM_AUDIENCES, ...extra];
}

export async function authenticateArm(req: SurfaceRequest, tokens: TokenService, audiences: string[]): Promise<AccessClaims> {
  const auth = header(req, "authorization");
  if (!auth) throw armErrors.missingAuthorization();
  const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
  if (!m) throw armErrors.invalidAuthorizationFormat();
  try {
    return await tokens.verify(m[1]!, audiences);
  } catch (err) {
    if (!(err instanceof TokenRejected)) throw err;
    switch (err.reason) {
      case "expired":
        throw armErrors.expiredToken(err.detail.expiredAt ?? "", err.detail.now ?? "");
      case "audience":
        throw armErrors.wrongAudience(err.detail.audience ?? "");
      case "not-yet-valid":
        throw armErrors.invalidToken("The access token is not yet valid.");
      default:
        throw armErrors.invalidToken();
    }
  }
}

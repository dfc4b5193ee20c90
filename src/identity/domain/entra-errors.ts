import { EntraError } from "./errors.js";

/** Entra ID's refusals, with their AADSTS numbers and message text (az-cli-compat.md §5.2; Entra docs). */
export const entraErrors = {
  tenantNotFound: (tenant: string) =>
    new EntraError(
      400,
      "invalid_request",
      90002,
      `AADSTS90002: Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
    ),
  applicationNotFound: (clientId: string, tenant: string) =>
    new EntraError(
      400,
      "unauthorized_client",
      700016,
      `AADSTS700016: Application with identifier '${clientId}' was not found in the directory '${tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
    ),
  invalidSecret: (clientId: string) =>
    new EntraError(
      401,
      "invalid_client",
      7000215,
      `AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`,
    ),
  missingField: (field: string) =>
    new EntraError(
      400,
      "invalid_request",
      900144,
      `AADSTS900144: The request body must contain the following parameter: '${field}'.`,
    ),
  unsupportedGrant: (grant: string) =>
    new EntraError(400, "unsupported_grant_type", 70003, `AADSTS70003: The app requested an unsupported grant type '${grant}'.`),
  invalidScope: (scope: string) =>
    new EntraError(
      400,
      "invalid_scope",
      1002012,
      `AADSTS1002012: The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
    ),
  resourceNotFound: (resource: string, tenant: string) =>
    new EntraError(
      400,
      "invalid_resource",
      500011,
      `AADSTS500011: The resource principal named ${resource} was not found in the tenant named ${tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
    ),
  tenantRequired: () =>
    new EntraError(
      400,
      "invalid_request",
      900023,
      "AADSTS900023: Specified tenant identifier 'organizations' is neither a valid DNS name, nor a valid external domain. Client credential flows need a tenant id.",
    ),
  // Authorization code + PKCE and refresh tokens (issue 9 §1): Entra's numbers and texts.
  redirectMismatch: (redirectUri: string, appId: string) =>
    new EntraError(
      400,
      "invalid_request",
      50011,
      `AADSTS50011: The redirect URI '${redirectUri}' specified in the request does not match the redirect URIs configured for the application '${appId}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to learn more about how to fix this.`,
    ),
  pkceRequired: (detail = "") =>
    new EntraError(400, "invalid_request", 9002325, `AADSTS9002325: Proof Key for Code Exchange is required for cross-origin authorization code redemption.${detail}`),
  invalidChallenge: () => new EntraError(400, "invalid_request", 501491, "AADSTS501491: Invalid size of Code_Challenge parameter."),
  unsupportedResponseType: (responseType: string) =>
    new EntraError(400, "unsupported_response_type", 700054, `AADSTS700054: response_type '${responseType}' is not enabled for the application.`),
  loginRequired: () => new EntraError(400, "login_required", 50058, "AADSTS50058: A silent sign-in request was sent but no user is signed in."),
  codeInvalid: () => new EntraError(400, "invalid_grant", 9002313, "AADSTS9002313: Invalid request. Request is malformed or invalid."),
  codeExpired: () =>
    new EntraError(
      400,
      "invalid_grant",
      70008,
      "AADSTS70008: The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.",
    ),
  codeRedeemed: () =>
    new EntraError(400, "invalid_grant", 54005, "AADSTS54005: OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token."),
  verifierMismatch: () =>
    new EntraError(400, "invalid_grant", 50148, "AADSTS50148: The code_verifier does not match the code_challenge supplied in the authorization request for PKCE."),
  verifierInvalid: () =>
    new EntraError(400, "invalid_grant", 501481, "AADSTS501481: The Code_Verifier does not match the code_challenge supplied in the authorization request."),
  replyAddressMismatch: (sent: string, original: string) =>
    new EntraError(400, "invalid_grant", 500112, `AADSTS500112: The reply address '${sent}' does not match the reply address '${original}' provided when requesting Authorization code.`),
  refreshRevoked: () =>
    new EntraError(
      400,
      "invalid_grant",
      50173,
      "AADSTS50173: The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.",
    ),
  refreshExpired: (issuedAt: string) =>
    new EntraError(400, "invalid_grant", 700082, `AADSTS700082: The refresh token has expired due to inactivity. The token was issued on ${issuedAt} and was inactive for 1.00:00:00.`),
  invalidDelegatedScope: (scope: string) =>
    new EntraError(400, "invalid_scope", 70011, `AADSTS70011: The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope ${scope} is not valid.`),
  userNotFound: (user: string, tenant: string) =>
    new EntraError(400, "invalid_grant", 50034, `AADSTS50034: The user account ${user} does not exist in the ${tenant} directory. To sign into this application, the account must be added to the directory.`),
};

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
};

import { DomainError } from "../../platform/index.js";

/**
 * An error that ARM renders as `{"error":{"code","message"}}` with its status (sdk-compat.md §4.4,
 * azure-sql-tde.md §1.2). Codes and messages are Azure's.
 */
export class ArmError extends DomainError {
  readonly kind = "arm";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly target?: string,
  ) {
    super(message);
  }
}

const ALLOWED_AUDIENCES = "'https://management.core.windows.net/','https://management.core.windows.net','https://management.azure.com/','https://management.azure.com'";

const challenge = (description: string): Record<string, string> => ({
  "www-authenticate": `Bearer authorization_uri="https://login.windows.net/", error="invalid_token", error_description="${description}"`,
});

/** ARM's own catalog (the gateway's errors, before any resource provider sees the request). */
export const armErrors = {
  missingAuthorization: () =>
    new ArmError(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.", challenge("The authentication failed because of missing 'Authorization' header.")),
  invalidAuthorizationFormat: () =>
    new ArmError(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is provided in an invalid format.", challenge("The authentication scheme of Basic is not supported.")),
  invalidToken: (why = "The access token is invalid.") => new ArmError(401, "InvalidAuthenticationToken", why, challenge("The access token is invalid.")),
  expiredToken: (expiredAt: string, now: string) =>
    new ArmError(
      401,
      "ExpiredAuthenticationToken",
      `The access token expiry UTC time '${expiredAt}' is earlier than current UTC time '${now}'.`,
      challenge("The access token expiry UTC time is earlier than current UTC time."),
    ),
  wrongAudience: (audience: string) =>
    new ArmError(
      401,
      "InvalidAuthenticationTokenAudience",
      `The access token has been obtained for wrong audience or resource '${audience}'. It should exactly match with one of the allowed audiences ${ALLOWED_AUDIENCES}.`,
      challenge("The access token has been obtained for wrong audience or resource."),
    ),
  wrongTenant: (tokenTenant: string, subscriptionTenant: string) =>
    new ArmError(
      401,
      "InvalidAuthenticationTokenTenant",
      `The access token is from the wrong issuer 'https://sts.windows.net/${tokenTenant}/'. It must match the tenant 'https://sts.windows.net/${subscriptionTenant}/' associated with this subscription. Please use the authority (URL) 'https://login.windows.net/${subscriptionTenant}' to get the token. Note, if the subscription is transferred to another tenant there is no impact to the services, but information about new tenant could take time to propagate (up to an hour). If you just transferred your subscription and see this error message, please try back later.`,
      challenge("The access token is from the wrong issuer."),
    ),
  missingApiVersion: () => new ArmError(400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests."),
  subscriptionNotFound: (sub: string) => new ArmError(404, "SubscriptionNotFound", `The subscription '${sub}' could not be found.`),
  invalidSubscriptionId: (sub: string) => new ArmError(400, "InvalidSubscriptionId", `The provided subscription identifier '${sub}' is malformed or invalid.`),
  resourceGroupNotFound: (rg: string) => new ArmError(404, "ResourceGroupNotFound", `Resource group '${rg}' could not be found.`),
  resourceNotFound: (type: string, name: string, rg: string) =>
    new ArmError(404, "ResourceNotFound", `The Resource '${type}/${name}' under resource group '${rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`),
  invalidResourceNamespace: (ns: string) => new ArmError(404, "InvalidResourceNamespace", `The resource namespace '${ns}' is invalid.`),
  invalidResourceType: (type: string, ns: string, apiVersion: string) =>
    new ArmError(400, "InvalidResourceType", `The resource type '${type}' could not be found in the namespace '${ns}' for api version '${apiVersion}'.`),
  pathNotFound: (path: string) => new ArmError(404, "NotFound", `The requested path '${path}' was not found.`),
  methodNotAllowed: (method: string, path: string) =>
    new ArmError(405, "MethodNotAllowed", `The requested resource does not support http method '${method}'.`, {}, path),
  invalidRequestContent: (detail: string) => new ArmError(400, "InvalidRequestContent", `The request content was invalid and could not be deserialized: '${detail}'.`),
  unsupportedMediaType: (type: string) =>
    new ArmError(415, "UnsupportedMediaType", `The content media type '${type}' is not supported. Only 'application/json' is supported.`),
  requestTooLarge: () => new ArmError(413, "RequestEntityTooLarge", "The request content size exceeds the maximum size of 4 MB."),
  locationRequired: () => new ArmError(400, "LocationRequired", "The location property is required for this definition."),
  invalidParameter: (message: string, target?: string) => new ArmError(400, "InvalidParameter", message, {}, target),
  invalidResourceGroupName: (name: string) =>
    new ArmError(400, "InvalidResourceGroupName", `The resource group name '${name}' is invalid. It must be 1-90 characters of letters, digits, underscores, hyphens, periods (not at the end) and parentheses.`),
  resourceGroupLocationChange: (rg: string, location: string, sub: string) =>
    new ArmError(
      409,
      "InvalidResourceGroupLocation",
      `Invalid resource group location. The Resource group already exists in location '${location}'. A resource group cannot be moved to another location. Resource group '${rg}' in subscription '${sub}'.`,
    ),
  invalidResourceName: (name: string, type: string) =>
    new ArmError(400, "InvalidResourceName", `Resource name '${name}' is invalid for resource type '${type}'.`),
  operationNotFound: (id: string) => new ArmError(404, "OperationNotFound", `The operation '${id}' could not be found.`),
  missingMoveResources: () => new ArmError(400, "MissingMoveResources", "The list of resources to move is missing or empty."),
  invalidMoveTarget: (message: string) => new ArmError(400, "InvalidTargetResourceGroup", message),
  resourceNotInGroup: (id: string, rg: string) =>
    new ArmError(400, "ResourceNotInResourceGroup", `The resource '${id}' is not in the source resource group '${rg}'.`),
  moveConflict: (id: string) => new ArmError(409, "ResourceMoveConflict", `A resource with the id '${id}' already exists in the target resource group.`),
  crossTenantMove: () =>
    new ArmError(400, "CrossTenantMoveNotSupported", "Resources cannot be moved to a subscription in a different Azure Active Directory tenant."),
};

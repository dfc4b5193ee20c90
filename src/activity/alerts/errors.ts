import { ArmError } from "../../arm/index.js";

/**
 * Microsoft.Insights' own errors for action groups and activity-log alert rules. Codes marked "observed"
 * were seen from Azure (GitHub issues quoting real responses); the others follow the observed naming
 * pattern and are listed as inferred in docs/alerts.md. All are 4xx: bad input never becomes a 500.
 */
export const insightsErrors = {
  /** Observed (Azure/AzureMonitorStarterPacks#109, Azure/bellhop#72), message verbatim. */
  groupShortNameTooLong: (shortName: string) =>
    new ArmError(400, "GroupShortNameIsTooLong", `The action group short name '${shortName}' is too long. Please specify a short name with '12' or less characters.`),
  /** Observed pattern: `AutomationRunbookReceiverNameIsNullOrEmpty` (MicrosoftDocs/azure-docs#37405), message = code. */
  nullOrEmpty: (code: string) => new ArmError(400, code, code),
  /** Inferred. */
  duplicateReceiverName: (kind: string, name: string) =>
    new ArmError(400, "ReceiverNameIsNotUnique", `The ${kind} receiver name '${name}' is used more than once in this action group. Receiver names must be unique.`),
  /** Inferred. */
  invalidEmailAddress: (address: string) => new ArmError(400, "EmailAddressIsInvalid", `The email address '${address}' is not valid.`),
  /** Inferred. */
  invalidUri: (field: string, value: string) => new ArmError(400, "InvalidServiceUri", `The ${field} '${value}' is not a valid absolute http or https URI.`),
  /** ARM's gateway wording for a region a type does not offer; action groups and rules are global. */
  locationNotAvailable: (location: string, type: string) =>
    new ArmError(
      400,
      "LocationNotAvailableForResourceType",
      `The provided location '${location}' is not available for resource type '${type}'. List of available regions for the resource type is 'global'.`,
    ),
  /** Observed (Azure/azure-cli#8732): `UnsupportedCondition`; used for every condition Azure would not accept. */
  unsupportedCondition: (message: string) => new ArmError(400, "UnsupportedCondition", message),
  badRequest: (message: string) => new ArmError(400, "BadRequest", message),
  receiverNotFound: (name: string) => new ArmError(404, "ReceiverNotFound", `The receiver '${name}' could not be found in the action group.`),
  notificationNotFound: (id: string) => new ArmError(404, "NotFound", `The notification '${id}' was not found.`),
};

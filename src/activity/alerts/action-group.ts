import { armErrors } from "../../arm/index.js";
import { insightsErrors } from "./errors.js";

/**
 * `Microsoft.Insights/actionGroups` (api-versions 2021-09-01 for arm-monitor 7, 2022-06-01 for az 2.45):
 * the receiver lists, their required fields, what tdekv does with each, and the body Azure returns
 * (azure-rest-api-specs monitor 2022-06-01 examples/createOrUpdateActionGroup.json).
 */
export const ACTION_GROUP_TYPE = "Microsoft.Insights/ActionGroups";

/** How a receiver's notification leaves tdekv: an HTTP POST, an SMTP message, or nowhere (kept in the outbox). */
export type Channel = "http" | "smtp" | "none";

export interface ReceiverSpec {
  /** Property of `properties` holding the list, e.g. "webhookReceivers". */
  list: string;
  /** Short kind used in the outbox and its API, e.g. "webhook". */
  kind: string;
  /** MechanismType of Azure's notification status (getTestNotifications examples). */
  mechanism: string;
  /** Prefix of Azure's `{Prefix}{Field}IsNullOrEmpty` codes. */
  codePrefix: string;
  required: string[];
  optional: string[];
  channel: Channel;
  /** The field holding the URL an http receiver is called at. */
  urlField?: string;
  /** Receivers whose model has `useCommonAlertSchema` (defaulted to false in responses). */
  commonSchema: boolean;
  /** Email and SMS receivers carry `status` (Enabled until someone unsubscribes). */
  hasStatus: boolean;
}

/**
 * Logic apps, automation runbooks and Azure functions are called at their URL exactly like webhooks: that is
 * how a user wires auto-remediation. SMS, voice, push, ITSM, ARM-role and Event Hub receivers need a carrier
 * or a service tdekv cannot reach, so their notifications stay in the local outbox (docs/alerts.md).
 */
export const RECEIVERS: ReceiverSpec[] = [
  { list: "emailReceivers", kind: "email", mechanism: "Email", codePrefix: "EmailReceiver", required: ["name", "emailAddress"], optional: ["useCommonAlertSchema"], channel: "smtp", commonSchema: true, hasStatus: true },
  { list: "smsReceivers", kind: "sms", mechanism: "Sms", codePrefix: "SmsReceiver", required: ["name", "countryCode", "phoneNumber"], optional: [], channel: "none", commonSchema: false, hasStatus: true },
  {
    list: "webhookReceivers",
    kind: "webhook",
    mechanism: "Webhook",
    codePrefix: "WebhookReceiver",
    required: ["name", "serviceUri"],
    optional: ["useCommonAlertSchema", "useAadAuth", "objectId", "identifierUri", "tenantId"],
    channel: "http",
    urlField: "serviceUri",
    commonSchema: true,
    hasStatus: false,
  },
  { list: "itsmReceivers", kind: "itsm", mechanism: "Itsm", codePrefix: "ItsmReceiver", required: ["name", "workspaceId", "connectionId", "ticketConfiguration", "region"], optional: [], channel: "none", commonSchema: false, hasStatus: false },
  { list: "azureAppPushReceivers", kind: "azureAppPush", mechanism: "AzureAppPush", codePrefix: "AzureAppPushReceiver", required: ["name", "emailAddress"], optional: [], channel: "none", commonSchema: false, hasStatus: false },
  {
    list: "automationRunbookReceivers",
    kind: "automationRunbook",
    mechanism: "AutomationRunbook",
    codePrefix: "AutomationRunbookReceiver",
    required: ["name", "automationAccountId", "runbookName", "webhookResourceId", "isGlobalRunbook"],
    optional: ["serviceUri", "useCommonAlertSchema"],
    channel: "http",
    urlField: "serviceUri",
    commonSchema: true,
    hasStatus: false,
  },
  { list: "voiceReceivers", kind: "voice", mechanism: "Voice", codePrefix: "VoiceReceiver", required: ["name", "countryCode", "phoneNumber"], optional: [], channel: "none", commonSchema: false, hasStatus: false },
  {
    list: "logicAppReceivers",
    kind: "logicApp",
    mechanism: "LogicApp",
    codePrefix: "LogicAppReceiver",
    required: ["name", "resourceId", "callbackUrl"],
    optional: ["useCommonAlertSchema"],
    channel: "http",
    urlField: "callbackUrl",
    commonSchema: true,
    hasStatus: false,
  },
  {
    list: "azureFunctionReceivers",
    kind: "azureFunction",
    mechanism: "AzureFunction",
    codePrefix: "AzureFunctionReceiver",
    required: ["name", "functionAppResourceId", "functionName", "httpTriggerUrl"],
    optional: ["useCommonAlertSchema"],
    channel: "http",
    urlField: "httpTriggerUrl",
    commonSchema: true,
    hasStatus: false,
  },
  { list: "armRoleReceivers", kind: "armRole", mechanism: "ArmRole", codePrefix: "ArmRoleReceiver", required: ["name", "roleId"], optional: ["useCommonAlertSchema"], channel: "none", commonSchema: true, hasStatus: false },
  {
    list: "eventHubReceivers",
    kind: "eventHub",
    mechanism: "EventHub",
    codePrefix: "EventHubReceiver",
    required: ["name", "eventHubNameSpace", "eventHubName", "subscriptionId"],
    optional: ["useCommonAlertSchema", "tenantId"],
    channel: "none",
    commonSchema: true,
    hasStatus: false,
  },
];

export type Receiver = Record<string, unknown> & { name: string };

export interface ActionGroupProperties {
  groupShortName: string;
  enabled: boolean;
  [list: string]: unknown;
}

export interface ActionGroupBody {
  id: string;
  type: string;
  name: string;
  location: string;
  tags: Record<string, string>;
  properties: ActionGroupProperties;
}

/** Azure: "This will be used in SMS messages"; 12 characters at most (GroupShortNameIsTooLong). */
export const SHORT_NAME_MAX = 12;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const upperFirst = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$|^[^@\s]+@localhost$/i;

export function isHttpUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return u.protocol === "http:" || u.protocol === "https:";
  } catch {
    return false;
  }
}

/** Validates one receiver list and returns it as Azure echoes it (known fields only, defaults filled in). */
function readReceivers(spec: ReceiverSpec, raw: unknown): Receiver[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw armErrors.invalidRequestContent(`properties.${spec.list} must be an array`);
  const seen = new Set<string>();
  return raw.map((item) => {
    if (!isObject(item)) throw armErrors.invalidRequestContent(`each item of properties.${spec.list} must be an object`);
    for (const field of spec.required) {
      const v = item[field];
      const empty = v === undefined || v === null || (typeof v === "string" && !v.trim());
      if (empty) throw insightsErrors.nullOrEmpty(`${spec.codePrefix}${upperFirst(field)}IsNullOrEmpty`);
      if (field !== "isGlobalRunbook" && typeof v !== "string") throw armErrors.invalidRequestContent(`${spec.list}[].${field} must be a string`);
    }
    if (spec.list === "automationRunbookReceivers" && typeof item.isGlobalRunbook !== "boolean") throw armErrors.invalidRequestContent("automationRunbookReceivers[].isGlobalRunbook must be a boolean");
    const name = String(item.name);
    if (seen.has(name.toLowerCase())) throw insightsErrors.duplicateReceiverName(spec.kind, name);
    seen.add(name.toLowerCase());
    if ((spec.kind === "email" || spec.kind === "azureAppPush") && !EMAIL.test(String(item.emailAddress))) throw insightsErrors.invalidEmailAddress(String(item.emailAddress));
    const out: Receiver = { name };
    for (const field of [...spec.required, ...spec.optional]) {
      if (field === "name" || item[field] === undefined || item[field] === null) continue;
      out[field] = item[field];
    }
    for (const flag of ["useCommonAlertSchema", "useAadAuth"]) {
      if (out[flag] !== undefined && typeof out[flag] !== "boolean") throw armErrors.invalidRequestContent(`${spec.list}[].${flag} must be a boolean`);
    }
    if (spec.urlField && typeof out[spec.urlField] === "string" && !isHttpUrl(out[spec.urlField] as string)) {
      throw insightsErrors.invalidUri(spec.urlField, out[spec.urlField] as string);
    }
    if (spec.commonSchema && out.useCommonAlertSchema === undefined) out.useCommonAlertSchema = false;
    if (spec.hasStatus) out.status = "Enabled";
    return out;
  });
}

/** Every receiver list of a body (an action group's properties, or a test-notification request), validated. */
export function readReceiverLists(raw: Record<string, unknown>): Record<string, Receiver[]> {
  return Object.fromEntries(RECEIVERS.map((spec) => [spec.list, readReceivers(spec, raw[spec.list])]));
}

/** Reads and validates a PUT body's `properties`; the caller has checked location and tags. */
export function readActionGroupProperties(raw: unknown): ActionGroupProperties {
  if (!isObject(raw)) throw armErrors.invalidRequestContent("properties must be an object");
  const shortName = raw.groupShortName;
  if (shortName === undefined || shortName === null || (typeof shortName === "string" && !shortName.trim())) throw insightsErrors.nullOrEmpty("GroupShortNameIsNullOrEmpty");
  if (typeof shortName !== "string") throw armErrors.invalidRequestContent("properties.groupShortName must be a string");
  if (shortName.length > SHORT_NAME_MAX) throw insightsErrors.groupShortNameTooLong(shortName);
  if (raw.enabled !== undefined && raw.enabled !== null && typeof raw.enabled !== "boolean") throw armErrors.invalidRequestContent("properties.enabled must be a boolean");
  const props: ActionGroupProperties = { groupShortName: shortName, enabled: raw.enabled === undefined || raw.enabled === null ? true : raw.enabled };
  Object.assign(props, readReceiverLists(raw));
  return props;
}

/** Every receiver of a group with its spec, in Azure's list order. */
export function receiversOf(group: ActionGroupBody): { spec: ReceiverSpec; receiver: Receiver }[] {
  const out: { spec: ReceiverSpec; receiver: Receiver }[] = [];
  for (const spec of RECEIVERS) {
    const list = group.properties[spec.list];
    if (Array.isArray(list)) for (const receiver of list as Receiver[]) out.push({ spec, receiver });
  }
  return out;
}

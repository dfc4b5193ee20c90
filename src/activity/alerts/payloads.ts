import { createHash } from "node:crypto";
import type { EventData } from "../event-shape.js";
import type { AlertRuleBody } from "./alert-rule.js";

/**
 * What a webhook (and a logic app, runbook or function) receives. Two shapes, chosen per receiver by
 * `useCommonAlertSchema`:
 * - the common alert schema (azure-sql-tde.md §4.6; MicrosoftDocs/azure-monitor-docs alerts-common-schema.md,
 *   "Activity log alerts context fields"), where `alertContext` carries plain strings (`operationName`,
 *   `status`) and `claims` is a JSON string, not the Activity Log API's `{value, localizedValue}` objects;
 * - the legacy activity-log payload (activity-log-alerts-webhook.md): `schemaId`
 *   "Microsoft.Insights/activityLogs", `data.status` "Activated", the event under
 *   `data.context.activityLog`, and the rule's webhookProperties under `data.properties`.
 */
export const COMMON_SCHEMA_ID = "azureMonitorCommonAlertSchema";
export const LEGACY_SCHEMA_ID = "Microsoft.Insights/activityLogs";

/** `2019-03-22T13:56:31.2917159+00:00`: the alert context's 7-digit, explicit-offset timestamps. */
export function offsetTime(iso: string): string {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(iso);
  return m ? `${m[1]}.${(m[2] ?? "").padEnd(7, "0").slice(0, 7)}+00:00` : iso;
}

/** `2019-03-22T13:58:24.3713213Z`: essentials' firedDateTime. */
export function zuluTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, (_m, frac: string) => `.${frac}0000Z`);
}

/** A GUID derived from its inputs, so an alert keeps its id across restarts and retries. */
export function stableGuid(...parts: string[]): string {
  const h = createHash("sha256").update(parts.join("\n")).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h.slice(16, 17), 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function alertIdFor(rule: AlertRuleBody, event: EventData): string {
  return `/subscriptions/${event.subscriptionId}/providers/Microsoft.AlertsManagement/alerts/${stableGuid(rule.id.toLowerCase(), event.eventDataId)}`;
}

/** Monitoring service per category (§4.6: "Activity Log - Administrative", "Resource Health"). */
export function monitoringService(category: string): string {
  if (category === "ResourceHealth") return "Resource Health";
  if (category === "ServiceHealth") return "ServiceHealth";
  return `Activity Log - ${category}`;
}

const lastSegment = (id: string) => id.split("/").filter(Boolean).pop() ?? id;

/** alertContext for an Activity Log event (alerts-common-schema.md samples per monitoringService). */
function alertContext(event: EventData): Record<string, unknown> {
  const category = event.category.value;
  const common = {
    channels: category === "ResourceHealth" ? "Admin, Operation" : event.channels,
    correlationId: event.correlationId,
    eventSource: category,
    eventTimestamp: offsetTime(event.eventTimestamp),
    eventDataId: event.eventDataId,
    level: event.level,
    operationName: event.operationName.value,
    operationId: event.operationId,
    properties: event.properties,
    status: event.status.value,
    subStatus: event.subStatus.value,
    submissionTimestamp: offsetTime(event.submissionTimestamp),
  };
  // Resource Health events carry no caller, claims or authorization (the ResourceHealth sample).
  if (category === "ResourceHealth") return common;
  return { authorization: event.authorization, claims: JSON.stringify(event.claims ?? {}), caller: event.caller, ...common };
}

export function commonAlertPayload(args: { event: EventData; rule: AlertRuleBody; alertId: string; firedAt: number; customProperties: Record<string, string> | undefined }) {
  const { event, rule } = args;
  return {
    schemaId: COMMON_SCHEMA_ID,
    data: {
      essentials: {
        alertId: args.alertId,
        alertRule: rule.name,
        alertRuleId: rule.id,
        severity: "Sev4",
        signalType: "Activity Log",
        monitorCondition: "Fired",
        monitoringService: monitoringService(event.category.value),
        alertTargetIDs: [event.resourceId.toLowerCase()],
        configurationItems: [lastSegment(event.resourceId)],
        originAlertId: `${event.eventDataId}_${stableGuid(rule.id.toLowerCase()).replace(/-/g, "")}`,
        firedDateTime: zuluTime(args.firedAt),
        description: rule.properties.description ?? "",
        essentialsVersion: "1.0",
        alertContextVersion: "1.0",
        targetResourceGroup: event.resourceGroupName,
        targetResourceType: event.resourceType.value,
      },
      alertContext: alertContext(event),
      // "If custom properties aren't set in the alert rule, the field is null." (alerts-common-schema.md)
      customProperties: args.customProperties && Object.keys(args.customProperties).length ? args.customProperties : null,
    },
  };
}

export function legacyActivityLogPayload(args: { event: EventData; webhookProperties: Record<string, string> | undefined }) {
  const { event } = args;
  return {
    schemaId: LEGACY_SCHEMA_ID,
    data: {
      status: "Activated",
      context: {
        activityLog: {
          authorization: event.authorization,
          channels: event.channels,
          claims: JSON.stringify(event.claims ?? {}),
          caller: event.caller,
          correlationId: event.correlationId,
          description: event.description,
          eventSource: event.category.value,
          eventTimestamp: offsetTime(event.eventTimestamp),
          eventDataId: event.eventDataId,
          level: event.level,
          operationName: event.operationName.value,
          operationId: event.operationId,
          properties: event.properties,
          resourceId: event.resourceId,
          resourceGroupName: event.resourceGroupName,
          resourceProviderName: event.resourceProviderName.value,
          status: event.status.value,
          subStatus: event.subStatus.value,
          subscriptionId: event.subscriptionId,
          submissionTimestamp: offsetTime(event.submissionTimestamp),
          resourceType: event.resourceType.value,
        },
      },
      properties: args.webhookProperties ?? {},
    },
  };
}

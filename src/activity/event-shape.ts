import { newGuid } from "../platform/index.js";

/** `{value, localizedValue}`, the shape of every named field of an Activity Log event. */
export const localized = (value: string, localizedValue: string = value) => ({ value, localizedValue });

export type EventCategory = "Administrative" | "ResourceHealth" | "ServiceHealth" | "Alert";
export type EventStatus = "Started" | "InProgress" | "Succeeded" | "Failed" | "Active" | "Resolved" | "Accepted";

/** What a component says about something that happened; the log adds ids, times and Azure's envelope. */
export interface NewEvent {
  subscriptionId: string;
  tenantId: string;
  resourceId: string;
  category: EventCategory;
  /** e.g. Microsoft.Sql/servers/databases/write */
  operationName: string;
  operationLocalized?: string;
  /** The seed's EventName, e.g. MakeDatabaseInaccessible (also kept in properties.eventName). */
  eventName: string;
  status: EventStatus;
  description: string;
  correlationId?: string;
  caller?: string;
  level?: "Critical" | "Error" | "Warning" | "Informational";
  properties?: Record<string, unknown>;
}

/** Resource id parts an event carries (resourceGroupName, resourceProviderName, resourceType). */
export function resourceParts(resourceId: string) {
  const seg = resourceId.split("/").filter(Boolean);
  const rgIdx = seg.findIndex((s) => s.toLowerCase() === "resourcegroups");
  const provIdx = seg.findIndex((s) => s.toLowerCase() === "providers");
  const namespace = provIdx >= 0 ? seg[provIdx + 1] ?? "" : "";
  const types = provIdx >= 0 ? seg.slice(provIdx + 2).filter((_, i) => i % 2 === 0) : [];
  return {
    resourceGroup: rgIdx >= 0 ? seg[rgIdx + 1] : undefined,
    namespace,
    resourceType: namespace ? [namespace, ...types].join("/") : "",
  };
}

/**
 * Azure's EventData shape (azure-sql-tde.md §4.5, az-cli-compat.md §6: the fields az prints), with the
 * seed's EventName in `eventName.value` and in `properties.eventName`, as the portal's JSON tab shows it.
 */
export function eventData(e: NewEvent, ids: { eventDataId: string; eventTimestamp: number; submissionTimestamp: number }) {
  const parts = resourceParts(e.resourceId);
  const ts = new Date(ids.eventTimestamp).toISOString();
  const ticks = BigInt(ids.eventTimestamp) * 10_000n + 621_355_968_000_000_000n;
  return {
    authorization: { action: e.operationName, scope: e.resourceId },
    caller: e.caller ?? "Microsoft.Sql",
    channels: "Operation",
    claims: {},
    correlationId: e.correlationId ?? newGuid(),
    description: e.description,
    eventDataId: ids.eventDataId,
    eventName: localized(e.eventName),
    category: localized(e.category),
    id: `${e.resourceId}/events/${ids.eventDataId}/ticks/${ticks}`,
    level: e.level ?? "Informational",
    operationId: newGuid(),
    operationName: localized(e.operationName, e.operationLocalized ?? e.operationName),
    resourceGroupName: parts.resourceGroup ?? "",
    resourceProviderName: localized(parts.namespace),
    resourceType: localized(parts.resourceType),
    resourceId: e.resourceId,
    status: localized(e.status),
    subStatus: localized(""),
    eventTimestamp: ts,
    submissionTimestamp: new Date(ids.submissionTimestamp).toISOString(),
    subscriptionId: e.subscriptionId,
    tenantId: e.tenantId,
    properties: { eventCategory: e.category, eventName: e.eventName, description: e.description, ...(e.properties ?? {}) },
    relatedEvents: [],
  };
}

export type EventData = ReturnType<typeof eventData>;

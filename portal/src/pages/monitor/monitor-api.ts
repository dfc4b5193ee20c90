import { armListAll } from "../../lib/api";
import type { ArmResource } from "../../lib/types";

/**
 * The public Azure Monitor APIs the Monitor pages use, as az does: the Activity Log
 * (Microsoft.Insights/eventtypes/management/values, 2015-04-01), action groups (2022-06-01, with
 * createNotifications for "Test action group") and activity-log alert rules (2020-10-01).
 */
export const EVENTS_API = "2015-04-01";
export const ACTION_GROUPS_API = "2022-06-01";
export const ALERT_RULES_API = "2020-10-01";
export const RESOURCES_API = "2021-04-01";

import type { ActivityEvent } from "../../lib/types";
export type { ActivityEvent };

export interface Subscription {
  subscriptionId: string;
  displayName?: string;
  tenantId?: string;
}

export const listSubscriptions = () => armListAll<Subscription>("/subscriptions?api-version=2020-01-01");

/** Azure's $filter for the Activity Log: a time window, optionally one resource group or resource. */
export function eventsPath(sub: string, fromMs: number, toMs: number, scope: { resourceGroup?: string; resourceId?: string }): string {
  const terms = [`eventTimestamp ge '${new Date(fromMs).toISOString()}'`, `eventTimestamp le '${new Date(toMs).toISOString()}'`];
  if (scope.resourceId) terms.push(`resourceId eq '${scope.resourceId}'`);
  else if (scope.resourceGroup) terms.push(`resourceGroupName eq '${scope.resourceGroup}'`);
  return `/subscriptions/${sub}/providers/Microsoft.Insights/eventtypes/management/values?api-version=${EVENTS_API}&$filter=${encodeURIComponent(terms.join(" and "))}`;
}

export const listEvents = (path: string) => armListAll<ActivityEvent>(path);

/** Resources of a subscription (for the Resource filter and alert scopes). */
export const listResources = (sub: string) => armListAll<ArmResource>(`/subscriptions/${sub}/resources?api-version=${RESOURCES_API}`);
export const listResourceGroups = (sub: string) => armListAll<ArmResource>(`/subscriptions/${sub}/resourcegroups?api-version=${RESOURCES_API}`);

/** "Download as CSV": Azure's header row (portal.md §1.5), RFC 4180 quoting. */
export const CSV_HEADER = ["Correlation id", "Operation name", "Status", "Event category", "Level", "Time", "Subscription", "Event initiated by", "Resource type", "Resource group", "Resource"];

const cell = (v: string | undefined): string => {
  const s = v ?? "";
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

export function eventsCsv(events: ActivityEvent[], subName: (id: string) => string): string {
  const rows = events.map((e) =>
    [
      e.correlationId,
      e.operationName.localizedValue || e.operationName.value,
      e.status.localizedValue || e.status.value,
      e.category.localizedValue || e.category.value,
      e.level,
      e.eventTimestamp,
      subName(e.subscriptionId),
      e.caller,
      e.resourceType?.value,
      e.resourceGroupName,
      e.resourceId,
    ].map(cell),
  );
  return [CSV_HEADER, ...rows].map((r) => r.join(",")).join("\r\n") + "\r\n";
}

/** Starts a browser download of `text` (a Blob URL: nothing leaves the machine). */
export function download(name: string, text: string, type = "text/csv"): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

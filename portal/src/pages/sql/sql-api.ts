import type { ArmResource } from "../../lib/types";

/**
 * The public ARM shapes the SQL pages read (Microsoft.Sql, Microsoft.Insights, Microsoft.ResourceHealth) and
 * the paths to them. The portal calls exactly what az calls (issue 9 §1): nothing here is tdekv-only except
 * `/_tdekv/clock` and `/_tdekv/alerts/outbox` (portal.md §2 allows clock and notifications).
 */

/** Microsoft.Sql api-version for servers, managed instances, databases, keys and the protector (az 2.45's). */
export const SQL_API = "2021-11-01";
export const KV_API = "2022-07-01";
export const KV_DATA_API = "7.4";
export const INSIGHTS_API = "2015-04-01";
export const HEALTH_API = "2020-05-01";

export const api = (path: string, version = SQL_API) => `${path}${path.includes("?") ? "&" : "?"}api-version=${version}`;

export const isManaged = (id: string) => /\/providers\/microsoft\.sql\/managedinstances\//i.test(id);
export const isDatabase = (id: string) => /\/databases\/[^/]+$/i.test(id);
export const serverIdOf = (id: string) => id.replace(/\/databases\/[^/]+$/i, "");
export const subscriptionOf = (id: string) => id.split("/")[2] ?? "";
export const resourceGroupOf = (id: string) => id.split("/")[4] ?? "";
export const nameOf = (id: string) => id.split("/").filter(Boolean).pop() ?? id;

export interface ServerKey {
  id: string;
  name: string;
  kind?: string;
  properties: { serverKeyType: "ServiceManaged" | "AzureKeyVault"; uri?: string; thumbprint?: string; creationDate?: string; autoRotationEnabled?: boolean };
}

export interface Protector {
  id: string;
  kind?: string;
  properties: { serverKeyType: "ServiceManaged" | "AzureKeyVault"; serverKeyName: string; uri?: string; thumbprint?: string; autoRotationEnabled?: boolean };
}

export interface SqlDatabase extends ArmResource {
  properties: { status?: string; databaseId?: string; creationDate?: string; earliestRestoreDate?: string; failoverGroupId?: string; [k: string]: unknown };
}

import type { ActivityEvent } from "../../lib/types";
export type { ActivityEvent };

export interface AvailabilityStatus {
  properties: { availabilityState: "Available" | "Unavailable" | "Degraded" | "Unknown"; title?: string; summary?: string; detailedStatus?: string; reasonType?: string; occuredTime?: string; reportedTime?: string };
}

/** GET /_tdekv/clock. */
export interface ClockInfo {
  now: string;
  mode: string;
  autohealWindowSeconds?: number;
}

/** One row of GET /_tdekv/alerts/outbox (src/activity/alerts/outbox-view.ts). */
export interface Notification {
  id: string;
  status: "Pending" | "Delivered" | "Failed" | "StoredLocally";
  detail?: string;
  createdTime: string;
  deliveredTime?: string | null;
  lastAttemptTime?: string | null;
  receiver: { kind: string; name: string; channel: string; target: string; actionGroupId: string };
  alert: { alertId: string; alertRule: string; alertRuleId: string };
  event: { eventDataId: string; eventName: string; status: string; resourceId: string };
}

/** Seed "Introduction": the auto-heal window, when tdekv does not say otherwise (the doctor's constant). */
export { SEED_WINDOW_MS } from "../../../../src/doctor/seed";

/** The Activity Log of one resource, newest first, over Azure's 90-day retention (portal.md §1.5). */
export function eventsPath(resourceId: string, now: number): string {
  const from = new Date(now - 90 * 86_400_000).toISOString();
  const filter = encodeURIComponent(`eventTimestamp ge '${from}' and resourceId eq '${resourceId}'`);
  return `/subscriptions/${subscriptionOf(resourceId)}/providers/Microsoft.Insights/eventtypes/management/values?api-version=${INSIGHTS_API}&$filter=${filter}`;
}

export const healthPath = (resourceId: string) => api(`${resourceId}/providers/Microsoft.ResourceHealth/availabilityStatuses/current`, HEALTH_API);

/** The seed's event names for both flavours (seed "Getting TDE status from the Activity log"). */
export const LOSS = /^Make(Managed)?(Db|Database)Inaccessible$/i;
export const BACK = /^Make(Managed)?(Db|Database)Accessible$/i;
export const eventNameOf = (e: ActivityEvent) => e.eventName?.value || (e.properties?.eventName as string | undefined) || "";

/** The key vault key URI parts: https://{vault}.vault.{suffix}[:port]/keys/{name}[/{version}]. */
export function parseKeyUri(uri: string): { vault: string; name: string; version?: string } | undefined {
  const m = /^https:\/\/([^./]+)\.vault\.[^/]+\/keys\/([^/]+)(?:\/([^/?]*))?/i.exec(uri);
  if (!m) return undefined;
  return { vault: m[1]!.toLowerCase(), name: m[2]!, ...(m[3] ? { version: m[3] } : {}) };
}

/** Microsoft.Sql's server key name for a Key Vault key: {vault}_{key}_{version} (azure-sql-tde.md §1.3). */
export function serverKeyNameFor(uri: string): string | undefined {
  const k = parseKeyUri(uri);
  return k?.version ? `${k.vault}_${k.name}_${k.version}` : undefined;
}

/** "mm:ss" with at least two minute digits; rounds up so a full window reads 30:00, never 29:59. */
export function mmss(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
}

/** "12m 30s", "1h 02m", "45s": the doctor's own format (already in the bundle with the doctor's rules). */
export { formatDuration as duration } from "../../../../src/doctor/checks";

// Shared types of the portal contract (portal/README.md). Areas (pages/*/index.tsx) implement `Area`.
import type { JSX } from "preact";

/** A resource as ARM returns it (GET on its id). `properties` stays loose: each area narrows what it reads. */
export interface ArmResource {
  id: string;
  name: string;
  type: string;
  location?: string;
  kind?: string;
  tags?: Record<string, string>;
  sku?: Record<string, unknown>;
  identity?: {
    type?: string;
    principalId?: string;
    tenantId?: string;
    userAssignedIdentities?: Record<string, { principalId?: string; clientId?: string }>;
  };
  properties?: Record<string, any>;
  [extra: string]: unknown;
}

/** ARM's list envelope. */
export interface ArmList<T> {
  value: T[];
  nextLink?: string;
}

/** One entry of a resource page's left menu; `render` draws the blade inside <main>. */
export interface Blade {
  id: string;
  label: string;
  render: () => JSX.Element;
}

/** A page outside any resource, e.g. `#/monitor/{blade}` → path "monitor". */
export interface TopLevelPage {
  path: string;
  label: string;
  render: (blade?: string) => JSX.Element;
}

export interface Area {
  /** Lower-case ARM types the area renders, e.g. "microsoft.sql/servers". */
  resourceTypes: string[];
  blades: (resource: ArmResource) => Blade[];
  topLevel?: TopLevelPage[];
}

export type HintType = "resource.changed" | "activity.appended" | "health.changed" | "notification.sent" | "clock";

/** A "something changed" hint from GET /_tdekv/events (portal.md §3.5); the page then re-reads the public API. */
export interface Hint {
  id: string;
  type: HintType;
  resourceId?: string;
  etag?: string;
  at: string | number;
}

export interface WhoAmI {
  name: string;
  upn: string;
  oid: string;
  tenantId: string;
}

/** One Activity Log event (EventData, az-cli-compat.md §6), as Microsoft.Insights eventtypes/management/values returns it. */
export interface ActivityEvent {
  eventDataId: string;
  correlationId: string;
  caller?: string;
  description?: string;
  level?: string;
  eventName: { value: string; localizedValue: string };
  category: { value: string; localizedValue: string };
  operationName: { value: string; localizedValue: string };
  status: { value: string; localizedValue: string };
  resourceType: { value: string; localizedValue: string };
  resourceGroupName?: string;
  eventTimestamp: string;
  submissionTimestamp?: string;
  subscriptionId: string;
  resourceId: string;
  /** The seed's events carry eventName, errorCode, cause and keyUri here (azure-sql-tde.md §4.5). */
  properties?: Record<string, unknown> & { eventName?: string; errorCode?: string; cause?: string; keyUri?: string | null };
}

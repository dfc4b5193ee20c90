import type { EventData } from "../event-shape.js";

/**
 * Activity-log alert conditions, matched as Azure documents them (activityLogAlerts 2020-10-01 spec;
 * activity-log-alerts docs): every `allOf` clause must hold; a clause is a leaf (`field` + `equals`, or
 * `field` + `containsAny`) or an `anyOf` list of leaves. Values compare case-insensitively. A rule applies
 * only to events whose resourceId falls under one of its `scopes` (a prefix on whole path segments).
 * Pure: no I/O, no clock.
 */
export interface Leaf {
  field: string;
  equals?: string;
  containsAny?: string[];
}
export type Clause = Leaf | { anyOf: Leaf[] };

/** The fields Azure accepts (case-insensitive), besides anything starting with `properties.`. */
export const TOP_LEVEL_FIELDS = ["resourceId", "category", "caller", "level", "operationName", "resourceGroup", "resourceProvider", "status", "subStatus", "resourceType"];

/** Activity Log categories (activity-log-schema.md). */
export const CATEGORIES = ["Administrative", "ServiceHealth", "ResourceHealth", "Alert", "Autoscale", "Recommendation", "Security", "Policy"];

const valueOf = (v: unknown): string | undefined => {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (v && typeof v === "object" && "value" in v && typeof (v as { value: unknown }).value === "string") return (v as { value: string }).value;
  return undefined;
};

/** `properties.a.b[*].c`: case-insensitive keys; `[*]` fans out over arrays, and over JSON-encoded arrays (impactedServices). */
function walk(values: unknown[], path: string[]): unknown[] {
  if (path.length === 0) return values;
  const [head, ...rest] = path;
  const star = head!.endsWith("[*]");
  const key = (star ? head!.slice(0, -3) : head!).toLowerCase();
  const next: unknown[] = [];
  for (const v of values) {
    let obj = v;
    if (typeof obj === "string" && /^[[{]/.test(obj.trim())) {
      try {
        obj = JSON.parse(obj);
      } catch {
        /* a plain string */
      }
    }
    if (!obj || typeof obj !== "object" || Array.isArray(obj)) continue;
    const entry = Object.entries(obj as Record<string, unknown>).find(([k]) => k.toLowerCase() === key);
    if (!entry) continue;
    let child = entry[1];
    if (star) {
      if (typeof child === "string") {
        try {
          child = JSON.parse(child);
        } catch {
          /* not JSON */
        }
      }
      if (Array.isArray(child)) next.push(...child);
    } else next.push(child);
  }
  return walk(next, rest);
}

/** The event's value(s) for a condition field, as strings. */
export function fieldValues(event: EventData, field: string): string[] {
  const f = field.toLowerCase();
  if (f.startsWith("properties.")) {
    return walk([event.properties], f.slice("properties.".length).split("."))
      .map(valueOf)
      .filter((v): v is string => v !== undefined);
  }
  const pick: Record<string, unknown> = {
    resourceid: event.resourceId,
    category: event.category,
    caller: event.caller,
    level: event.level,
    operationname: event.operationName,
    resourcegroup: event.resourceGroupName,
    resourceprovider: event.resourceProviderName,
    status: event.status,
    substatus: event.subStatus,
    resourcetype: event.resourceType,
  };
  const v = valueOf(pick[f]);
  return v === undefined ? [] : [v];
}

const eq = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

export function leafHolds(event: EventData, leaf: Leaf): boolean {
  const values = fieldValues(event, leaf.field);
  const wanted = leaf.equals !== undefined ? [leaf.equals] : (leaf.containsAny ?? []);
  return values.some((v) => wanted.some((w) => eq(v, w)));
}

export function conditionHolds(event: EventData, allOf: Clause[]): boolean {
  return allOf.every((c) => ("anyOf" in c ? c.anyOf.some((l) => leafHolds(event, l)) : leafHolds(event, c)));
}

/** `/subscriptions/x/resourceGroups/rg` (or `subscriptions/x/...` as the spec's example writes it), lower-cased, no trailing slash. */
export const normalizeScope = (scope: string): string => `/${scope.trim().replace(/^\/+|\/+$/g, "")}`.toLowerCase();

export function inScope(resourceId: string, scopes: string[]): boolean {
  const rid = normalizeScope(resourceId);
  return scopes.some((s) => {
    const scope = normalizeScope(s);
    return rid === scope || rid.startsWith(`${scope}/`);
  });
}

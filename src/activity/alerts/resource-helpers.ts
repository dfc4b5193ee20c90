import { armErrors, type ProviderCall, tracked } from "../../arm/index.js";
import { insightsErrors } from "./errors.js";

/**
 * Shared by the action-group and alert-rule providers: both are global resources whose ids Azure returns
 * with the namespace in lower case (`/providers/microsoft.insights/actionGroups/x`), as in the 2022-06-01
 * and 2020-10-01 response examples; lookups are case-insensitive anyway.
 */
export const responseId = (id: string): string => id.replace(/\/providers\/Microsoft\.Insights\//i, "/providers/microsoft.insights/");

/** Action groups and activity-log alert rules live in "Global" (az sends 'Global' or 'global'). */
export function readGlobalLocation(location: unknown, type: string): string {
  if (location === undefined || location === null || (typeof location === "string" && !location.trim())) throw armErrors.locationRequired();
  if (typeof location !== "string") throw armErrors.invalidRequestContent("location must be a string");
  if (location.replace(/\s+/g, "").toLowerCase() !== "global") throw insightsErrors.locationNotAvailable(location, type);
  return "Global";
}

/** 1-260 characters, none of `<>*%&:\?+/#|`, not ending in a space or period (Azure resource naming for microsoft.insights). */
const NAME = /^[^<>*%&:\\?+/#|]{1,260}$/;

export function checkName(call: ProviderCall, type: string): string {
  const name = call.ref.names[0]!;
  if (!NAME.test(name) || /[ .]$/.test(name)) throw armErrors.invalidResourceName(name, type);
  return name;
}

export const readTags = (tags: unknown): Record<string, string> | undefined => tracked.readTags(tags);
export const requireObjectBody = (body: unknown): Record<string, unknown> => tracked.requireObjectBody(body);

/**
 * PATCH of an action group or an alert rule: Azure's update model carries only `tags` and
 * `properties.enabled`, so both resources patch the same way.
 */
export function patchTagsAndEnabled<T extends { tags?: Record<string, string>; properties: { enabled?: boolean } }>(current: T, patch: unknown): T {
  const raw = requireObjectBody(patch);
  const tags = readTags(raw.tags);
  const props = raw.properties as Record<string, unknown> | undefined;
  if (props?.enabled !== undefined && typeof props.enabled !== "boolean") throw armErrors.invalidRequestContent("properties.enabled must be a boolean");
  return { ...current, tags: tags ?? current.tags, properties: { ...current.properties, ...(typeof props?.enabled === "boolean" ? { enabled: props.enabled } : {}) } };
}

import { armErrors, armResponses, type ArmServices, type ProviderCall, tracked } from "../../arm/index.js";
import type { SurfaceResponse } from "../../platform/index.js";
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

/** The ARM body both action groups and activity-log alert rules have. */
export interface GlobalResourceBody<P> {
  id: string;
  type: string;
  name: string;
  location: string;
  tags: Record<string, string>;
  properties: P;
}

/**
 * The ARM behaviour action groups and alert rules share: PUT (200/201, keeping the first-written id and
 * name casing), GET, PATCH (tags, enabled), DELETE (200, or 204 when absent) and the two lists. Each provider
 * brings its own property reader (which may check references, e.g. a rule's action groups) and routes its
 * own actions and child types before calling `instance`.
 */
export function globalResources<P extends { enabled?: boolean }>(
  services: ArmServices,
  spec: { type: string; typeKey: string; readProperties(raw: unknown, call: ProviderCall): P | Promise<P> },
) {
  type Body = GlobalResourceBody<P>;
  const { store } = services;

  const save = (call: ProviderCall, body: Body): Promise<boolean> =>
    store.put({ id: body.id, subscriptionId: call.subscription.id, resourceGroup: call.ref.resourceGroup, typeKey: spec.typeKey, name: body.name, body });

  const notFound = (call: ProviderCall) => armErrors.resourceNotFound(spec.type, call.ref.names[0]!, call.ref.resourceGroup);

  async function put(call: ProviderCall): Promise<SurfaceResponse> {
    const name = checkName(call, spec.type);
    const raw = requireObjectBody(call.body);
    const location = readGlobalLocation(raw.location, spec.type);
    const tags = readTags(raw.tags);
    const properties = await spec.readProperties(raw.properties, call);
    const existing = await store.get<Body>(call.id);
    const body: Body = { id: existing?.body.id ?? responseId(call.id), type: spec.type, name: existing?.body.name ?? name, location, tags: tags ?? {}, properties };
    return armResponses.okOrCreated(await save(call, body), body);
  }

  return {
    save,
    notFound,
    /** GET on the collection, by resource group or subscription. */
    async list(call: ProviderCall): Promise<SurfaceResponse> {
      if (call.method !== "GET") throw armErrors.methodNotAllowed(call.method, call.req.path);
      const rows = await store.listByType<Body>({
        subscriptionId: call.subscription.id,
        typeKey: spec.typeKey,
        ...(call.ref.scope === "resourceGroup" ? { resourceGroup: call.ref.resourceGroup } : {}),
      });
      return armResponses.list(rows.map((r) => r.body));
    },
    /** PUT, GET, PATCH and DELETE on one resource. */
    async instance(call: ProviderCall): Promise<SurfaceResponse> {
      switch (call.method) {
        case "PUT":
          return put(call);
        case "GET": {
          const r = await store.get<Body>(call.id);
          if (!r) throw notFound(call);
          return armResponses.ok(r.body);
        }
        case "PATCH": {
          const r = await store.get<Body>(call.id);
          if (!r) throw notFound(call);
          const body = patchTagsAndEnabled(r.body, call.body);
          await save(call, body);
          return armResponses.ok(body);
        }
        case "DELETE": {
          const r = await store.get(call.id);
          if (!r) return armResponses.noContent();
          await services.deleteTree(r.id);
          return armResponses.ok(undefined);
        }
        default:
          throw armErrors.methodNotAllowed(call.method, call.req.path);
      }
    },
  };
}

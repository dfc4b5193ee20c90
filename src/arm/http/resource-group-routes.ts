import type { SurfaceRequest, SurfaceResponse } from "../../platform/index.js";
import type { Subscription } from "../../identity/index.js";
import type { ArmServices, ProviderCall } from "../provider.js";
import { armErrors } from "../domain/errors.js";
import { isValidResourceGroupName, parseResourceId, resourceGroupId } from "../domain/resource-id.js";
import { parseFilter } from "../domain/filter.js";
import { RESOURCE_GROUP_TYPE } from "../resource-store.js";
import { accepted, list, ok, okOrCreated, operationUrls } from "./responses.js";

type Base = Omit<ProviderCall, "kind" | "type" | "ref" | "id" | "action">;

interface ResourceGroupBody {
  id: string;
  name: string;
  type: "Microsoft.Resources/resourceGroups";
  location: string;
  managedBy?: string;
  tags?: Record<string, string>;
  properties: { provisioningState: string };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function validTags(tags: unknown): Record<string, string> | undefined {
  if (tags === undefined || tags === null) return undefined;
  if (!isObject(tags) || Object.values(tags).some((v) => typeof v !== "string")) throw armErrors.invalidRequestContent("tags must be an object of strings");
  return tags as Record<string, string>;
}

/** Microsoft.Resources: resource groups, resource listing, moves and provider registration. */
export function createResourceGroupRoutes(services: ArmServices) {
  const { store } = services;

  async function find(subscription: Subscription, name: string) {
    return store.get<ResourceGroupBody>(resourceGroupId(subscription.id, name));
  }

  async function require(subscription: Subscription, name: string): Promise<string> {
    const rg = await find(subscription, name);
    if (!rg) throw armErrors.resourceGroupNotFound(name);
    return rg.body.name;
  }

  async function put(base: Base, name: string): Promise<SurfaceResponse> {
    if (!isValidResourceGroupName(name)) throw armErrors.invalidResourceGroupName(name);
    const body = base.body;
    if (!isObject(body)) throw armErrors.invalidRequestContent("the request body must be a JSON object");
    const location = body.location;
    if (typeof location !== "string" || !location) throw armErrors.locationRequired();
    const existing = await find(base.subscription, name);
    const normalizedLocation = location.replace(/\s+/g, "").toLowerCase();
    if (existing && existing.body.location !== normalizedLocation) throw armErrors.resourceGroupLocationChange(existing.body.name, existing.body.location, base.subscription.id);
    const canonicalName = existing?.body.name ?? name;
    const tags = validTags(body.tags);
    const rg: ResourceGroupBody = {
      id: resourceGroupId(base.subscription.id, canonicalName),
      name: canonicalName,
      type: "Microsoft.Resources/resourceGroups",
      location: normalizedLocation,
      ...(typeof body.managedBy === "string" ? { managedBy: body.managedBy } : {}),
      ...(tags ? { tags } : {}),
      properties: { provisioningState: "Succeeded" },
    };
    const isNew = await store.put({ id: rg.id, subscriptionId: base.subscription.id, resourceGroup: canonicalName, typeKey: RESOURCE_GROUP_TYPE, name: canonicalName, body: rg });
    return okOrCreated(isNew, rg);
  }

  async function handle(base: Base, name: string | undefined): Promise<SurfaceResponse> {
    if (name === undefined) {
      if (base.method !== "GET") throw armErrors.methodNotAllowed(base.method, base.req.path);
      const rgs = await store.listByType<ResourceGroupBody>({ subscriptionId: base.subscription.id, typeKey: RESOURCE_GROUP_TYPE });
      return list(rgs.map((r) => r.body));
    }
    switch (base.method) {
      case "PUT":
        return put(base, name);
      case "HEAD":
        return { status: (await find(base.subscription, name)) ? 204 : 404 };
      case "GET": {
        const rg = await find(base.subscription, name);
        if (!rg) throw armErrors.resourceGroupNotFound(name);
        return ok(rg.body);
      }
      case "PATCH": {
        const rg = await find(base.subscription, name);
        if (!rg) throw armErrors.resourceGroupNotFound(name);
        if (!isObject(base.body)) throw armErrors.invalidRequestContent("the request body must be a JSON object");
        const tags = validTags(base.body.tags);
        const updated = { ...rg.body, ...(tags ? { tags } : {}) };
        await store.put({ id: rg.id, subscriptionId: base.subscription.id, resourceGroup: rg.body.name, typeKey: RESOURCE_GROUP_TYPE, name: rg.body.name, body: updated });
        return ok(updated);
      }
      case "DELETE": {
        const rg = await find(base.subscription, name);
        if (!rg) throw armErrors.resourceGroupNotFound(name);
        // Deleting a group deletes everything in it, each provider told (an identity's principal goes too).
        const op = await services.operations.run(base.subscription.id, async () => {
          const inside = await store.listTopLevel({ subscriptionId: base.subscription.id, resourceGroup: rg.body.name });
          for (const r of inside) await services.deleteTree(r.id);
          await services.deleteTree(rg.id);
        });
        return accepted(op, operationUrls(base.req.origin, op, base.apiVersion));
      }
      default:
        throw armErrors.methodNotAllowed(base.method, base.req.path);
    }
  }

  async function listResources(req: SurfaceRequest, subscription: Subscription, rg?: string): Promise<SurfaceResponse> {
    const terms = parseFilter(req.query.get("$filter"));
    if (!terms) throw armErrors.invalidParameter(`The $filter '${req.query.get("$filter")}' is not supported.`, "$filter");
    const rows = await store.listTopLevel<Record<string, unknown>>({ subscriptionId: subscription.id, ...(rg ? { resourceGroup: rg } : {}) });
    const value = rows
      .map((r) => ({ id: r.body.id ?? r.id, name: r.body.name ?? r.name, type: r.body.type, location: r.body.location, ...(r.body.tags ? { tags: r.body.tags } : {}), ...(r.body.identity ? { identity: r.body.identity } : {}) }))
      .filter((r) =>
        terms.every((t) => {
          const field = t.field.toLowerCase();
          if (field === "resourcetype") return String(r.type).toLowerCase() === t.value.toLowerCase();
          if (field === "name") return String(r.name).toLowerCase() === t.value.toLowerCase();
          if (field === "location") return String(r.location).toLowerCase() === t.value.toLowerCase();
          if (field === "tagname") return isObject(r.tags) && Object.keys(r.tags).some((k) => k.toLowerCase() === t.value.toLowerCase());
          return true;
        }),
      );
    return list(value);
  }

  /**
   * POST moveResources / validateMoveResources. Every resource must be a top-level resource of the source
   * group; the target group must exist in a subscription of the same tenant (moving to another tenant is
   * not an ARM move: the seed's "moved to a different tenant" is a subscription transfer).
   */
  async function move(base: Base, sourceRg: string, validateOnly: boolean): Promise<SurfaceResponse> {
    const body = base.body;
    if (!isObject(body) || !Array.isArray(body.resources) || body.resources.length === 0) throw armErrors.missingMoveResources();
    const target = typeof body.targetResourceGroup === "string" ? /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/?$/i.exec(body.targetResourceGroup) : null;
    if (!target) throw armErrors.invalidMoveTarget(`The target resource group '${String(body.targetResourceGroup)}' is not a valid resource group id.`);
    const targetSub = await services.directory.getSubscription(target[1]!);
    if (!targetSub) throw armErrors.subscriptionNotFound(target[1]!);
    if (targetSub.tenantId !== base.subscription.tenantId) throw armErrors.crossTenantMove();
    const targetRg = await find(targetSub, target[2]!);
    if (!targetRg) throw armErrors.resourceGroupNotFound(target[2]!);
    if (targetSub.id === base.subscription.id && targetRg.body.name.toLowerCase() === sourceRg.toLowerCase()) {
      throw armErrors.invalidMoveTarget("The source and target resource groups are the same.");
    }
    const moves: { from: string; to: string }[] = [];
    for (const raw of body.resources) {
      const ref = typeof raw === "string" ? parseResourceId(raw) : undefined;
      if (!ref || ref.types.length !== 1) throw armErrors.invalidParameter(`The resource id '${String(raw)}' is not a valid top-level resource id.`, "resources");
      if (ref.subscriptionId !== base.subscription.id || ref.resourceGroup.toLowerCase() !== sourceRg.toLowerCase()) throw armErrors.resourceNotInGroup(String(raw), sourceRg);
      const existing = await store.get(String(raw));
      if (!existing) throw armErrors.resourceNotFound(`${ref.namespace}/${ref.types[0]}`, ref.names[0]!, sourceRg);
      const tail = existing.id.slice(existing.id.toLowerCase().indexOf("/providers/"));
      const to = `${resourceGroupId(targetSub.id, targetRg.body.name)}${tail}`;
      if (await store.get(to)) throw armErrors.moveConflict(to);
      moves.push({ from: existing.id, to });
    }
    const op = await services.operations.run(base.subscription.id, async () => {
      if (validateOnly) return;
      for (const m of moves) {
        await services.moveTree(m.from, m.to, { subscriptionId: targetSub.id, resourceGroup: targetRg.body.name });
        // ARM logs the move; it is the evidence for the seed's "server moved to a different subscription".
        for (const [sub, resourceId] of [
          [base.subscription.id, m.from],
          [targetSub.id, m.to],
        ] as const) {
          await services.recordOperation({
            subscriptionId: sub,
            tenantId: base.subscription.tenantId,
            resourceId,
            operationName: "Microsoft.Resources/subscriptions/resourceGroups/moveResources/action",
            operationLocalized: "Move Resources",
            status: "Succeeded",
            description: `Moved ${m.from} to ${m.to}.`,
            // Azure names a user by UPN and an application by app id ("Event initiated by").
            caller: base.caller.upn ?? (base.caller.appid || base.caller.oid),
            correlationId: base.req.correlationId,
            properties: { sourceResourceId: m.from, targetResourceId: m.to },
          });
        }
      }
    });
    return accepted(op, operationUrls(base.req.origin, op, base.apiVersion));
  }

  function providerRegistration(subscription: Subscription, tail: string[], namespaces: string[]): SurfaceResponse {
    const body = (ns: string) => ({ id: `/subscriptions/${subscription.id}/providers/${ns}`, namespace: ns, registrationState: "Registered", registrationPolicy: "RegistrationRequired", resourceTypes: [] });
    if (tail.length === 0) return list([...namespaces, "Microsoft.Resources"].map(body));
    const ns = [...namespaces, "Microsoft.Resources"].find((n) => n.toLowerCase() === tail[0]!.toLowerCase());
    if (!ns) throw armErrors.invalidResourceNamespace(tail[0]!);
    return ok(body(ns));
  }

  return { handle, require, listResources, move, providerRegistration };
}

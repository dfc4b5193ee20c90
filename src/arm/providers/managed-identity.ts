import type { SurfaceResponse } from "../../platform/index.js";
import { armErrors } from "../domain/errors.js";
import { parseResourceId, typeKey } from "../domain/resource-id.js";
import type { ArmServices, ProviderCall, ResourceProvider } from "../provider.js";
import { list, noContent, ok, okOrCreated } from "../http/responses.js";
import { checkLocationUnchanged, normalizeLocation, readTags, requireObjectBody } from "./tracked.js";

const NAMESPACE = "Microsoft.ManagedIdentity";
const TYPE = "userAssignedIdentities";
const FULL_TYPE = `${NAMESPACE}/${TYPE}`;
const TYPE_KEY = typeKey(NAMESPACE, [TYPE]);

/** 3-128 characters: letters, digits, hyphens and underscores, starting with a letter or digit. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{2,127}$/;

interface IdentityBody {
  id: string;
  name: string;
  type: string;
  location: string;
  tags: Record<string, string>;
  properties: { tenantId: string; principalId: string; clientId: string; isolationScope: string };
}

/**
 * `Microsoft.ManagedIdentity/userAssignedIdentities`: each one is a real principal in the directory, so a
 * Key Vault access policy can name its principalId and the managed-identity endpoint can issue its tokens.
 */
export function managedIdentityProvider(services: ArmServices): ResourceProvider {
  const { store, directory } = services;

  async function put(call: ProviderCall): Promise<SurfaceResponse> {
    const name = call.ref.names[0]!;
    if (!NAME.test(name)) throw armErrors.invalidResourceName(name, FULL_TYPE);
    const body = requireObjectBody(call.body);
    const location = normalizeLocation(body.location);
    const tags = readTags(body.tags);
    const existing = await store.get<IdentityBody>(call.id);
    checkLocationUnchanged(existing?.body.location, location, name, call.ref.resourceGroup);
    let principal = await directory.findManagedIdentity("UserAssigned", call.id);
    if (!principal) {
      principal = await directory.createManagedIdentity({ tenantId: call.subscription.tenantId, kind: "UserAssigned", resourceId: call.id, displayName: name });
    }
    const id = existing?.id ?? call.id;
    const resource: IdentityBody = {
      id,
      name: existing?.body.name ?? name,
      type: FULL_TYPE,
      location,
      tags: tags ?? existing?.body.tags ?? {},
      properties: { tenantId: principal.tenantId, principalId: principal.objectId, clientId: principal.appId, isolationScope: "None" },
    };
    const isNew = await store.put({ id, subscriptionId: call.subscription.id, resourceGroup: call.ref.resourceGroup, typeKey: TYPE_KEY, name: resource.name, body: resource });
    return okOrCreated(isNew, resource);
  }

  return {
    namespace: NAMESPACE,
    types: [TYPE],
    async handle(call) {
      if (call.kind === "collection") {
        if (call.method !== "GET") throw armErrors.methodNotAllowed(call.method, call.req.path);
        const rows = await store.listByType<IdentityBody>({
          subscriptionId: call.subscription.id,
          typeKey: TYPE_KEY,
          ...(call.ref.scope === "resourceGroup" ? { resourceGroup: call.ref.resourceGroup } : {}),
        });
        return list(rows.map((r) => r.body));
      }
      if (call.kind === "action" || call.ref.scope !== "resourceGroup") throw armErrors.pathNotFound(call.req.path);
      const notFound = () => armErrors.resourceNotFound(FULL_TYPE, call.ref.names[0]!, call.ref.resourceGroup);
      switch (call.method) {
        case "PUT":
          return put(call);
        case "GET": {
          const r = await store.get<IdentityBody>(call.id);
          if (!r) throw notFound();
          return ok(r.body);
        }
        case "PATCH": {
          const r = await store.get<IdentityBody>(call.id);
          if (!r) throw notFound();
          const tags = readTags(requireObjectBody(call.body).tags);
          const updated = { ...r.body, tags: tags ?? r.body.tags };
          await store.put({ id: r.id, subscriptionId: call.subscription.id, resourceGroup: call.ref.resourceGroup, typeKey: TYPE_KEY, name: r.name, body: updated });
          return ok(updated);
        }
        case "DELETE": {
          const r = await store.get(call.id);
          if (!r) return noContent();
          await services.deleteTree(r.id);
          return ok(undefined);
        }
        default:
          throw armErrors.methodNotAllowed(call.method, call.req.path);
      }
    },
    async onDeleted(ids) {
      // Deleting the identity deletes its principal: the seed's "managed identity was accidentally deleted".
      for (const id of ids) {
        const ref = parseResourceId(id);
        if (ref && typeKey(ref.namespace, ref.types) === TYPE_KEY) await directory.deleteManagedIdentity("UserAssigned", id);
      }
    },
  };
}

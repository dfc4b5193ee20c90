import { armErrors, armResponses, typeKey, type ArmServices, type ProviderCall, type ResourceProvider } from "../../arm/index.js";
import type { SurfaceResponse } from "../../platform/index.js";
import { ACTION_GROUP_TYPE, RECEIVERS, readActionGroupProperties, type ActionGroupBody, type Receiver } from "./action-group.js";
import { insightsErrors } from "./errors.js";
import { checkName, patchTagsAndEnabled, readGlobalLocation, readTags, requireObjectBody, responseId } from "./resource-helpers.js";
import type { TestNotifications } from "./test-notifications-provider.js";

export const NAMESPACE = "Microsoft.Insights";
export const ACTION_GROUPS_KEY = typeKey(NAMESPACE, ["actionGroups"]);

/**
 * `Microsoft.Insights/actionGroups`: PUT (200/201), GET, PATCH (tags, enabled), DELETE (200/204), lists by
 * resource group and subscription, `POST …/subscribe` (enableReceiver), and "Test action group":
 * `POST …/createNotifications` with `GET …/notificationStatus/{id}` (test-notifications.ts). Delivery reads
 * the stored body when an alert fires, so a change applies to the next notification.
 */
export function actionGroupsProvider(services: ArmServices, tests?: TestNotifications): ResourceProvider {
  const { store } = services;

  async function save(call: ProviderCall, body: ActionGroupBody): Promise<boolean> {
    return store.put({ id: body.id, subscriptionId: call.subscription.id, resourceGroup: call.ref.resourceGroup, typeKey: ACTION_GROUPS_KEY, name: body.name, body });
  }

  async function put(call: ProviderCall): Promise<SurfaceResponse> {
    const name = checkName(call, ACTION_GROUP_TYPE);
    const raw = requireObjectBody(call.body);
    const location = readGlobalLocation(raw.location, ACTION_GROUP_TYPE);
    const tags = readTags(raw.tags);
    const properties = readActionGroupProperties(raw.properties);
    const existing = await store.get<ActionGroupBody>(call.id);
    const body: ActionGroupBody = {
      id: existing?.body.id ?? responseId(call.id),
      type: ACTION_GROUP_TYPE,
      name: existing?.body.name ?? name,
      location,
      tags: tags ?? {},
      properties,
    };
    return armResponses.okOrCreated(await save(call, body), body);
  }

  async function subscribe(call: ProviderCall, group: ActionGroupBody): Promise<SurfaceResponse> {
    const raw = requireObjectBody(call.body);
    if (typeof raw.receiverName !== "string" || !raw.receiverName) throw insightsErrors.nullOrEmpty("ReceiverNameIsNullOrEmpty");
    // Only email and SMS receivers carry a status that a recipient can turn off and this turns back on.
    for (const spec of RECEIVERS.filter((s) => s.hasStatus)) {
      const receiver = (group.properties[spec.list] as Receiver[]).find((r) => r.name.toLowerCase() === String(raw.receiverName).toLowerCase());
      if (receiver) {
        receiver.status = "Enabled";
        await save(call, group);
        return armResponses.ok(undefined);
      }
    }
    throw insightsErrors.receiverNotFound(raw.receiverName);
  }

  return {
    namespace: NAMESPACE,
    types: tests ? ["actionGroups", "actionGroups/notificationStatus"] : ["actionGroups"],
    async handle(call) {
      if (call.type === "actionGroups/notificationStatus") {
        if (!tests || call.kind !== "instance" || call.method !== "GET") throw armErrors.methodNotAllowed(call.method, call.req.path);
        return tests.status(call, call.ref.names[1]!);
      }
      if (call.kind === "collection") {
        if (call.method !== "GET") throw armErrors.methodNotAllowed(call.method, call.req.path);
        const rows = await store.listByType<ActionGroupBody>({
          subscriptionId: call.subscription.id,
          typeKey: ACTION_GROUPS_KEY,
          ...(call.ref.scope === "resourceGroup" ? { resourceGroup: call.ref.resourceGroup } : {}),
        });
        return armResponses.list(rows.map((r) => r.body));
      }
      if (call.ref.scope !== "resourceGroup") throw armErrors.pathNotFound(call.req.path);
      const notFound = () => armErrors.resourceNotFound(ACTION_GROUP_TYPE, call.ref.names[0]!, call.ref.resourceGroup);
      if (call.kind === "action") {
        const r = await store.get<ActionGroupBody>(call.id);
        if (!r) throw notFound();
        if (call.action?.toLowerCase() === "subscribe") return subscribe(call, r.body);
        if (tests && call.action?.toLowerCase() === "createnotifications") return tests.create(call, r.body);
        throw armErrors.pathNotFound(call.req.path);
      }
      switch (call.method) {
        case "PUT":
          return put(call);
        case "GET": {
          const r = await store.get<ActionGroupBody>(call.id);
          if (!r) throw notFound();
          return armResponses.ok(r.body);
        }
        case "PATCH": {
          const r = await store.get<ActionGroupBody>(call.id);
          if (!r) throw notFound();
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

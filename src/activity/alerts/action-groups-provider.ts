import { armErrors, armResponses, typeKey, type ArmServices, type ProviderCall, type ResourceProvider } from "../../arm/index.js";
import type { SurfaceResponse } from "../../platform/index.js";
import { ACTION_GROUP_TYPE, RECEIVERS, readActionGroupProperties, type ActionGroupBody, type ActionGroupProperties, type Receiver } from "./action-group.js";
import { insightsErrors } from "./errors.js";
import { globalResources, requireObjectBody } from "./resource-helpers.js";
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
  const groups = globalResources<ActionGroupProperties>(services, { type: ACTION_GROUP_TYPE, typeKey: ACTION_GROUPS_KEY, readProperties: (raw) => readActionGroupProperties(raw) });

  async function subscribe(call: ProviderCall, group: ActionGroupBody): Promise<SurfaceResponse> {
    const raw = requireObjectBody(call.body);
    if (typeof raw.receiverName !== "string" || !raw.receiverName) throw insightsErrors.nullOrEmpty("ReceiverNameIsNullOrEmpty");
    // Only email and SMS receivers carry a status that a recipient can turn off and this turns back on.
    for (const spec of RECEIVERS.filter((s) => s.hasStatus)) {
      const receiver = (group.properties[spec.list] as Receiver[]).find((r) => r.name.toLowerCase() === String(raw.receiverName).toLowerCase());
      if (receiver) {
        receiver.status = "Enabled";
        await groups.save(call, group);
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
      if (call.kind === "collection") return groups.list(call);
      if (call.ref.scope !== "resourceGroup") throw armErrors.pathNotFound(call.req.path);
      if (call.kind === "action") {
        const r = await store.get<ActionGroupBody>(call.id);
        if (!r) throw groups.notFound(call);
        if (call.action?.toLowerCase() === "subscribe") return subscribe(call, r.body);
        if (tests && call.action?.toLowerCase() === "createnotifications") return tests.create(call, r.body);
        throw armErrors.pathNotFound(call.req.path);
      }
      return groups.instance(call);
    },
  };
}

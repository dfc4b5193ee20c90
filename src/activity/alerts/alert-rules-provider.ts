import { armErrors, armResponses, typeKey, type ArmServices, type ProviderCall, type ResourceProvider } from "../../arm/index.js";
import type { SurfaceResponse } from "../../platform/index.js";
import { ALERT_RULE_TYPE, readAlertRuleProperties, type AlertRuleBody } from "./alert-rule.js";
import { insightsErrors } from "./errors.js";
import { NAMESPACE } from "./action-groups-provider.js";
import { checkName, patchTagsAndEnabled, readGlobalLocation, readTags, requireObjectBody, responseId } from "./resource-helpers.js";

export const ALERT_RULES_KEY = typeKey(NAMESPACE, ["activityLogAlerts"]);

/**
 * `microsoft.insights/activityLogAlerts` (arm-monitor sends the namespace in lower case; the ARM router
 * matches case-insensitively): PUT (200/201), GET, PATCH (tags, enabled), DELETE (200/204) and the two
 * lists. A rule must name action groups that exist, so a typo fails at PUT rather than silently at fire time.
 */
export function alertRulesProvider(services: ArmServices): ResourceProvider {
  const { store } = services;

  async function save(call: ProviderCall, body: AlertRuleBody): Promise<boolean> {
    return store.put({ id: body.id, subscriptionId: call.subscription.id, resourceGroup: call.ref.resourceGroup, typeKey: ALERT_RULES_KEY, name: body.name, body });
  }

  async function put(call: ProviderCall): Promise<SurfaceResponse> {
    const name = checkName(call, ALERT_RULE_TYPE);
    const raw = requireObjectBody(call.body);
    const location = readGlobalLocation(raw.location, ALERT_RULE_TYPE);
    const tags = readTags(raw.tags);
    const properties = readAlertRuleProperties(raw.properties, call.subscription.id);
    for (const a of properties.actions.actionGroups) {
      if (!(await store.get(a.actionGroupId))) throw insightsErrors.badRequest(`The action group '${a.actionGroupId}' could not be found.`);
    }
    const existing = await store.get<AlertRuleBody>(call.id);
    const body: AlertRuleBody = {
      id: existing?.body.id ?? responseId(call.id),
      type: ALERT_RULE_TYPE,
      name: existing?.body.name ?? name,
      location,
      tags: tags ?? {},
      properties,
    };
    return armResponses.okOrCreated(await save(call, body), body);
  }

  return {
    namespace: NAMESPACE,
    types: ["activityLogAlerts"],
    async handle(call) {
      if (call.kind === "collection") {
        if (call.method !== "GET") throw armErrors.methodNotAllowed(call.method, call.req.path);
        const rows = await store.listByType<AlertRuleBody>({
          subscriptionId: call.subscription.id,
          typeKey: ALERT_RULES_KEY,
          ...(call.ref.scope === "resourceGroup" ? { resourceGroup: call.ref.resourceGroup } : {}),
        });
        return armResponses.list(rows.map((r) => r.body));
      }
      if (call.kind === "action" || call.ref.scope !== "resourceGroup") throw armErrors.pathNotFound(call.req.path);
      const notFound = () => armErrors.resourceNotFound(ALERT_RULE_TYPE, call.ref.names[0]!, call.ref.resourceGroup);
      switch (call.method) {
        case "PUT":
          return put(call);
        case "GET": {
          const r = await store.get<AlertRuleBody>(call.id);
          if (!r) throw notFound();
          return armResponses.ok(r.body);
        }
        case "PATCH": {
          const r = await store.get<AlertRuleBody>(call.id);
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

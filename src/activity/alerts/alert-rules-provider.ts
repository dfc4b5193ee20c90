import { armErrors, typeKey, type ArmServices, type ResourceProvider } from "../../arm/index.js";
import { ALERT_RULE_TYPE, readAlertRuleProperties, type AlertRuleProperties } from "./alert-rule.js";
import { insightsErrors } from "./errors.js";
import { NAMESPACE } from "./action-groups-provider.js";
import { globalResources } from "./resource-helpers.js";

export const ALERT_RULES_KEY = typeKey(NAMESPACE, ["activityLogAlerts"]);

/**
 * `microsoft.insights/activityLogAlerts` (arm-monitor sends the namespace in lower case; the ARM router
 * matches case-insensitively): PUT (200/201), GET, PATCH (tags, enabled), DELETE (200/204) and the two
 * lists. A rule must name action groups that exist, so a typo fails at PUT rather than silently at fire time.
 */
export function alertRulesProvider(services: ArmServices): ResourceProvider {
  const { store } = services;
  const rules = globalResources<AlertRuleProperties>(services, {
    type: ALERT_RULE_TYPE,
    typeKey: ALERT_RULES_KEY,
    async readProperties(raw, call) {
      const properties = readAlertRuleProperties(raw, call.subscription.id);
      for (const a of properties.actions.actionGroups) {
        if (!(await store.get(a.actionGroupId))) throw insightsErrors.badRequest(`The action group '${a.actionGroupId}' could not be found.`);
      }
      return properties;
    },
  });

  return {
    namespace: NAMESPACE,
    types: ["activityLogAlerts"],
    async handle(call) {
      if (call.kind === "collection") return rules.list(call);
      if (call.kind === "action" || call.ref.scope !== "resourceGroup") throw armErrors.pathNotFound(call.req.path);
      return rules.instance(call);
    },
  };
}

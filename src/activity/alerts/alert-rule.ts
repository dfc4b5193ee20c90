import { armErrors } from "../../arm/index.js";
import { insightsErrors } from "./errors.js";
import { CATEGORIES, TOP_LEVEL_FIELDS, type Clause, type Leaf, normalizeScope } from "./condition.js";

/**
 * `microsoft.insights/activityLogAlerts` (arm-monitor 7 and az 2.45 both send api-version 2017-04-01; the
 * 2020-10-01 shape adds `anyOf` and `containsAny`, accepted on any version). Body as Azure returns it
 * (azure-rest-api-specs monitor 2020-10-01 examples/ActivityLogAlertRule_*.json).
 */
export const ALERT_RULE_TYPE = "Microsoft.Insights/ActivityLogAlerts";

export interface RuleActionGroup {
  actionGroupId: string;
  webhookProperties?: Record<string, string>;
}

export interface AlertRuleProperties {
  scopes: string[];
  condition: { allOf: Clause[] };
  actions: { actionGroups: RuleActionGroup[] };
  enabled: boolean;
  description?: string;
}

export interface AlertRuleBody {
  id: string;
  type: string;
  name: string;
  location: string;
  tags: Record<string, string>;
  properties: AlertRuleProperties;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const FIELDS = new Map(TOP_LEVEL_FIELDS.map((f) => [f.toLowerCase(), f]));

function readLeaf(raw: Record<string, unknown>, where: string): Leaf {
  const field = raw.field;
  if (typeof field !== "string" || !field.trim()) throw insightsErrors.unsupportedCondition(`The condition ${where} has no 'field'.`);
  const known = FIELDS.has(field.toLowerCase()) || (/^properties\.\S+/i.test(field) && !field.endsWith("."));
  if (!known) {
    throw insightsErrors.unsupportedCondition(
      `The field '${field}' is not supported in an activity log alert condition. Use one of ${TOP_LEVEL_FIELDS.map((f) => `'${f}'`).join(", ")}, or a field starting with 'properties.'.`,
    );
  }
  const hasEquals = raw.equals !== undefined && raw.equals !== null;
  const hasAny = raw.containsAny !== undefined && raw.containsAny !== null;
  if (hasEquals === hasAny) throw insightsErrors.unsupportedCondition(`The condition on '${field}' must have exactly one of 'equals' or 'containsAny'.`);
  if (hasEquals) {
    if (typeof raw.equals !== "string") throw armErrors.invalidRequestContent(`condition '${field}': equals must be a string`);
    return { field, equals: raw.equals };
  }
  if (!Array.isArray(raw.containsAny) || raw.containsAny.length === 0 || raw.containsAny.some((v) => typeof v !== "string")) {
    throw insightsErrors.unsupportedCondition(`The condition on '${field}': containsAny must be a non-empty array of strings.`);
  }
  return { field, containsAny: raw.containsAny as string[] };
}

function readCondition(raw: unknown): { allOf: Clause[] } {
  if (!isObject(raw) || !Array.isArray(raw.allOf) || raw.allOf.length === 0) throw insightsErrors.unsupportedCondition("The condition must have a non-empty 'allOf' list.");
  const allOf: Clause[] = raw.allOf.map((c, i) => {
    if (!isObject(c)) throw armErrors.invalidRequestContent(`condition.allOf[${i}] must be an object`);
    if (c.anyOf !== undefined && c.anyOf !== null) {
      if (!Array.isArray(c.anyOf) || c.anyOf.length === 0) throw insightsErrors.unsupportedCondition(`condition.allOf[${i}].anyOf must be a non-empty list.`);
      return {
        anyOf: c.anyOf.map((l, j) => {
          if (!isObject(l)) throw armErrors.invalidRequestContent(`condition.allOf[${i}].anyOf[${j}] must be an object`);
          return readLeaf(l, `allOf[${i}].anyOf[${j}]`);
        }),
      };
    }
    return readLeaf(c, `allOf[${i}]`);
  });
  // Every rule listens to one category (the portal's signal type; Terraform requires `category` too).
  const categories = allOf.filter((c): c is Leaf => !("anyOf" in c) && c.field.toLowerCase() === "category");
  if (categories.length !== 1) throw insightsErrors.unsupportedCondition("The condition must contain exactly one 'category' field.");
  const wanted = categories[0]!.equals !== undefined ? [categories[0]!.equals] : categories[0]!.containsAny!;
  for (const w of wanted) {
    if (!CATEGORIES.some((c) => c.toLowerCase() === w.toLowerCase())) {
      throw insightsErrors.unsupportedCondition(`The category '${w}' is not supported. Use one of ${CATEGORIES.map((c) => `'${c}'`).join(", ")}.`);
    }
  }
  return { allOf };
}

function readScopes(raw: unknown, subscriptionId: string): string[] {
  if (!Array.isArray(raw) || raw.length === 0) throw insightsErrors.badRequest("The 'scopes' list must contain at least one resource id.");
  return raw.map((s) => {
    if (typeof s !== "string" || !/^\/?subscriptions\/[^/]+(\/.*)?$/i.test(s.trim())) {
      throw insightsErrors.badRequest(`The scope '${String(s)}' is not a valid subscription, resource group or resource id.`);
    }
    // Rules see their own subscription's Activity Log only.
    if (normalizeScope(s).split("/")[2] !== subscriptionId.toLowerCase()) {
      throw insightsErrors.badRequest(`The scope '${s}' is not in the subscription '${subscriptionId}' of the alert rule.`);
    }
    return s;
  });
}

function readActions(raw: unknown): { actionGroups: RuleActionGroup[] } {
  if (raw === undefined || raw === null) return { actionGroups: [] };
  if (!isObject(raw)) throw armErrors.invalidRequestContent("properties.actions must be an object");
  const list = raw.actionGroups ?? [];
  if (!Array.isArray(list)) throw armErrors.invalidRequestContent("properties.actions.actionGroups must be an array");
  return {
    actionGroups: list.map((a) => {
      if (!isObject(a) || typeof a.actionGroupId !== "string" || !a.actionGroupId.trim()) throw insightsErrors.badRequest("The actionGroupId of an action cannot be null or empty.");
      const out: RuleActionGroup = { actionGroupId: a.actionGroupId };
      if (a.webhookProperties !== undefined && a.webhookProperties !== null) {
        if (!isObject(a.webhookProperties) || Object.values(a.webhookProperties).some((v) => typeof v !== "string")) {
          throw armErrors.invalidRequestContent("webhookProperties must be an object of strings");
        }
        out.webhookProperties = a.webhookProperties as Record<string, string>;
      }
      return out;
    }),
  };
}

/** Reads and validates a PUT body's `properties`. Action-group existence is checked by the provider. */
export function readAlertRuleProperties(raw: unknown, subscriptionId: string): AlertRuleProperties {
  if (!isObject(raw)) throw armErrors.invalidRequestContent("properties must be an object");
  if (raw.enabled !== undefined && raw.enabled !== null && typeof raw.enabled !== "boolean") throw armErrors.invalidRequestContent("properties.enabled must be a boolean");
  if (raw.description !== undefined && raw.description !== null && typeof raw.description !== "string") throw armErrors.invalidRequestContent("properties.description must be a string");
  const props: AlertRuleProperties = {
    scopes: readScopes(raw.scopes, subscriptionId),
    condition: readCondition(raw.condition),
    actions: readActions(raw.actions),
    enabled: typeof raw.enabled === "boolean" ? raw.enabled : true,
  };
  if (typeof raw.description === "string") props.description = raw.description;
  return props;
}

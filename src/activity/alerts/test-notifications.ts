import { randomInt } from "node:crypto";
import { armErrors } from "../../arm/index.js";
import { newGuid } from "../../platform/index.js";
import { eventData, type EventCategory } from "../event-shape.js";
import { readReceiverLists, RECEIVERS, type ActionGroupBody } from "./action-group.js";
import type { AlertRuleBody } from "./alert-rule.js";
import { insightsErrors } from "./errors.js";
import { planNotifications } from "./plan.js";
import type { NotificationRow } from "./schema.js";

/**
 * "Test action group" (action-groups.md; portal.md §1.7, §3.7 #10): `POST …/actionGroups/{g}/createNotifications`
 * (2022-06-01, what the portal calls) and `POST /subscriptions/{s}/providers/Microsoft.Insights/createNotifications`
 * (2021-09-01, arm-monitor 7 `beginPostTestNotifications`) send a sample alert to the receivers named in the
 * request body, through the same outbox and delivery as a fired alert. `GET …/notificationStatus/{id}` reports
 * per receiver (azure-rest-api-specs monitor 2022-06-01 getTestNotificationsAtActionGroupResourceLevel.json:
 * PascalCase fields, State "Completed").
 */

/** The sample alert types Azure offers (az monitor action-group test-notifications create --alert-type). */
const ALERT_TYPES: Record<string, { category: EventCategory; contextType: string }> = {
  activitylog: { category: "Administrative", contextType: "Microsoft.Insights/activityLogs" },
  resourcehealth: { category: "ResourceHealth", contextType: "Microsoft.Insights/activityLogs" },
  servicehealth: { category: "ServiceHealth", contextType: "Microsoft.Insights/activityLogs" },
};

export interface TestRequest {
  alertType: string;
  receivers: Record<string, unknown[]>;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** NotificationRequestBody: `alertType` (required, at most 30 characters) and the receiver lists to test. */
export function readTestRequest(body: unknown): TestRequest {
  if (!isObject(body)) throw armErrors.invalidRequestContent("the notification request body must be an object");
  const alertType = body.alertType;
  if (typeof alertType !== "string" || !alertType.trim()) throw insightsErrors.nullOrEmpty("AlertTypeIsNullOrEmpty");
  if (alertType.length > 30) throw insightsErrors.badRequest(`The alert type '${alertType}' is longer than 30 characters.`);
  if (!ALERT_TYPES[alertType.toLowerCase()]) {
    throw insightsErrors.badRequest(`The alert type '${alertType}' is not supported by tdekv's test notifications. Use one of ${Object.keys(ALERT_TYPES).join(", ")}.`);
  }
  const receivers = readReceiverLists(body);
  if (!Object.values(receivers).some((l) => l.length)) throw insightsErrors.badRequest("The notification request names no receivers to test.");
  return { alertType: alertType.toLowerCase(), receivers };
}

/** Azure's notification ids are digit strings ("11000222191287"). */
export const newNotificationId = (): string => `${Date.now()}${String(randomInt(0, 10_000)).padStart(4, "0")}`.slice(-14);

/**
 * The outbox rows of one test: a sample event for the alert type, on the action group (or the subscription),
 * planned exactly as a fired alert is. `event_data_id` is the notification id, which is how the status finds them.
 */
export function planTest(args: {
  notificationId: string;
  request: TestRequest;
  subscriptionId: string;
  tenantId: string;
  /** The action group tested, or undefined for the subscription-level API. */
  group: ActionGroupBody | undefined;
  statusId: string;
  now: number;
  smtpConfigured: boolean;
  autohealWindowMs: number | undefined;
}): NotificationRow[] {
  const type = ALERT_TYPES[args.request.alertType]!;
  const resourceId = args.group?.id ?? `/subscriptions/${args.subscriptionId}`;
  const data = eventData(
    {
      subscriptionId: args.subscriptionId,
      tenantId: args.tenantId,
      resourceId,
      category: type.category,
      operationName: "Microsoft.Insights/ActionGroups/CreateNotifications/Action",
      operationLocalized: "Test action group",
      eventName: "TestNotification",
      status: type.category === "ResourceHealth" ? "Active" : "Succeeded",
      description: `This is a test notification sent with 'Test action group'${args.group ? ` for the action group ${args.group.name}` : ""}. No alert fired.`,
      caller: "Microsoft.Insights",
      level: "Informational",
      properties: { notificationId: args.notificationId, alertType: args.request.alertType },
    },
    { eventDataId: args.notificationId, eventTimestamp: args.now, submissionTimestamp: args.now },
  );
  const rule: AlertRuleBody = {
    id: args.statusId,
    type: "Microsoft.Insights/TestNotification",
    name: "Test notification",
    location: "Global",
    tags: {},
    properties: { scopes: [resourceId], condition: { allOf: [] }, actions: { actionGroups: [] }, enabled: true, description: "Test notification from 'Test action group'." },
  };
  const group: ActionGroupBody = {
    id: args.group?.id ?? `/subscriptions/${args.subscriptionId}/providers/microsoft.insights/createNotifications/${args.notificationId}`,
    type: "Microsoft.Insights/ActionGroups",
    name: args.group?.name ?? "Test notification",
    location: "Global",
    tags: {},
    properties: { groupShortName: args.group?.properties.groupShortName ?? "Test", enabled: true, ...args.request.receivers },
  };
  return planNotifications({
    stored: { seq: 0, data, visibleAt: args.now },
    rule,
    action: { actionGroupId: group.id },
    group,
    now: args.now,
    smtpConfigured: args.smtpConfigured,
    autohealWindowMs: args.autohealWindowMs,
    newId: newGuid,
  });
}

const offset = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString().replace("Z", "+00:00"));
const MECHANISM = Object.fromEntries(RECEIVERS.map((s) => [s.kind, s.mechanism]));

/** TestNotificationDetailsResponse from a test's outbox rows; `done` is false while a send is pending. */
export function testStatus(rows: NotificationRow[], alertType: string): { done: boolean; body: Record<string, unknown> } {
  const done = rows.every((r) => r.status !== "Pending");
  const created = Math.min(...rows.map((r) => r.created_at));
  const finished = rows.map((r) => r.delivered_at ?? r.last_attempt_at ?? r.created_at);
  return {
    done,
    body: {
      Context: { NotificationSource: "Microsoft.Insights/TestNotification", ContextType: ALERT_TYPES[alertType]?.contextType ?? "Microsoft.Insights/activityLogs" },
      State: done ? "Completed" : "Running",
      CompletedTime: done ? offset(Math.max(...finished)) : null,
      CreatedTime: offset(created),
      ActionDetails: rows.map((r) => ({
        MechanismType: MECHANISM[r.receiver_kind] ?? r.receiver_kind,
        Name: r.receiver_name,
        // Kept in tdekv's outbox (sms, voice, email without --smtp-url): done, and Detail says where it went.
        Status: r.status === "Delivered" || r.status === "StoredLocally" ? "Completed" : r.status === "Failed" ? "Failed" : "Running",
        SubState: "Default",
        SendTime: offset(r.last_attempt_at ?? r.created_at),
        Detail: r.detail,
      })),
    },
  };
}

/** The alert type of a test, kept in its sample event's properties. */
export function alertTypeOf(row: NotificationRow): string {
  try {
    const p = JSON.parse(row.payload) as { data?: { alertContext?: { properties?: { alertType?: string } }; context?: { activityLog?: { properties?: { alertType?: string } } } } };
    return p.data?.alertContext?.properties?.alertType ?? p.data?.context?.activityLog?.properties?.alertType ?? "activitylog";
  } catch {
    return "activitylog";
  }
}

import type { StoredEvent } from "../activity-log.js";
import { receiversOf, type ActionGroupBody, type Receiver, type ReceiverSpec } from "./action-group.js";
import type { AlertRuleBody, RuleActionGroup } from "./alert-rule.js";
import { renderMessage } from "./email-template.js";
import { alertIdFor, commonAlertPayload, COMMON_SCHEMA_ID, LEGACY_SCHEMA_ID, legacyActivityLogPayload } from "./payloads.js";
import type { NotificationRow } from "./schema.js";

/**
 * One fired alert (event × rule × action group) becomes one outbox row per receiver, with its payload
 * rendered now: what a receiver gets does not change if the group is edited while delivery is retried.
 * Pure apart from the id generator it is given.
 */
export interface PlanInput {
  stored: StoredEvent;
  rule: AlertRuleBody;
  action: RuleActionGroup;
  group: ActionGroupBody;
  now: number;
  smtpConfigured: boolean;
  autohealWindowMs: number | undefined;
  newId: () => string;
}

export const NO_SMTP = "No SMTP server is configured, so this email was not sent: start tdekv with --smtp-url (or TDEKV_SMTP_URL). The message is kept here.";

const CARRIERLESS: Record<string, string> = {
  sms: "SMS needs a telephone carrier, which cannot be reached from tdekv; the message is kept in the outbox.",
  voice: "Voice calls need a telephone carrier, which cannot be reached from tdekv; the message is kept in the outbox.",
  azureAppPush: "Push notifications go through the Azure mobile app service, which cannot be reached from tdekv; the message is kept in the outbox.",
  itsm: "ITSM work items go through an ITSM connection in Log Analytics, which cannot be reached from tdekv; the work item is kept in the outbox.",
  armRole: "Emails to the members of an Azure role need the role's member directory and a mail service; the message is kept in the outbox.",
  eventHub: "Event Hubs are not emulated by tdekv; the event is kept in the outbox.",
};

export const dedupeKey = (eventDataId: string, ruleId: string, groupId: string, kind: string, name: string): string =>
  [eventDataId, ruleId.toLowerCase(), groupId.toLowerCase(), kind, name.toLowerCase()].join("|");

export function planNotifications(input: PlanInput): NotificationRow[] {
  const { stored, rule, action, group, now } = input;
  const event = stored.data;
  const alertId = alertIdFor(rule, event);
  const message = renderMessage({ event, ruleName: rule.name, actionGroupName: group.name, groupShortName: group.properties.groupShortName, alertId, autohealWindowMs: input.autohealWindowMs });
  const common = () => commonAlertPayload({ event, rule, alertId, firedAt: now, customProperties: action.webhookProperties });

  const row = (spec: ReceiverSpec, receiver: Receiver, out: { channel: string; target: string; schemaId: string; payload: unknown; status: NotificationRow["status"]; detail: string | null }): NotificationRow => ({
    id: input.newId(),
    dedupe_key: dedupeKey(event.eventDataId, rule.id, group.id, spec.kind, receiver.name),
    subscription_id: event.subscriptionId.toLowerCase(),
    event_seq: stored.seq,
    event_data_id: event.eventDataId,
    event_name: event.eventName.value,
    event_status: event.status.value,
    resource_id: event.resourceId,
    alert_id: alertId,
    rule_id: rule.id,
    action_group_id: group.id,
    receiver_kind: spec.kind,
    receiver_name: receiver.name,
    queue_key: [group.id.toLowerCase(), spec.kind, receiver.name.toLowerCase()].join("|"),
    channel: out.channel,
    target: out.target,
    schema_id: out.schemaId,
    payload: JSON.stringify(out.payload),
    status: out.status,
    detail: out.detail,
    attempts: 0,
    next_attempt_at: now,
    created_at: now,
    last_attempt_at: null,
    delivered_at: null,
  });

  return receiversOf(group).map(({ spec, receiver }) => {
    const useCommon = receiver.useCommonAlertSchema === true;
    if (spec.channel === "http") {
      const url = spec.urlField ? receiver[spec.urlField] : undefined;
      const payload = useCommon ? common() : legacyActivityLogPayload({ event, webhookProperties: action.webhookProperties });
      const schemaId = useCommon ? COMMON_SCHEMA_ID : LEGACY_SCHEMA_ID;
      if (typeof url !== "string" || !url) {
        return row(spec, receiver, { channel: "none", target: "", schemaId, payload, status: "StoredLocally", detail: `The ${spec.kind} receiver has no ${spec.urlField} to call; the payload is kept in the outbox.` });
      }
      return row(spec, receiver, { channel: "http", target: url, schemaId, payload, status: "Pending", detail: null });
    }
    if (spec.channel === "smtp") {
      const email = { to: String(receiver.emailAddress), subject: message.subject, text: message.text };
      return row(spec, receiver, {
        channel: input.smtpConfigured ? "smtp" : "none",
        target: email.to,
        schemaId: "tdekv/email",
        payload: email,
        status: input.smtpConfigured ? "Pending" : "StoredLocally",
        detail: input.smtpConfigured ? null : NO_SMTP,
      });
    }
    const detail = CARRIERLESS[spec.kind] ?? "This receiver cannot be reached from tdekv; the notification is kept in the outbox.";
    switch (spec.kind) {
      case "sms":
      case "voice":
        return row(spec, receiver, {
          channel: "none",
          target: `+${String(receiver.countryCode)} ${String(receiver.phoneNumber)}`,
          schemaId: `tdekv/${spec.kind}`,
          payload: { text: spec.kind === "voice" ? `This is Azure Monitor. ${message.subject}. ${message.text.split("\n")[0]}` : message.short.slice(0, 160) },
          status: "StoredLocally",
          detail,
        });
      case "azureAppPush":
        return row(spec, receiver, { channel: "none", target: String(receiver.emailAddress), schemaId: "tdekv/push", payload: { title: message.subject, body: message.short }, status: "StoredLocally", detail });
      case "itsm":
        return row(spec, receiver, {
          channel: "none",
          target: `${String(receiver.workspaceId)}/${String(receiver.connectionId)}`,
          schemaId: "tdekv/itsm",
          payload: { ticketConfiguration: receiver.ticketConfiguration, title: message.subject, description: message.text, alert: common() },
          status: "StoredLocally",
          detail,
        });
      case "armRole":
        return row(spec, receiver, { channel: "none", target: String(receiver.roleId), schemaId: "tdekv/email", payload: { to: `members of role ${String(receiver.roleId)}`, subject: message.subject, text: message.text }, status: "StoredLocally", detail });
      default:
        return row(spec, receiver, {
          channel: "none",
          target: `${String(receiver.eventHubNameSpace ?? "")}/${String(receiver.eventHubName ?? "")}`,
          schemaId: COMMON_SCHEMA_ID,
          payload: common(),
          status: "StoredLocally",
          detail,
        });
    }
  });
}

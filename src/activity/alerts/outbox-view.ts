import type { AttemptRow } from "./outbox-store.js";
import type { NotificationRow } from "./schema.js";

/**
 * The outbox as the API and `tdekv alerts outbox` show it: what was (or could not be) sent, to whom, when
 * and with what result. URLs are shown with their query values masked (Logic App callback URLs carry a
 * `sig`); the full payload only on the single-notification view.
 */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    for (const k of [...u.searchParams.keys()]) u.searchParams.set(k, "***");
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return url;
  }
}

const iso = (ms: number | null) => (ms === null || ms === undefined ? null : new Date(Number(ms)).toISOString());
const ruleName = (id: string) => id.split("/").filter(Boolean).pop() ?? id;

export function notificationSummary(r: NotificationRow) {
  const carrierless = r.status === "StoredLocally";
  return {
    id: r.id,
    status: r.status,
    detail: r.detail,
    attempts: Number(r.attempts),
    createdTime: iso(r.created_at),
    lastAttemptTime: iso(r.last_attempt_at),
    deliveredTime: iso(r.delivered_at),
    nextAttemptTime: r.status === "Pending" ? iso(r.next_attempt_at) : null,
    // Several nodes (issue 11): sends made again after an unrecorded one, i.e. possible duplicates at the receiver.
    redelivered: Number(r.redelivered ?? 0),
    receiver: {
      kind: r.receiver_kind,
      name: r.receiver_name,
      channel: r.channel,
      target: r.channel === "http" || /^https?:/i.test(r.target) ? maskUrl(r.target) : r.target,
      actionGroupId: r.action_group_id,
    },
    alert: { alertId: r.alert_id, alertRule: ruleName(r.rule_id), alertRuleId: r.rule_id, schemaId: r.schema_id },
    event: { eventDataId: r.event_data_id, eventName: r.event_name, status: r.event_status, resourceId: r.resource_id },
    // Carrier-less receivers and emails: the message itself is what the user came to read.
    ...(carrierless || r.channel === "smtp" ? { message: JSON.parse(r.payload) as unknown } : {}),
  };
}

export function notificationDetail(r: NotificationRow, attempts: AttemptRow[]) {
  return {
    ...notificationSummary(r),
    payload: JSON.parse(r.payload) as unknown,
    attemptHistory: attempts.map((a) => ({ attempt: a.attempt, time: iso(a.startedAt), durationMs: a.durationMs, outcome: a.outcome, detail: a.detail })),
  };
}

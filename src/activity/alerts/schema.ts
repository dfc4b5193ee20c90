import type { Kysely } from "kysely";
import type { Db } from "../../storage/index.js";

/**
 * Tables of migrations 0006 (src/storage/migrations/0006-alerts.ts) and 0013 (0013-outbox-claims.ts: leases,
 * in-flight marks, redelivery counts). Times are epoch ms; lease times are on the lease clock (leaseNowMs).
 */
export interface AlertTables {
  alert_cursors: { name: string; seq: number; updated_at: number };
  /** Singleton leases (name 'dispatcher'): one node at a time follows the Activity Log. owner null: free. */
  alert_leases: { name: string; owner: string | null; epoch: number; lease_until: number };
  /** One lease per receiver queue: only its owner sends down the queue. `epoch` is the fencing token. */
  alert_queues: { queue_key: string; owner: string | null; epoch: number; lease_until: number };
  alert_notifications: {
    id: string;
    /** `{eventDataId}|{rule id}|{action group id}|{receiver kind}|{receiver name}`, lower-cased ids. */
    dedupe_key: string;
    subscription_id: string;
    event_seq: number;
    event_data_id: string;
    event_name: string;
    event_status: string;
    resource_id: string;
    /** essentials.alertId: one alert instance per (rule, event), shared by every receiver. */
    alert_id: string;
    rule_id: string;
    action_group_id: string;
    /** webhook | email | logicApp | automationRunbook | azureFunction | sms | voice | azureAppPush | itsm | armRole | eventHub */
    receiver_kind: string;
    receiver_name: string;
    /** The receiver's delivery queue, `{action group id}|{kind}|{name}` lower-cased: FIFO, one send at a time. */
    queue_key: string;
    /** http | smtp | none (carrier-less: kept in the outbox). */
    channel: string;
    /** URL, email address, phone number, ... as the receiver names it. */
    target: string;
    /** azureMonitorCommonAlertSchema | Microsoft.Insights/activityLogs | tdekv/email | tdekv/sms ... */
    schema_id: string;
    /** The exact body sent (JSON text), or the rendered message for email and carrier-less receivers. */
    payload: string;
    status: NotificationStatus;
    detail: string | null;
    attempts: number;
    next_attempt_at: number;
    created_at: number;
    last_attempt_at: number | null;
    delivered_at: number | null;
    /** The node sending it right now (set before a send, cleared when the attempt is recorded); 0013. */
    sending_by?: string | null;
    sending_at?: number | null;
    /** Sends made after another send of it went unrecorded (its node died or lost the queue): possible duplicates; 0013. */
    redelivered?: number;
  };
  alert_attempts: {
    notification_id: string;
    attempt: number;
    started_at: number;
    duration_ms: number;
    outcome: AttemptOutcome;
    detail: string;
    /** The node that made the attempt (0013; null for attempts recorded before it). */
    node_id?: string | null;
  };
}

/**
 * Pending: waiting for its first or next attempt. Delivered: the receiver accepted it. Failed: a permanent
 * refusal, or retries ran out. StoredLocally: nothing to send it through (sms, voice, push, ITSM, ARM role,
 * Event Hub; email without --smtp-url); the message is kept in the outbox instead.
 */
export type NotificationStatus = "Pending" | "Delivered" | "Failed" | "StoredLocally";
export type AttemptOutcome = "Delivered" | "RetryableFailure" | "PermanentFailure";

export type NotificationRow = AlertTables["alert_notifications"];

export const alertDb = (db: Db): Kysely<AlertTables> => db as unknown as Kysely<AlertTables>;

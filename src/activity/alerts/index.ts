import type { ArmServices, ResourceProvider } from "../../arm/index.js";
import { type Clock, type Logger, newHexId } from "../../platform/index.js";
import type { Db, StoreEngine } from "../../storage/index.js";
import type { ActivityLog } from "../activity-log.js";
import { actionGroupsProvider } from "./action-groups-provider.js";
import { alertRulesProvider } from "./alert-rules-provider.js";
import { AlertsWorker } from "./alerts-worker.js";
import { AlertClaims, engineOf } from "./claims.js";
import { DeliveryWorker } from "./delivery-worker.js";
import { Dispatcher } from "./dispatcher.js";
import { EmailSender } from "./email-sender.js";
import { OutboxStore, type OutboxQuery } from "./outbox-store.js";
import { notificationDetail, notificationSummary } from "./outbox-view.js";
import type { NotificationStatus } from "./schema.js";
import { createTestNotifications, testNotificationsProvider } from "./test-notifications-provider.js";

export { createAlertsRoute } from "./outbox-route.js";
export type { OutboxQuery } from "./outbox-store.js";
export type { NotificationStatus } from "./schema.js";
export { renderMessage, type RenderedMessage } from "./email-template.js";
export { commonAlertPayload, legacyActivityLogPayload, COMMON_SCHEMA_ID, LEGACY_SCHEMA_ID } from "./payloads.js";

/** What the alerts component gets from the composition root. */
export interface AlertsDeps {
  db: Db;
  clock: Clock;
  log: Logger;
  arm: ArmServices;
  activityLog: ActivityLog;
  /** SMTP server for emailReceivers (--smtp-url), e.g. smtp://127.0.0.1:2525; undefined: emails go to the outbox. */
  smtpUrl: string | undefined;
  /** --autoheal-window in ms, named in emails ("fix access before …"); the seed's 30 minutes when absent. */
  autohealWindowMs?: number;
  /** A notification was enqueued or attempted (the portal's inbox hint, issue 9 §4). */
  onNotification?: (resourceId: string) => void;
  /** This node's id in the alert leases (issue 11): a new random hex id per process when absent. */
  nodeId?: string;
  /** The store's engine: picks the lease clock and SKIP LOCKED. Default: "postgres" when `db` is PostgreSQL-wire, else "sqlite". */
  engine?: StoreEngine;
  /** Lease TTL of the dispatcher and receiver queue leases, in real ms (default 15 s). */
  leaseTtlMs?: number;
  /** How often those leases are renewed, in real ms (--lease-renew); default a third of the TTL. */
  leaseRenewMs?: number;
  /** Receiver queues this node serves at once (default 32). */
  maxQueuesInFlight?: number;
}

export type NotificationSummary = ReturnType<typeof notificationSummary>;
export type NotificationDetail = ReturnType<typeof notificationDetail>;

export interface Alerts {
  /** Microsoft.Insights actionGroups and activityLogAlerts. */
  providers: ResourceProvider[];
  /** Starts the dispatcher worker that follows the Activity Log, and the delivery worker. */
  start(): void;
  stop(): Promise<void>;
  /** The delivery outbox, newest first: every notification, its status and its last result. */
  outbox(query: OutboxQuery): Promise<NotificationSummary[]>;
  /** One notification with its exact payload and every attempt; undefined if unknown or outside the subscriptions. */
  notification(id: string, subscriptionIds?: string[]): Promise<NotificationDetail | undefined>;
  /** Notifications per status across all subscriptions (metrics, issue 11 §4): Pending is the outbox depth. */
  outboxCounts(): Promise<Record<NotificationStatus, number>>;
  /** This node's id in the alert leases. */
  nodeId: string;
  /**
   * Sends this node made of a notification whose earlier send went unrecorded (its node died, stopped or lost
   * the queue mid-send): possible duplicates, since start (tdekv_alert_redeliveries_total).
   */
  redeliveries(): number;
  /** In-flight marks and attempts this node dropped because the queue's lease was no longer its own, since start. */
  fencedWrites(): number;
}

/**
 * Action groups, activity-log alert rules and their delivery (issue 6). The lifecycle and ARM only append
 * to the Activity Log; the dispatcher follows it and fills a persistent outbox, and the delivery worker
 * empties it (webhooks, logic apps, runbooks and functions over HTTP, email over SMTP; other receivers are
 * kept in the outbox). See docs/designs/2026-11-28-alerts.md.
 */
export function createAlerts(deps: AlertsDeps): Alerts {
  const nodeId = deps.nodeId ?? newHexId(8);
  const claims = new AlertClaims(deps.db, { engine: deps.engine ?? engineOf(deps.db), nodeId, ttlMs: deps.leaseTtlMs ?? 15_000, renewMs: deps.leaseRenewMs, log: deps.log });
  const outbox = new OutboxStore(deps.db);
  if (deps.onNotification) outbox.onChange = deps.onNotification;
  const dispatcher = new Dispatcher({
    arm: deps.arm,
    clock: deps.clock,
    log: deps.log,
    activityLog: deps.activityLog,
    outbox,
    claims,
    smtpConfigured: Boolean(deps.smtpUrl),
    autohealWindowMs: deps.autohealWindowMs,
  });
  let worker: AlertsWorker | undefined;
  const delivery = new DeliveryWorker({
    outbox,
    clock: deps.clock,
    log: deps.log,
    email: deps.smtpUrl ? new EmailSender(deps.smtpUrl) : undefined,
    onSettled: () => worker?.kick("deliver"),
    claims,
    maxInFlight: deps.maxQueuesInFlight,
  });
  worker = new AlertsWorker({ clock: deps.clock, log: deps.log, activityLog: deps.activityLog, claims, dispatcher, delivery });
  const w = worker;
  // "Test action group" goes through the same outbox and delivery worker as a fired alert.
  const tests = createTestNotifications({ outbox, clock: deps.clock, smtpConfigured: Boolean(deps.smtpUrl), autohealWindowMs: deps.autohealWindowMs, enqueued: () => w.kick("deliver") });
  return {
    providers: [actionGroupsProvider(deps.arm, tests), alertRulesProvider(deps.arm), testNotificationsProvider(tests)],
    start: () => w.start(),
    stop: () => w.stop(),
    async outbox(query) {
      return (await outbox.query(query)).map(notificationSummary);
    },
    async notification(id, subscriptionIds) {
      const found = await outbox.get(id);
      if (!found || (subscriptionIds && !subscriptionIds.map((s) => s.toLowerCase()).includes(found.row.subscription_id))) return undefined;
      return notificationDetail(found.row, found.attempts);
    },
    outboxCounts: () => outbox.countByStatus(),
    nodeId,
    redeliveries: () => delivery.redeliveries,
    fencedWrites: () => delivery.fencedWrites,
  };
}

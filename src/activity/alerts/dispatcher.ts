import type { ArmServices, StoredResource } from "../../arm/index.js";
import { type Clock, type Logger, newGuid } from "../../platform/index.js";
import type { ActivityLog, StoredEvent } from "../activity-log.js";
import type { ActionGroupBody } from "./action-group.js";
import { type AlertClaims, Fenced } from "./claims.js";
import type { AlertRuleBody } from "./alert-rule.js";
import { ALERT_RULES_KEY } from "./alert-rules-provider.js";
import { conditionHolds, inScope } from "./condition.js";
import type { OutboxStore } from "./outbox-store.js";
import { planNotifications } from "./plan.js";
import type { NotificationRow } from "./schema.js";

export const CURSOR = "activity-log-dispatcher";
const BATCH = 500;

export interface DispatchResult {
  /** Rows added to the outbox in this pass. */
  enqueued: number;
  /** The next event is not visible yet (--activity-log-delay): when it becomes so, in clock ms. */
  waitUntil?: number;
}

/**
 * Follows the Activity Log by `seq` from a persisted cursor and turns every visible event that matches an
 * enabled rule into outbox rows (one per receiver of each enabled action group the rule names). An event
 * becomes visible at `visibleAt` (--activity-log-delay), so alerts are delayed exactly like the log:
 * Azure's alerts come from the same pipeline as its 15-30 minute Activity Log. A rule fires only for
 * events that reach the log after it was created, as Azure's do.
 *
 * Several nodes (issue 11): only the holder of the 'dispatcher' lease dispatches, and each batch's commit
 * is fenced by that lease in the same transaction, so a node that paused past its lease moves no cursor
 * (and the unique dedupe_key keeps any overlap harmless anyway). Activity Log seqs are granted in commit
 * order (migration 0011), so following `seq > cursor` misses nothing across nodes.
 */
export class Dispatcher {
  constructor(
    private readonly deps: {
      arm: ArmServices;
      clock: Clock;
      log: Logger;
      activityLog: ActivityLog;
      outbox: OutboxStore;
      claims: AlertClaims;
      smtpConfigured: boolean;
      autohealWindowMs: number | undefined;
    },
  ) {}

  async pass(): Promise<DispatchResult> {
    const { activityLog, outbox, clock, claims } = this.deps;
    const epoch = await claims.dispatcherEpoch();
    if (epoch === undefined) return { enqueued: 0 };
    // Read after the lease is taken: the previous holder's last fenced commit is visible by then.
    let cursor = await outbox.cursor(CURSOR);
    let enqueued = 0;
    const rulesBySub = new Map<string, StoredResource<AlertRuleBody>[]>();
    for (;;) {
      const events = await activityLog.since(cursor, BATCH);
      const now = clock.now();
      // One transaction per batch: the rows of every visible event and the cursor past the last of them.
      const rows: NotificationRow[] = [];
      let last = cursor;
      let waitUntil: number | undefined;
      for (const stored of events) {
        // Visibility only grows with seq (visibleAt = append time + a fixed delay): stop at the first hidden one.
        if (stored.visibleAt > now) {
          waitUntil = stored.visibleAt;
          break;
        }
        rows.push(...(await this.plan(stored, rulesBySub, now)));
        last = stored.seq;
      }
      if (last !== cursor) {
        try {
          enqueued += await outbox.commit(CURSOR, last, rows, now, (trx) => claims.fenceDispatcher(trx, epoch));
        } catch (err) {
          if (!(err instanceof Fenced)) throw err;
          claims.dropDispatcher();
          this.deps.log.warn({ node: claims.nodeId, epoch }, "alert dispatch rolled back: the dispatcher lease is no longer this node's");
          return { enqueued };
        }
      }
      cursor = last;
      if (waitUntil !== undefined) return { enqueued, waitUntil };
      if (events.length < BATCH) return { enqueued };
    }
  }

  private async rulesFor(sub: string, cache: Map<string, StoredResource<AlertRuleBody>[]>) {
    let rules = cache.get(sub);
    if (!rules) {
      rules = await this.deps.arm.store.listByType<AlertRuleBody>({ subscriptionId: sub, typeKey: ALERT_RULES_KEY });
      cache.set(sub, rules);
    }
    return rules;
  }

  private async plan(stored: StoredEvent, cache: Map<string, StoredResource<AlertRuleBody>[]>, now: number): Promise<NotificationRow[]> {
    const event = stored.data;
    const rows: NotificationRow[] = [];
    for (const rule of await this.rulesFor(event.subscriptionId.toLowerCase(), cache)) {
      const p = rule.body.properties;
      if (!p.enabled || rule.createdAt > stored.visibleAt) continue;
      if (!inScope(event.resourceId, p.scopes) || !conditionHolds(event, p.condition.allOf)) continue;
      for (const action of p.actions.actionGroups) {
        const group = await this.deps.arm.store.get<ActionGroupBody>(action.actionGroupId);
        // "If an action group is not enabled, then none of its receivers will receive communications."
        if (!group || !group.body.properties.enabled) continue;
        rows.push(
          ...planNotifications({ stored, rule: rule.body, action, group: group.body, now, smtpConfigured: this.deps.smtpConfigured, autohealWindowMs: this.deps.autohealWindowMs, newId: newGuid }),
        );
      }
      this.deps.log.info({ rule: rule.id, eventDataId: event.eventDataId, eventName: event.eventName.value, status: event.status.value }, "alert rule fired");
    }
    return rows;
  }
}


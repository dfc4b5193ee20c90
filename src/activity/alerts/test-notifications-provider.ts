import { armErrors, armResponses, type ProviderCall, type ResourceProvider } from "../../arm/index.js";
import { newGuid, type Clock, type SurfaceResponse } from "../../platform/index.js";
import type { ActionGroupBody } from "./action-group.js";
import { insightsErrors } from "./errors.js";
import type { OutboxStore } from "./outbox-store.js";
import { alertTypeOf, newNotificationId, planTest, readTestRequest, testStatus } from "./test-notifications.js";

/**
 * The ARM side of "Test action group" (test-notifications.ts): 202 with `Location` on the status URL (the
 * spec's `final-state-via: location`), whose GET answers 202 while a send is pending and 200 once every
 * receiver is done, so the SDK pollers and az wait for the result.
 */
export interface TestNotifications {
  create(call: ProviderCall, group: ActionGroupBody | undefined): Promise<SurfaceResponse>;
  status(call: ProviderCall, notificationId: string): Promise<SurfaceResponse>;
}

export function createTestNotifications(deps: { outbox: OutboxStore; clock: Clock; smtpConfigured: boolean; autohealWindowMs: number | undefined; enqueued(): void }): TestNotifications {
  return {
    async create(call, group) {
      const request = readTestRequest(call.body);
      const notificationId = newNotificationId();
      // The status lives beside what was tested: the action group, or the subscription / resource group.
      const statusPath = group ? `${group.id}/notificationStatus/${notificationId}` : `${call.scopeId ?? `/subscriptions/${call.subscription.id}`}/providers/Microsoft.Insights/notificationStatus/${notificationId}`;
      const now = deps.clock.now();
      const rows = planTest({
        notificationId,
        request,
        subscriptionId: call.subscription.id,
        tenantId: call.subscription.tenantId,
        group,
        statusId: statusPath,
        now,
        smtpConfigured: deps.smtpConfigured,
        autohealWindowMs: deps.autohealWindowMs,
      });
      await deps.outbox.enqueue(rows);
      deps.enqueued();
      const location = `${call.req.origin}${statusPath}?api-version=${encodeURIComponent(call.apiVersion)}`;
      return { status: 202, headers: { location, "retry-after": "1" }, body: { notificationId, correlationId: call.req.correlationId || newGuid(), createdTime: new Date(now).toISOString() } };
    },
    async status(call, notificationId) {
      const rows = await deps.outbox.query({ subscriptionIds: [call.subscription.id], eventDataId: notificationId, top: 1000 });
      if (!rows.length) throw insightsErrors.notificationNotFound(notificationId);
      const { done, body } = testStatus([...rows].reverse(), alertTypeOf(rows[0]!));
      return done ? armResponses.ok(body) : { status: 202, headers: { location: `${call.req.origin}${call.req.path}?api-version=${encodeURIComponent(call.apiVersion)}`, "retry-after": "1" }, body };
    },
  };
}

/** `POST /subscriptions/{s}[/resourceGroups/{rg}]/providers/Microsoft.Insights/createNotifications` and its `notificationStatus/{id}`. */
export function testNotificationsProvider(tests: TestNotifications): ResourceProvider {
  return {
    namespace: "Microsoft.Insights",
    types: ["createNotifications", "notificationStatus"],
    async handle(call) {
      if (call.type === "createNotifications") {
        if (call.kind !== "collection" || call.method !== "POST") throw armErrors.methodNotAllowed(call.method, call.req.path);
        return tests.create(call, undefined);
      }
      if (call.kind !== "instance" || call.method !== "GET") throw armErrors.methodNotAllowed(call.method, call.req.path);
      return tests.status(call, call.ref.names[0]!);
    },
  };
}

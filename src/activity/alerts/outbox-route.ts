import { ArmError, armErrors, armResponses } from "../../arm/index.js";
import { authenticateArm } from "../../arm/auth.js";
import type { Directory, TokenService } from "../../identity/index.js";
import type { SurfaceRequest, SurfaceResponse } from "../../platform/index.js";
import { insightsErrors } from "./errors.js";
import type { OutboxQuery } from "./outbox-store.js";
import type { NotificationStatus } from "./schema.js";

const STATUSES: NotificationStatus[] = ["Pending", "Delivered", "Failed", "StoredLocally"];

export interface OutboxReader {
  outbox(query: OutboxQuery): Promise<unknown[]>;
  notification(id: string, subscriptionIds?: string[]): Promise<unknown | undefined>;
}

/**
 * `GET /_tdekv/alerts/outbox[?status=&receiverKind=&eventDataId=&alertId=&rule=&resourceId=&top=]` and
 * `GET /_tdekv/alerts/outbox/{id}`: tdekv's own view of what action groups sent (Azure has no such API;
 * the closest is the test-notification status). Authenticated like ARM; a caller sees the notifications of
 * its own tenant's subscriptions only. What `tdekv alerts outbox` prints.
 */
export function createAlertsRoute(alerts: OutboxReader, deps: { tokens: TokenService; audiences: () => string[]; directory: Directory }) {
  return async function alertsRoute(req: SurfaceRequest): Promise<SurfaceResponse | undefined> {
    const path = req.path.replace(/\/+$/, "");
    const m = /^\/_tdekv\/alerts\/outbox(?:\/([^/]+))?$/i.exec(path);
    if (!m) return undefined;
    try {
      if (req.method !== "GET") throw armErrors.methodNotAllowed(req.method, req.path);
      const caller = await authenticateArm(req, deps.tokens, deps.audiences());
      const subscriptionIds = (await deps.directory.listSubscriptions(caller.tid)).map((s) => s.id);
      if (m[1]) {
        const one = await alerts.notification(decodeURIComponent(m[1]), subscriptionIds);
        if (!one) throw insightsErrors.notificationNotFound(m[1]);
        return armResponses.ok(one);
      }
      const q = req.query;
      const status = q.get("status") ?? undefined;
      const match = status ? STATUSES.find((s) => s.toLowerCase() === status.toLowerCase()) : undefined;
      if (status && !match) throw armErrors.invalidParameter(`The status '${status}' is not one of ${STATUSES.join(", ")}.`, "status");
      const topRaw = q.get("top") ?? q.get("$top");
      if (topRaw !== null && !/^\d+$/.test(topRaw)) throw armErrors.invalidParameter(`top must be a whole number, got '${topRaw}'.`, "top");
      const query: OutboxQuery = { subscriptionIds };
      if (match) query.status = match;
      if (topRaw !== null) query.top = Number(topRaw);
      for (const [param, key] of [
        ["receiverKind", "receiverKind"],
        ["eventDataId", "eventDataId"],
        ["alertId", "alertId"],
        ["rule", "rule"],
        ["resourceId", "resourceId"],
      ] as const) {
        const v = q.get(param);
        if (v) query[key] = v;
      }
      return armResponses.ok({ value: await alerts.outbox(query) });
    } catch (err) {
      if (err instanceof ArmError) return armResponses.armErrorResponse(err);
      throw err;
    }
  };
}

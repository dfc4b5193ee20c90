import type { ArmServices, ResourceProvider } from "../../arm/index.js";
import type { Clock, Logger } from "../../platform/index.js";
import type { Db } from "../../storage/index.js";
import type { ActivityLog } from "../activity-log.js";

/** What the alerts component gets from the composition root. */
export interface AlertsDeps {
  db: Db;
  clock: Clock;
  log: Logger;
  arm: ArmServices;
  activityLog: ActivityLog;
  /** SMTP server for emailReceivers (--smtp-url), e.g. smtp://127.0.0.1:2525; undefined: emails go to the outbox. */
  smtpUrl: string | undefined;
}

export interface Alerts {
  /** Microsoft.Insights actionGroups and activityLogAlerts. */
  providers: ResourceProvider[];
  /** Starts the dispatcher worker that follows the Activity Log. */
  start(): void;
  stop(): Promise<void>;
}

/** Stub: action groups, alert rules and delivery are being built (issue 6). */
export function createAlerts(_deps: AlertsDeps): Alerts {
  return { providers: [], start() {}, async stop() {} };
}

import type { EventData } from "../event-shape.js";

/**
 * Readable notifications for the seed's events (seed "Getting TDE status from the Activity log"; issue 6 §4):
 * the subject and body name the database, the server, the event and the next step. Within the auto-heal
 * window (seed: 30 minutes) the next step is "fix access and it heals"; after it, "fix access and
 * revalidate", and tags, PITR history and failover-group links are lost. Other events get a generic text.
 * The short forms feed SMS, voice and push notifications (groupShortName prefixes SMS, as in Azure).
 */
export interface RenderedMessage {
  subject: string;
  text: string;
  /** One line for SMS / push. */
  short: string;
}

export interface RenderContext {
  event: EventData;
  ruleName: string;
  actionGroupName: string;
  groupShortName: string;
  alertId: string;
  /** tdekv's --autoheal-window, when the composition root passes it; the seed's 30 minutes otherwise. */
  autohealWindowMs: number | undefined;
}

interface Target {
  database?: string;
  server?: string;
  managed: boolean;
  resourceGroup: string;
}

/** `.../servers/{s}/databases/{db}` or `.../managedInstances/{mi}/databases/{db}`. */
export function sqlTarget(resourceId: string, resourceGroup: string): Target {
  const seg = resourceId.split("/").filter(Boolean);
  const at = (name: string) => {
    const i = seg.findIndex((s) => s.toLowerCase() === name);
    return i >= 0 ? seg[i + 1] : undefined;
  };
  const mi = at("managedinstances");
  return { database: at("databases"), server: mi ?? at("servers"), managed: mi !== undefined, resourceGroup };
}

const SEED_WINDOW_MS = 30 * 60 * 1000;
const minutes = (ms: number) => (ms % 60_000 === 0 ? `${ms / 60_000} minutes` : `${Math.round(ms / 1000)} seconds`);

function revalidateHint(t: Target): string {
  if (t.managed) {
    return `revalidate the key: POST …/managedInstances/${t.server}/encryptionProtector/current/revalidate (PowerShell: Invoke-AzSqlInstanceTransparentDataEncryptionProtectorRevalidation -ResourceGroupName ${t.resourceGroup} -InstanceName ${t.server}).`;
  }
  return `revalidate the key: az sql db tde key revalidate -g ${t.resourceGroup} -s ${t.server} -d ${t.database}  (or for every database of the server: az sql server tde-key revalidate -g ${t.resourceGroup} -s ${t.server}).`;
}

const FIX_ACCESS =
  "Restore the server's access to its TDE protector: the key vault exists and is reachable (firewall: allow trusted Microsoft services), the key exists, is enabled and not expired, the server's managed identity exists, and it has Get, Wrap Key and Unwrap Key permissions on the key.";

/** Event-specific wording, keyed by lower-cased `eventName/status`; managed-instance names included. */
function seedText(ctx: RenderContext, t: Target): { headline: string; meaning: string; next: string } | undefined {
  const e = ctx.event;
  const name = e.eventName.value.toLowerCase().replace("makemanageddb", "makemanageddatabase");
  const where = `database '${t.database}' on ${t.managed ? "managed instance" : "server"} '${t.server}'`;
  const windowMs = ctx.autohealWindowMs ?? SEED_WINDOW_MS;
  const deadline = new Date(Date.parse(e.eventTimestamp) + windowMs).toISOString();
  switch (`${name}/${e.status.value.toLowerCase()}`) {
    case "makedatabaseinaccessible/started":
    case "makemanageddatabaseinaccessible/started":
      return {
        headline: `The ${where} has lost access to its Azure Key Vault key and is becoming inaccessible.`,
        meaning: "The database now denies every connection (error 40613) and shows status Inaccessible. The only operation allowed on it is DELETE.",
        next: `You are inside the auto-heal window (${minutes(windowMs)}, until ${deadline}). ${FIX_ACCESS} If access returns before ${deadline}, the database heals by itself: no revalidation is needed.`,
      };
    case "makedatabaseinaccessible/succeeded":
    case "makemanageddatabaseinaccessible/succeeded":
      return {
        headline: `The ${where} is inaccessible and will no longer heal by itself.`,
        meaning: `The ${minutes(windowMs)} auto-heal window has passed without access to the key coming back.`,
        next: `${FIX_ACCESS} Then ${revalidateHint(t)} When it is back online, its tags, point-in-time-restore history and failover-group links are gone: re-apply them.`,
      };
    case "makedatabaseaccessible/started":
    case "makemanageddatabaseaccessible/started":
      return {
        headline: `Access to the Azure Key Vault key has been re-established; the ${where} is coming back online.`,
        meaning: "The operation to make the database accessible has started.",
        next: "No action is needed now. Another notification follows when the database is online (or if this fails).",
      };
    case "makedatabaseaccessible/succeeded":
    case "makemanageddatabaseaccessible/succeeded":
      return {
        headline: `The ${where} is online again.`,
        meaning: "Access to the Azure Key Vault key has been re-established and the database accepts connections.",
        next: "If it came back through a revalidation after the auto-heal window, its tags, point-in-time-restore history and failover-group links were lost: re-apply them. Then find out why access was lost so it does not happen again.",
      };
    case "makedatabaseaccessible/failed":
    case "makemanageddatabaseaccessible/failed":
      return {
        headline: `Bringing the ${where} back online failed.`,
        meaning: "The database is still inaccessible: the server probably still cannot use its key.",
        next: `${FIX_ACCESS} Then ${revalidateHint(t)}`,
      };
    default:
      return undefined;
  }
}

export function renderMessage(ctx: RenderContext): RenderedMessage {
  const e = ctx.event;
  const t = sqlTarget(e.resourceId, e.resourceGroupName);
  const eventLabel = `${e.eventName.value} ${e.status.value}`;
  const seed = t.database && t.server ? seedText(ctx, t) : undefined;
  const resourceName = e.resourceId.split("/").filter(Boolean).pop() ?? e.resourceId;
  let headline: string;
  let meaning: string;
  let next: string;
  if (seed) ({ headline, meaning, next } = seed);
  else if (e.category.value === "ResourceHealth") {
    const p = e.properties as Record<string, unknown>;
    headline = `Resource health of '${resourceName}' is ${String(p.currentHealthStatus ?? e.status.value)}${p.previousHealthStatus ? ` (was ${String(p.previousHealthStatus)})` : ""}.`;
    meaning = String(p.title ?? p.details ?? e.description ?? "");
    next = "Open the resource's Resource Health and Activity Log to see the cause.";
  } else {
    headline = `${eventLabel} on '${resourceName}'.`;
    meaning = e.description || e.operationName.localizedValue;
    next = "Review the event in the Activity Log (az monitor activity-log list --correlation-id " + e.correlationId + ").";
  }
  const subjectTarget = t.database && t.server ? `database '${t.database}' on ${t.managed ? "managed instance" : "server"} '${t.server}'` : `'${resourceName}'`;
  const subject = `Azure Monitor alert '${ctx.ruleName}' fired: ${eventLabel} on ${subjectTarget}`;
  const text = [
    headline,
    "",
    meaning,
    "",
    `Next step: ${next}`,
    "",
    "Details",
    `  Event:           ${eventLabel}`,
    `  Description:     ${e.description}`,
    ...(t.database ? [`  Database:        ${t.database}`, t.managed ? `  Managed instance: ${t.server}` : `  Server:          ${t.server}`] : []),
    `  Resource:        ${e.resourceId}`,
    `  Event time:      ${e.eventTimestamp}`,
    `  Correlation id:  ${e.correlationId}`,
    `  Alert rule:      ${ctx.ruleName}`,
    `  Action group:    ${ctx.actionGroupName} (${ctx.groupShortName})`,
    `  Alert id:        ${ctx.alertId}`,
    "",
    "Sent by tdekv's Azure Monitor action group emulation.",
  ].join("\n");
  return { subject, text, short: `${ctx.groupShortName}: ${eventLabel} on ${subjectTarget}. ${next}`.slice(0, 1600) };
}

import { type ActivityEvent, BACK, LOSS, type Notification, duration, eventNameOf } from "../sql-api";

/**
 * The incident as one ordered story (portal.md §4.1): Fault → Detected → Inaccessible → Alert fired →
 * Doctor finding → Fix → Healed, or Window closed → Revalidated → Online. Pure: built from what the public
 * APIs returned (the database's Activity Log, Resource Health events in it, the notifications outbox) and
 * the server's clock, so a reload or another tab tells the same story.
 */

export type StepKind = "fault" | "detected" | "inaccessible" | "health" | "alert" | "doctor" | "fix" | "healed" | "window-closed" | "revalidate-failed" | "revalidated" | "online" | "health-resolved";

export interface Step {
  kind: StepKind;
  title: string;
  /** epoch ms; undefined when the step has not happened (a pending step). */
  at?: number;
  /** Who or what caused it: a user, the key probe, chaos, the clock. */
  who: string;
  detail: string;
  /** The Activity Log event behind the step, e.g. "MakeDatabaseInaccessible Started". */
  event?: string;
  tone: "bad" | "good" | "info";
}

export interface Incident {
  lostAt: number;
  code?: string;
  cause?: string;
  keyUri?: string;
  closedAt?: number;
  healedAt?: number;
  revalidatedAt?: number;
  /** Still Inaccessible: the window is open (autoheal) or closed (revalidate). */
  open: boolean;
  steps: Step[];
  chips: { label: string; ms: number }[];
}

export interface DoctorSeen {
  code: string;
  title: string;
  at: number;
}

const t = (e: ActivityEvent) => Date.parse(e.eventTimestamp);

/** tdekv's probe causes (src/sql/key-access.ts) in the seed's words, for the Fault step. */
const CAUSE_TEXT: Record<string, string> = {
  "no-identity": "the server's managed identity is missing",
  "identity-deleted": "the server's managed identity was deleted",
  "wrong-tenant": "the server is no longer in the tenant of its identity and key vault",
  "vault-unreachable": "the key vault is unavailable or doesn't exist",
  "vault-unavailable": "the key vault is unavailable",
  "network-error": "an intermittent network error made the key vault unavailable",
  timeout: "the key vault did not answer in time",
  firewall: "the key vault firewall doesn't allow Microsoft services",
  "key-not-found": "the key was deleted",
  "key-disabled": "the key was disabled",
  "key-expired": "the key expired",
  "key-not-yet-valid": "the key is not yet valid",
  "missing-permissions": "the permissions of the server's managed identity were revoked or are not sufficient (Get, Wrap, Unwrap)",
  "unsupported-key": "the key type or size is not supported",
  "recovery-level": "the vault's recovery level is Purgeable",
};

export const causeText = (cause?: string) => (cause ? (CAUSE_TEXT[cause] ?? cause) : "unknown");

/**
 * The newest incident of a database, from its Activity Log (newest first, as the API returns it), or
 * undefined when the log shows no loss of access.
 */
export function buildIncident(events: ActivityEvent[], notifications: Notification[], opts: { now: number; windowMs: number; status?: string; doctor?: DoctorSeen }): Incident | undefined {
  const asc = [...events].sort((a, b) => t(a) - t(b));
  let start = -1;
  for (let i = asc.length - 1; i >= 0; i--) {
    const e = asc[i]!;
    if (e.category?.value === "Administrative" && LOSS.test(eventNameOf(e)) && e.status?.value === "Started") {
      start = i;
      break;
    }
  }
  if (start < 0) return undefined;
  const loss = asc[start]!;
  const lostAt = t(loss);
  const after = asc.slice(start + 1);
  const p = loss.properties ?? {};
  const inc: Incident = { lostAt, open: opts.status === "Inaccessible", steps: [], chips: [], ...(p.errorCode ? { code: String(p.errorCode) } : {}), ...(p.cause ? { cause: String(p.cause) } : {}), ...(p.keyUri ? { keyUri: String(p.keyUri) } : {}) };
  const name = eventNameOf(loss);
  const steps = inc.steps;
  steps.push({ kind: "fault", title: "Fault", at: undefined, who: "a change to the key, the vault, its firewall or the server identity (not in the Activity Log)", detail: causeText(inc.cause), tone: "bad" });
  steps.push({ kind: "detected", title: "Detected", at: lostAt, who: "the key probe (get, wrapKey, unwrapKey)", detail: inc.code ? `Key Vault access failed with ${inc.code}` : "Key Vault access failed", tone: "bad" });
  steps.push({ kind: "inaccessible", title: "Inaccessible", at: lostAt, who: loss.caller ?? "Microsoft.Sql", detail: loss.description ?? "", event: `${name} Started`, tone: "bad" });

  const activated = after.find((e) => e.category?.value === "ResourceHealth" && e.status?.value === "Active");
  if (activated) steps.push({ kind: "health", title: "Resource health: Unavailable", at: t(activated), who: "Microsoft.ResourceHealth", detail: activated.description ?? "", event: "Health Event Activated", tone: "bad" });

  const mine = notifications.filter((n) => Date.parse(n.createdTime) >= lostAt && after.concat(loss).some((e) => e.eventDataId === n.event.eventDataId));
  const firstAlert = [...mine].sort((a, b) => Date.parse(a.createdTime) - Date.parse(b.createdTime))[0];
  for (const n of mine.filter((x) => x.event.eventDataId === firstAlert?.event.eventDataId)) {
    steps.push({
      kind: "alert",
      title: "Alert fired",
      at: Date.parse(n.createdTime),
      who: `rule ${n.alert.alertRule} → action group ${nameTail(n.receiver.actionGroupId)} → ${n.receiver.kind} ${n.receiver.name}`,
      detail: `${n.event.eventName} ${n.event.status}: ${n.status}${n.detail ? ` (${n.detail})` : ""}`,
      tone: n.status === "Failed" ? "bad" : "info",
    });
  }

  const closed = after.find((e) => LOSS.test(eventNameOf(e)) && e.status?.value === "Succeeded");
  if (closed) {
    inc.closedAt = t(closed);
    steps.push({ kind: "window-closed", title: "Window closed", at: inc.closedAt, who: "the clock: 30 minutes without access", detail: closed.description ?? "", event: `${eventNameOf(closed)} Succeeded`, tone: "bad" });
  }
  if (opts.doctor && opts.doctor.at >= lostAt) steps.push({ kind: "doctor", title: "Doctor finding", at: opts.doctor.at, who: "Diagnose and solve problems", detail: `${opts.doctor.code}: ${opts.doctor.title}`, tone: "info" });
  for (const e of after.filter((x) => BACK.test(eventNameOf(x)) && x.status?.value === "Failed")) {
    steps.push({ kind: "revalidate-failed", title: "Revalidation failed", at: t(e), who: "Revalidate key", detail: e.description ?? "", event: `${eventNameOf(e)} Failed`, tone: "bad" });
  }
  const started = after.filter((x) => BACK.test(eventNameOf(x)) && x.status?.value === "Started");
  const succeeded = after.find((x) => BACK.test(eventNameOf(x)) && x.status?.value === "Succeeded");
  const fix = succeeded ? [...started].reverse().find((s) => t(s) <= t(succeeded)) : undefined;
  if (succeeded) {
    const at = t(succeeded);
    const late = !!inc.closedAt && inc.closedAt <= at;
    steps.push({ kind: "fix", title: "Fix", at: fix ? t(fix) : at, who: late ? "a user: Revalidate key" : "the key probe saw access work again", detail: fix?.description ?? "Access to the Azure Key Vault key was re-established.", event: `${eventNameOf(succeeded)} Started`, tone: "good" });
    if (late) {
      inc.revalidatedAt = at;
      steps.push({ kind: "revalidated", title: "Revalidated", at, who: "Revalidate key", detail: succeeded.description ?? "", event: `${eventNameOf(succeeded)} Succeeded`, tone: "good" });
    } else {
      inc.healedAt = at;
      steps.push({ kind: "healed", title: "Healed", at, who: "auto-heal within the window", detail: succeeded.description ?? "", event: `${eventNameOf(succeeded)} Succeeded`, tone: "good" });
    }
    steps.push({ kind: "online", title: "Online", at, who: "Microsoft.Sql", detail: "The database accepts connections again.", tone: "good" });
  }
  const resolved = after.find((e) => e.category?.value === "ResourceHealth" && e.status?.value === "Resolved");
  if (resolved) steps.push({ kind: "health-resolved", title: "Resource health: Available", at: t(resolved), who: "Microsoft.ResourceHealth", detail: resolved.description ?? "", event: "Health Event Resolved", tone: "good" });

  // Keep the story in time order; the undated Fault stays first.
  const [faultStep, ...rest] = steps;
  inc.steps = [faultStep!, ...rest.sort((a, b) => (a.at ?? 0) - (b.at ?? 0))];

  // Duration chips (portal.md §4.1): time to alert, to fix, total downtime.
  if (firstAlert) inc.chips.push({ label: "Time to alert", ms: Date.parse(firstAlert.createdTime) - lostAt });
  if (fix) inc.chips.push({ label: "Time to fix", ms: t(fix) - lostAt });
  const end = inc.healedAt ?? inc.revalidatedAt;
  inc.chips.push({ label: end ? "Total downtime" : "Down for", ms: (end ?? opts.now) - lostAt });
  if (end) inc.open = false;
  return inc;
}

const nameTail = (id: string) => id.split("/").filter(Boolean).pop() ?? id;

/** The auto-heal window of an open incident: deadline, time left and a level in words (portal.md §4.1). */
export function windowOf(lostAt: number, windowMs: number, now: number, closedAt?: number) {
  const deadline = lostAt + windowMs;
  const left = closedAt ? 0 : Math.max(0, deadline - now);
  const level = left <= 0 ? "closed" : left < 2 * 60_000 ? "critical" : left < 10 * 60_000 ? "warning" : "neutral";
  return { deadline, left, level } as const;
}

/** A post-mortem block (portal.md §4.1 "Copy as Markdown"). */
export function incidentMarkdown(dbName: string, serverName: string, inc: Incident, lost: string[]): string {
  const iso = (ms?: number) => (ms === undefined ? "—" : new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z"));
  const lines = [
    `## Incident: ${dbName} on ${serverName} lost access to its Azure Key Vault key`,
    "",
    `- Error: ${inc.code ?? "unknown"} (${causeText(inc.cause)})`,
    ...(inc.keyUri ? [`- TDE protector: ${inc.keyUri}`] : []),
    `- Lost access: ${iso(inc.lostAt)}`,
    ...inc.chips.map((c) => `- ${c.label}: ${duration(c.ms)}`),
    "",
    "| Step | Time (UTC) | By | Detail |",
    "| --- | --- | --- | --- |",
    ...inc.steps.map((s) => `| ${s.title} | ${iso(s.at)} | ${esc(s.who)} | ${esc(`${s.event ? `${s.event}: ` : ""}${s.detail}`)} |`),
  ];
  if (lost.length) lines.push("", "### Settings lost after the late revalidation", "", ...lost.map((l) => `- ${l}`));
  return `${lines.join("\n")}\n`;
}

const esc = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

import type { Command } from "commander";
import { resolveDataDir } from "../platform/index.js";
import { adminToken, call, readEndpoints } from "./instance.js";
import { renderTable } from "./render.js";

interface Row {
  id: string;
  createdTime: string;
  status: string;
  attempts: number;
  detail: string | null;
  receiver: { kind: string; name: string; target: string };
  alert: { alertRule: string };
  event: { eventName: string; status: string; resourceId: string };
}

/** `tdekv alerts outbox`: what action groups sent, or kept for receivers no carrier can reach. */
async function outbox(o: { status?: string; kind?: string; event?: string; rule?: string; top?: string; id?: string; json?: boolean; dataDir?: string }) {
  const ep = readEndpoints(resolveDataDir(o.dataDir));
  const q = new URLSearchParams();
  for (const [k, v] of [
    ["status", o.status],
    ["receiverKind", o.kind],
    ["eventDataId", o.event],
    ["rule", o.rule],
    ["top", o.top],
  ] as const)
    if (v) q.set(k, v);
  const res = await call(ep, "GET", o.id ? `/_tdekv/alerts/outbox/${encodeURIComponent(o.id)}` : `/_tdekv/alerts/outbox?${q}`, { token: await adminToken(ep) });
  if (res.status >= 300) {
    const e = (res.body as { error?: { code?: string; message?: string } })?.error;
    throw new Error(e ? `(${e.code}) ${e.message}` : `HTTP ${res.status}`);
  }
  if (o.id || o.json) {
    process.stdout.write(JSON.stringify(res.body, null, 2) + "\n");
    return;
  }
  const rows = (res.body as { value: Row[] }).value;
  process.stdout.write(
    renderTable(
      ["time", "status", "tries", "receiver", "to", "rule", "event", "resource", "detail", "id"],
      rows.map((r) => ({
        time: r.createdTime,
        status: r.status,
        tries: r.attempts,
        receiver: `${r.receiver.kind}:${r.receiver.name}`,
        to: r.receiver.target,
        rule: r.alert.alertRule,
        event: `${r.event.eventName} ${r.event.status}`,
        resource: r.event.resourceId.split("/").slice(-3).join("/"),
        detail: (r.detail ?? "").slice(0, 60),
        id: r.id,
      })),
    ),
  );
}

export function registerAlerts(program: Command, dataDirOption: string): void {
  program
    .command("alerts")
    .description("action-group notifications")
    .command("outbox")
    .alias("history")
    .description("what action groups sent (or kept, for receivers no carrier can reach): status, receiver, event, last result")
    .option("--status <status>", "Pending, Delivered, Failed or StoredLocally")
    .option("--kind <receiverKind>", "webhook, email, logicApp, automationRunbook, azureFunction, sms, voice, azureAppPush, itsm, armRole, eventHub")
    .option("--event <eventDataId>", "the notifications of one Activity Log event")
    .option("--rule <nameOrId>", "the notifications of one alert rule")
    .option("--top <n>", "how many, newest first (default 100)")
    .option("--id <notificationId>", "one notification with its exact payload and every attempt")
    .option("--json", "print JSON instead of a table")
    .option("--data-dir <dir>", dataDirOption)
    .action(outbox);
}

/**
 * bench/alert-latency — issue 6: from the fault (the server's access policy revoked) to the webhook receiving
 * MakeDatabaseInaccessible Started in the common alert schema, p50 and p99 over N trials, with the real clock,
 * the background probe worker and a real HTTP receiver. Split into detection (fault -> the event's
 * eventTimestamp, the lifecycle's part) and delivery (eventTimestamp -> webhook received, the alerts part).
 * Target: detection latency + at most 500 ms. Azure's events alone take 15-30 minutes to appear.
 * Run: node --import tsx bench/alert-latency.ts [trials=30] [probeIntervalSeconds=1]
 */
import { MonitorClient } from "@azure/arm-monitor";
import { Drill, RG } from "../test/lifecycle-kit.js";
import { startInstance } from "../test/harness.js";
import { HttpReceiver, waitFor } from "../test/alerts-kit.js";

const TRIALS = Number(process.argv[2] ?? 30);
const INTERVAL = Number(process.argv[3] ?? 1);

const hooks = new HttpReceiver();
await hooks.start();
const inst = await startInstance({ args: ["--probe-interval", String(INTERVAL), "--token-lifetime", "86400"] });
const d = Object.assign(Object.create(Drill.prototype) as Drill, { inst });
await d.init();
await d.c.rm.resourceGroups.createOrUpdate(RG, { location: "eastus" });
const s = await d.scenario("bench");
const sub = inst.endpoints.subscriptionId;
const monitor = new MonitorClient(d.c.credential, sub, { endpoint: inst.endpoints.armEndpoint, tlsOptions: { ca: inst.ca.toString() } });
await monitor.actionGroups.createOrUpdate(RG, "bench-ag", { location: "Global", groupShortName: "bench", enabled: true, webhookReceivers: [{ name: "hook", serviceUri: `${hooks.url}/hook`, useCommonAlertSchema: true }] });
await monitor.activityLogAlerts.createOrUpdate(RG, "bench-rule", {
  location: "Global",
  scopes: [`/subscriptions/${sub}/resourceGroups/${RG}`],
  enabled: true,
  condition: { allOf: [{ field: "category", equals: "Administrative" }, { field: "operationName", equals: "Microsoft.Sql/servers/databases/write" }] },
  actions: { actionGroups: [{ actionGroupId: `/subscriptions/${sub}/resourceGroups/${RG}/providers/microsoft.insights/actionGroups/bench-ag` }] },
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const seen = (from: number, eventName: string, status: string) =>
  hooks.received.slice(from).find((r) => r.body.data.alertContext.properties.eventName === eventName && r.body.data.alertContext.status === status);
const total: number[] = [];
const detection: number[] = [];
const delivery: number[] = [];
for (let i = 0; i < TRIALS; i++) {
  const from = hooks.received.length;
  const t0 = Date.now();
  await d.revoke(s.vault, s.principal);
  const got = await waitFor("MakeDatabaseInaccessible Started", () => seen(from, "MakeDatabaseInaccessible", "Started"), 60_000);
  const eventAt = Date.parse(got.body.data.alertContext.eventTimestamp);
  total.push(got.epoch - t0);
  detection.push(eventAt - t0);
  delivery.push(got.epoch - eventAt);
  const healFrom = hooks.received.length;
  await d.grant(s.vault, s.principal);
  await waitFor("the heal", () => seen(healFrom, "MakeDatabaseAccessible", "Succeeded"), 60_000);
  // Start each trial at a random phase of the probe interval, as a real fault would.
  await sleep(Math.random() * INTERVAL * 1000);
}
await inst.stop();
await hooks.stop();
const pct = (xs: number[], p: number) => {
  const v = [...xs].sort((a, b) => a - b);
  return v[Math.min(v.length - 1, Math.ceil((p / 100) * v.length) - 1)]!;
};
const line = (label: string, xs: number[]) => `  ${label.padEnd(40)} p50 ${String(pct(xs, 50)).padStart(5)} ms   p99 ${String(pct(xs, 99)).padStart(5)} ms   max ${String(Math.max(...xs)).padStart(5)} ms`;
console.log(`alert latency: revoked access policy -> webhook received (common schema), ${TRIALS} trials, probe interval ${INTERVAL} s`);
console.log(line("fault -> webhook received", total));
console.log(line("  detection (fault -> event timestamp)", detection));
console.log(line("  delivery (event -> webhook received)", delivery));
console.log(`  target detection + 500 ms: delivery p99 ${pct(delivery, 99)} ms ${pct(delivery, 99) <= 500 ? "<=" : ">"} 500 ms: ${pct(delivery, 99) <= 500 ? "met" : "NOT met"}`);

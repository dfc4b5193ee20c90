/**
 * bench/detection — issue 5: from a revoked access policy to the database being Inaccessible with its
 * MakeDatabaseInaccessible event in the Activity Log, p50 and p99 over N trials, with the real clock and the
 * background probe worker. Target: at most probe interval + 1 s.
 * Run: node --import tsx bench/detection.ts [trials=50] [probeIntervalSeconds=1]
 */
import { Drill, RG } from "../test/lifecycle-kit.js";
import { startInstance, request, clientToken } from "../test/harness.js";

const TRIALS = Number(process.argv[2] ?? 50);
const INTERVAL = Number(process.argv[3] ?? 1);

const inst = await startInstance({ args: ["--probe-interval", String(INTERVAL), "--token-lifetime", "86400"] });
const d = Object.assign(Object.create(Drill.prototype) as Drill, { inst });
await d.init();
await d.c.rm.resourceGroups.createOrUpdate(RG, { location: "eastus" });
const s = await d.scenario("bench");
const token = await clientToken(inst, "https://management.azure.com/.default");
const countEvents = async (name: string) => {
  const filter = `eventTimestamp ge '2000-01-01T00:00:00Z' and resourceId eq '${s.dbId}'`;
  const res = await request(inst, "GET", `/subscriptions/${inst.endpoints.subscriptionId}/providers/Microsoft.Insights/eventtypes/management/values?api-version=2015-04-01&$filter=${encodeURIComponent(filter)}`, { headers: { authorization: `Bearer ${token}` } });
  return (res.json.value as { eventName: { value: string }; status: { value: string } }[]).filter((e) => `${e.eventName.value}/${e.status.value}` === name).length;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const latencies: number[] = [];
for (let i = 0; i < TRIALS; i++) {
  const before = await countEvents("MakeDatabaseInaccessible/Started");
  const t0 = performance.now();
  await d.revoke(s.vault, s.principal);
  while ((await d.status(s)) !== "Inaccessible" || (await countEvents("MakeDatabaseInaccessible/Started")) === before) await sleep(10);
  latencies.push(performance.now() - t0);
  await d.grant(s.vault, s.principal);
  while ((await d.status(s)) !== "Online") await sleep(20);
  // Start each trial at a random phase of the probe interval, as a real fault would.
  await sleep(Math.random() * INTERVAL * 1000);
}
await inst.stop();
latencies.sort((a, b) => a - b);
const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)]!;
console.log(`detection: revoked policy -> Inaccessible + MakeDatabaseInaccessible Started, ${TRIALS} trials, probe interval ${INTERVAL} s`);
console.log(`  p50 ${pct(50).toFixed(0)} ms, p99 ${pct(99).toFixed(0)} ms, max ${latencies[latencies.length - 1]!.toFixed(0)} ms`);
console.log(`  target probe interval + 1 s = ${INTERVAL * 1000 + 1000} ms: ${pct(99) <= INTERVAL * 1000 + 1000 ? "met" : "NOT met"} (p99/target ${(pct(99) / (INTERVAL * 1000 + 1000)).toFixed(2)})`);

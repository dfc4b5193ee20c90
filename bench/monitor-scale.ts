/**
 * bench/monitor-scale — issue 5: N servers with M databases each, all on customer-managed keys reached
 * through one user-assigned identity. A probe pass must call the vault per (server, protector) pair, not per
 * database: prints vault calls per pass against pairs and databases, and CPU and wall time per pass.
 * Run: node --import tsx bench/monitor-scale.ts [servers=1000] [databasesPerServer=10] [passes=3]
 */
import { Drill, RG } from "../test/lifecycle-kit.js";
import { startInstance } from "../test/harness.js";

const SERVERS = Number(process.argv[2] ?? 1000);
const DBS = Number(process.argv[3] ?? 10);
const PASSES = Number(process.argv[4] ?? 3);
const CONCURRENCY = 8;

const inst = await startInstance({ args: ["--probe-interval", "3600", "--token-lifetime", "86400"] });
const d = Object.assign(Object.create(Drill.prototype) as Drill, { inst });
await d.init();
const { c } = d;
const t0 = performance.now();
await c.rm.resourceGroups.createOrUpdate(RG, { location: "eastus" });
await d.vault("kv-fleet");
const uami = await c.msi.userAssignedIdentities.createOrUpdate(RG, "fleet-id", { location: "eastus" });
await d.grant("kv-fleet", uami.principalId!);
const kid = (await c.keys("kv-fleet").createRsaKey("fleet", { keySize: 2048 })).id!;
const keyName = `kv-fleet_fleet_${kid.split("/").pop()}`;

async function oneServer(i: number) {
  const name = `fleet-${i}`;
  await c.sql.servers.beginCreateOrUpdateAndWait(
    RG,
    name,
    { location: "eastus", administratorLogin: "a1", administratorLoginPassword: "Str0ng!Passw0rd", identity: { type: "UserAssigned", userAssignedIdentities: { [uami.id!]: {} } }, primaryUserAssignedIdentityId: uami.id },
    c.poll,
  );
  await c.sql.serverKeys.beginCreateOrUpdateAndWait(RG, name, keyName, { serverKeyType: "AzureKeyVault", uri: kid }, c.poll);
  await c.sql.encryptionProtectors.beginCreateOrUpdateAndWait(RG, name, "current", { serverKeyType: "AzureKeyVault", serverKeyName: keyName }, c.poll);
  for (let j = 0; j < DBS; j++) await c.sql.databases.beginCreateOrUpdateAndWait(RG, name, `db${j}`, { location: "eastus" }, c.poll);
}
let next = 0;
await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
  while (next < SERVERS) await oneServer(next++);
}));
const setupS = (performance.now() - t0) / 1000;
const passes: { targets: number; vaultCalls: number; cpuMs: number; wallMs: number }[] = [];
for (let i = 0; i < PASSES; i++) passes.push(await d.probe());
await inst.stop();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const calls = median(passes.map((p) => p.vaultCalls));
console.log(`monitor-scale: ${SERVERS} servers x ${DBS} databases = ${SERVERS * DBS} databases, one vault, one user-assigned identity (setup ${setupS.toFixed(0)} s)`);
console.log(`  probe targets per pass: ${passes[0]!.targets} (distinct server/protector pairs: ${SERVERS})`);
console.log(`  vault calls per pass: ${calls} = ${(calls / SERVERS).toFixed(2)} per pair (get + wrapKey + unwrapKey), ${(calls / (SERVERS * DBS)).toFixed(2)} per database`);
console.log(`  per pass (median of ${PASSES}): CPU ${median(passes.map((p) => p.cpuMs)).toFixed(0)} ms, wall ${median(passes.map((p) => p.wallMs)).toFixed(0)} ms; CPU per pair ${(median(passes.map((p) => p.cpuMs)) / SERVERS).toFixed(2)} ms`);

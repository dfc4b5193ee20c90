/**
 * bench/replication-lag — issue 10: geo-replication lag at 1,000 commits/s. A primary and its geo-secondary
 * (two logical servers in tdekv's store, the real archive, replicator and engine; no HTTP), single-row commits
 * paced at the target rate; each commit's lag is the wall time from its commit returning on the primary to
 * the secondary having replayed it (encrypted frames shipped as a rebuilt WAL, checkpointed there). Prints
 * the achieved rate and the lag's p50 / p99 / max.
 * Run: node --import tsx bench/replication-lag.ts [rate=1000] [seconds=10]
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { TdeEngine, ServiceManagedProtector } from "../src/tde/index.js";
import { SecretBox, systemClock, silentLogger, newGuid } from "../src/platform/index.js";
import { openSqliteStore } from "../src/storage/index.js";
import { ResourceStore, type ArmServices } from "../src/arm/index.js";
import { Archiver } from "../src/backup/index.js";
import { BackupStore } from "../src/backup/backup-store.js";
import { Replicator } from "../src/backup/geo/replicator.js";
import { GeoService } from "../src/backup/geo/geo-service.js";
import type { BackupContext } from "../src/backup/context.js";
import type { DatabaseLike, ServerLike } from "../src/backup/index.js";

const RATE = Number(process.argv[2] ?? 1000);
const SECONDS = Number(process.argv[3] ?? 10);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tdekv-bench-lag-"));
const clock = systemClock;
const store = await openSqliteStore(path.join(dir, "tdekv.db"));
const resources = new ResourceStore(store.db, clock);
const sm = new ServiceManagedProtector(new SecretBox(randomBytes(32)));
const engine = new TdeEngine(path.join(dir, "databases"), clock);
const archiver = new Archiver({ root: path.join(dir, "archive"), engine, clock, log: silentLogger() });
engine.setHooks(archiver.hooks());
const ctx: BackupContext = {
  arm: { store: resources } as unknown as ArmServices,
  db: store.db,
  engine,
  archiver,
  store: new BackupStore(store.db),
  sql: { currentProtector: async () => sm, unwrapper: () => sm, keyAccessError: () => undefined },
  clock,
  log: silentLogger(),
  stagingDir: path.join(dir, "databases", ".staging"),
};
const replicator = new Replicator(ctx);
const geo = new GeoService(ctx, replicator);

const sub = "00000000-0000-0000-0000-000000000001";
const server = async (name: string, location: string): Promise<ServerLike> => {
  const body = { id: `/subscriptions/${sub}/resourceGroups/rg/providers/Microsoft.Sql/servers/${name}`, name, location, type: "Microsoft.Sql/servers", properties: {} };
  await resources.put({ id: body.id, subscriptionId: sub, resourceGroup: "rg", typeKey: "microsoft.sql/servers", name, body });
  return body;
};
const dbBody = (srv: ServerLike): DatabaseLike => ({
  id: `${srv.id}/databases/db`,
  name: "db",
  type: "Microsoft.Sql/servers/databases",
  location: srv.location,
  properties: { status: "Online", databaseId: newGuid(), creationDate: new Date().toISOString() },
});

try {
  const p = await server("primary", "eastus");
  const s = await server("secondary", "westus");
  const primary = dbBody(p);
  await engine.create(primary.properties.databaseId, sm);
  await resources.put({ id: primary.id, subscriptionId: sub, resourceGroup: "rg", typeKey: "microsoft.sql/servers/databases", name: "db", body: primary });
  const file = primary.properties.databaseId;
  engine.query(file, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, pad BLOB)");
  const link = await geo.createSecondary(primary, s, dbBody(s), "Geo");

  const committedAt = new Map<number, number>();
  const lags: number[] = [];
  let measured = archiver.position(file)!.txid;
  replicator.lagListeners.add(() => {
    const applied = link.applied?.txid ?? 0;
    const now = performance.now();
    for (let x = measured + 1; x <= applied; x++) {
      const t = committedAt.get(x);
      if (t !== undefined) {
        lags.push(now - t);
        committedAt.delete(x);
      }
    }
    measured = Math.max(measured, applied);
  });

  const total = RATE * SECONDS;
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / RATE;
    while (performance.now() < due) await new Promise((r) => setImmediate(r));
    engine.query(file, "INSERT INTO t (v, pad) VALUES (?, randomblob(200))", [`row ${i}`]);
    committedAt.set(archiver.position(file)!.txid, performance.now());
  }
  const elapsed = (performance.now() - start) / 1000;
  while (committedAt.size) await new Promise((r) => setTimeout(r, 5));
  await replicator.exclusive(async () => {});
  const rows = engine.query(link.secondary.file, "SELECT count(*) AS n FROM t").rows[0]!.n as number;
  if (rows !== total) throw new Error(`secondary has ${rows} rows, expected ${total}`);
  lags.sort((a, b) => a - b);
  const q = (f: number) => lags[Math.min(lags.length - 1, Math.floor(f * lags.length))]!;
  console.log(`replication-lag: ${total} single-row commits at a target ${RATE}/s (achieved ${(total / elapsed).toFixed(0)}/s over ${elapsed.toFixed(1)} s); secondary caught up with ${rows} rows`);
  console.log(`lag (commit on the primary -> replayed on the secondary): p50 ${q(0.5).toFixed(2)} ms, p99 ${q(0.99).toFixed(2)} ms, max ${lags[lags.length - 1]!.toFixed(2)} ms`);
} finally {
  await replicator.stop();
  engine.closeAll();
  archiver.close();
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * bench/restore — issue 10: point-in-time restore of a 1 GB database with 10,000 commits after its last
 * snapshot, to the commit in the middle. The database is loaded through the TDE engine with the archive
 * attached, a daily snapshot is taken (the manual clock moves a day), then 10,000 single-row commits one
 * second apart; the restore copies the snapshot and replays the WAL segments up to the 5,000th commit with
 * the DEK (wal_checkpoint(TRUNCATE) per segment), then runs integrity_check.
 * Run: node --import tsx bench/restore.ts [sizeMiB=1024] [commits=10000]
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { TdeEngine, ServiceManagedProtector, connectEncrypted } from "../src/tde/index.js";
import { SecretBox, ManualClock, silentLogger } from "../src/platform/index.js";
import { Archiver, buildAt, pointAt, readGenerations } from "../src/backup/index.js";

const SIZE_MIB = Number(process.argv[2] ?? 1024);
const COMMITS = Number(process.argv[3] ?? 10_000);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tdekv-bench-restore-"));
const clock = new ManualClock(Date.UTC(2026, 5, 1));
const sm = new ServiceManagedProtector(new SecretBox(randomBytes(32)));
const engine = new TdeEngine(path.join(dir, "databases"), clock);
const archiver = new Archiver({ root: path.join(dir, "archive"), engine, clock, log: silentLogger() });
engine.setHooks(archiver.hooks());
const mib = (n: number) => (n / 1048576).toFixed(0);
const du = (p: string) => (fs.readdirSync(p, { recursive: true }) as string[]).reduce((a, f) => a + (fs.statSync(path.join(p, f)).isFile() ? fs.statSync(path.join(p, f)).size : 0), 0);

try {
  await engine.create("big", sm);
  engine.query("big", "CREATE TABLE blobs (id INTEGER PRIMARY KEY, v BLOB)");
  engine.query("big", "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER, note TEXT)");
  let t = performance.now();
  const rowsPerTxn = 1000;
  const txns = Math.ceil((SIZE_MIB * 1048576) / (4000 * rowsPerTxn));
  for (let i = 0; i < txns; i++) engine.query("big", `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < ${rowsPerTxn}) INSERT INTO blobs (v) SELECT randomblob(4000) FROM n`);
  const loadMs = performance.now() - t;
  // A day later the daily snapshot is due: the next commit triggers the owned checkpoint and the byte copy.
  clock.advance(25 * 3_600_000);
  t = performance.now();
  engine.query("big", "INSERT INTO t (n, note) VALUES (0, 'snapshot')");
  const snapshotMs = performance.now() - t;
  const ins = "INSERT INTO t (n, note) VALUES (?, ?)";
  const stamps: number[] = [];
  for (let i = 1; i <= COMMITS; i++) {
    clock.advance(1000);
    engine.query("big", ins, [i, `commit ${i}`]);
    stamps.push(clock.now());
  }
  archiver.flushAll();
  const dbBytes = fs.statSync(engine.fileOf("big")).size;
  const gens = readGenerations(archiver.root, "big");
  const g = gens[0]!;
  const middle = stamps[Math.floor(COMMITS / 2) - 1]!;
  const point = pointAt(gens, middle)!;
  const dek = await sm.unwrap(g.meta.keyEpochs[0]!.wrapped);
  const runs: number[] = [];
  let restoredBytes = 0;
  for (let r = 0; r < 3; r++) {
    t = performance.now();
    const file = buildAt(g, point, dek, path.join(dir, "staging"));
    runs.push(performance.now() - t);
    const db = connectEncrypted(file, dek);
    const row = db.prepare("SELECT count(*) AS n, max(n) AS m FROM t").get() as { n: number; m: number };
    db.close();
    if (row.m !== Math.floor(COMMITS / 2)) throw new Error(`restored to commit ${row.m}, expected ${Math.floor(COMMITS / 2)}`);
    restoredBytes = fs.statSync(file).size;
    fs.rmSync(file);
  }
  const base = g.meta.snapshots.filter((s) => s.index <= point.walIndex).pop()!;
  const segments = point.walIndex - base.index + 1;
  runs.sort((a, b) => a - b);
  console.log(`restore: ${mib(dbBytes)} MiB database (load ${(loadMs / 1000).toFixed(1)} s; daily snapshot ${snapshotMs.toFixed(0)} ms), ${COMMITS} commits after the snapshot, archive ${mib(du(archiver.root))} MiB`);
  console.log(`restore to commit ${Math.floor(COMMITS / 2)} of ${COMMITS}: snapshot ${base.index} + ${segments} WAL segment(s), ${mib(restoredBytes)} MiB result, integrity_check ok`);
  console.log(`restore time: median ${(runs[1]! / 1000).toFixed(2)} s (runs ${runs.map((x) => (x / 1000).toFixed(2)).join(", ")} s)`);
} finally {
  engine.closeAll();
  archiver.close();
  fs.rmSync(dir, { recursive: true, force: true });
}

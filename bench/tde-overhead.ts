/**
 * bench/tde-overhead — issue 4's speed target: the same workload on a plain SQLite file and on a tdekv
 * database (AEGIS-256 page encryption under a raw DEK, opened through the TDE engine), side by side in one
 * run, alternating to spread machine noise. Prints each ratio and the geometric mean. Target: <= 1.05.
 * Run: node --import tsx bench/tde-overhead.ts [rows=200000] [rounds=3]
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import SQLite from "better-sqlite3-multiple-ciphers";
import { TdeEngine, ServiceManagedProtector } from "../src/tde/index.js";
import { SecretBox, systemClock } from "../src/platform/index.js";

const ROWS = Number(process.argv[2] ?? 200_000);
const ROUNDS = Number(process.argv[3] ?? 3);
/** The same page cache for both (the engine's default): 64 MiB, SQLite's answer to SQL Server's buffer pool. */
const CACHE = -65536;
const LOOKUPS = 50_000;
const UPDATES = 100_000;
const SCANS = 10;

type Exec = { run(sql: string, params?: unknown[]): void; all(sql: string, params?: unknown[]): unknown[]; prepare(sql: string): SQLite.Statement; close(): void };

function plain(file: string): Exec {
  const db = new SQLite(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.pragma("temp_store = MEMORY");
  db.pragma(`cache_size = ${CACHE}`);
  return { run: (s, p = []) => void db.prepare(s).run(...p), all: (s, p = []) => db.prepare(s).all(...p), prepare: (s) => db.prepare(s), close: () => db.close() };
}

async function encrypted(dir: string): Promise<Exec> {
  const engine = new TdeEngine(dir, systemClock);
  await engine.create("bench", new ServiceManagedProtector(new SecretBox(randomBytes(32))));
  // The engine's own connection, reached for prepared statements exactly as the plain one is.
  const db = engine.connection("bench");
  return { run: (s, p = []) => void db.prepare(s).run(...p), all: (s, p = []) => db.prepare(s).all(...p), prepare: (s) => db.prepare(s), close: () => engine.closeAll() };
}

function time(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

function workload(db: Exec, seed: number): Record<string, number> {
  let x = seed;
  const rand = () => ((x = (x * 1103515245 + 12345) & 0x7fffffff), x);
  db.run("CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT, v BLOB)");
  db.run("CREATE INDEX t_k ON t (k)");
  const ins = db.prepare("INSERT INTO t (k, v) VALUES (?, ?)");
  const payload = randomBytes(100);
  const out: Record<string, number> = {};
  out["bulk insert"] = time(() => {
    for (let i = 0; i < ROWS; i += 1000) {
      db.run("BEGIN");
      for (let j = i; j < i + 1000 && j < ROWS; j++) ins.run(`k${j}`, payload);
      db.run("COMMIT");
    }
  });
  const get = db.prepare("SELECT v FROM t WHERE k = ?");
  out["point lookups"] = time(() => {
    for (let i = 0; i < LOOKUPS; i++) get.get(`k${rand() % ROWS}`);
  });
  out["full scan"] = time(() => {
    for (let i = 0; i < SCANS; i++) db.all("SELECT count(*), sum(length(v)) FROM t");
  });
  const upd = db.prepare("UPDATE t SET v = ? WHERE id = ?");
  out["random updates"] = time(() => {
    db.run("BEGIN");
    for (let i = 0; i < UPDATES; i++) upd.run(payload, (rand() % ROWS) + 1);
    db.run("COMMIT");
    db.run("PRAGMA wal_checkpoint(TRUNCATE)");
  });
  return out;
}

const totals: Record<"plain" | "tde", Record<string, number[]>> = { plain: {}, tde: {} };
for (let round = 0; round < ROUNDS; round++) {
  for (const kind of round % 2 === 0 ? (["plain", "tde"] as const) : (["tde", "plain"] as const)) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tdekv-bench-${kind}-`));
    const db = kind === "plain" ? plain(path.join(dir, "plain.db")) : await encrypted(dir);
    const r = workload(db, 42 + round);
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
    for (const [k, v] of Object.entries(r)) (totals[kind][k] ??= []).push(v);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`tde-overhead: ${ROWS} rows of 100 B, ${LOOKUPS} lookups, ${SCANS} full scans, ${UPDATES} updates; cache_size ${CACHE}; median of ${ROUNDS} alternating rounds; synchronous=FULL, WAL, both`);
console.log("workload".padEnd(16), "plain ms".padStart(10), "tdekv ms".padStart(10), "ratio".padStart(7));
const ratios: number[] = [];
for (const k of Object.keys(totals.plain)) {
  const p = median(totals.plain[k]!);
  const e = median(totals.tde[k]!);
  ratios.push(e / p);
  console.log(k.padEnd(16), p.toFixed(1).padStart(10), e.toFixed(1).padStart(10), (e / p).toFixed(3).padStart(7));
}
const geo = Math.exp(ratios.reduce((a, r) => a + Math.log(r), 0) / ratios.length);
console.log(`geometric mean ratio: ${geo.toFixed(3)} (target <= 1.05: ${geo <= 1.05 ? "met" : "NOT met"})`);

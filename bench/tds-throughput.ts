/**
 * bench/tds-throughput — issue 8's speed target: point SELECTs by primary key through mssql 12 (tedious 19)
 * with 8 pooled connections against a real tdekv process (TLS on, certificate verified), and in the same run
 * the same queries through the TDE engine in-process (prepare + run, as the endpoint calls it). Prints
 * queries/s, p50/p99 and the ratio (TDS q/s ÷ engine q/s). Targets: ≥ 5,000 q/s on two cores, ratio ≥ 0.5.
 * Run: node --import tsx bench/tds-throughput.ts [seconds=5] [rows=10000] [validate=false] [encrypt=true|strict|false]
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import sql from "mssql";
import { Drill } from "../test/lifecycle-kit.js";
import { mssqlConfig } from "../test/tds-kit.js";
import { TdeEngine, ServiceManagedProtector } from "../src/tde/index.js";
import { SecretBox, systemClock } from "../src/platform/index.js";
import { Session } from "../src/tds/session.js";
import type { QueryTarget } from "../src/tds/targets.js";

const SECONDS = Number(process.argv[2] ?? 5);
const ROWS = Number(process.argv[3] ?? 10_000);
/** mssql validates every pooled connection with `SELECT 1;` on acquire (tds.md §0.3): one extra round trip. */
const VALIDATE = process.argv[4] === "true";
/** true (TLS inside PRELOGIN, mssql's default), strict (TDS 8.0) or false. */
const ENCRYPT: boolean | "strict" = process.argv[5] === "false" ? false : process.argv[5] === "strict" ? "strict" : true;
const CONNECTIONS = 8;
const QUERY = "SELECT id, v FROM kv WHERE id = @id";

/** A process's user + system CPU seconds, from /proc (Linux). */
function cpuOf(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.max(0, Math.ceil((p / 100) * xs.length) - 1))]!;
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
let seed = 12345;
const nextId = () => ((seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff), 1 + (seed % ROWS));

function report(name: string, count: number, ms: number, lat: number[]) {
  lat.sort((a, b) => a - b);
  const qps = (count / ms) * 1000;
  console.log(`${name.padEnd(34)} ${fmt(qps).padStart(9)} q/s   p50 ${pct(lat, 50).toFixed(3)} ms   p99 ${pct(lat, 99).toFixed(3)} ms   (${fmt(count)} queries)`);
  return qps;
}

/** sp_executesql(N'SELECT id, v FROM kv WHERE id = @id', N'@id int', @id = id), as tedious encodes it. */
function rpcPayload(id: number): Buffer {
  const nvarchar = (name: string, value: string) => {
    const n = Buffer.from(name, "ucs2");
    const v = Buffer.from(value, "ucs2");
    const head = Buffer.alloc(3 + n.length + 7);
    head[0] = name.length;
    n.copy(head, 1);
    let o = 1 + n.length;
    head[o++] = 0;
    head[o++] = 0xe7;
    head.writeUInt16LE(8000, o);
    Buffer.from([0x09, 0x04, 0xd0, 0x00, 0x34]).copy(head, o + 2);
    return Buffer.concat([head, Buffer.from([v.length & 0xff, v.length >> 8]), v]);
  };
  const head = Buffer.alloc(22);
  head.writeUInt32LE(22, 0);
  const intParam = Buffer.concat([Buffer.from([3]), Buffer.from("@id", "ucs2"), Buffer.from([0, 0x26, 4, 4]), Buffer.alloc(4)]);
  intParam.writeInt32LE(id, intParam.length - 4);
  return Buffer.concat([head, Buffer.from([0xff, 0xff, 10, 0, 0, 0]), nvarchar("@statement", QUERY), nvarchar("@params", "@id int"), intParam]);
}

async function overTds(): Promise<number> {
  const d = await Drill.start();
  try {
    const s = await d.scenario("bench");
    const config = mssqlConfig(d.inst, s.server, { database: "db", pool: { max: CONNECTIONS, min: CONNECTIONS }, encrypt: ENCRYPT });
    (config as any).validateConnection = VALIDATE;
    const pool = await new sql.ConnectionPool(config).connect();
    await pool.request().batch("CREATE TABLE kv (id INT PRIMARY KEY, v NVARCHAR(100))");
    const values = Array.from({ length: ROWS }, (_, i) => `(${i + 1}, N'value-${i + 1}-${"x".repeat(40)}')`);
    for (let i = 0; i < values.length; i += 500) await pool.request().batch(`INSERT INTO kv VALUES ${values.slice(i, i + 500).join(",")}`);
    const lat: number[] = [];
    let count = 0;
    const worker = async (until: number, record: boolean) => {
      while (performance.now() < until) {
        const t0 = performance.now();
        const r = await pool.request().input("id", sql.Int, nextId()).query(QUERY);
        if (r.recordset.length !== 1) throw new Error("point select returned no row");
        if (record) {
          lat.push(performance.now() - t0);
          count++;
        }
      }
    };
    // Warm-up, then measure with 8 concurrent callers on the 8 pooled connections.
    await Promise.all(Array.from({ length: CONNECTIONS }, () => worker(performance.now() + 1000, false)));
    const serverCpu0 = cpuOf(d.inst.child.pid!);
    const clientCpu0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(Array.from({ length: CONNECTIONS }, () => worker(t0 + SECONDS * 1000, true)));
    const qps = report(`TDS (mssql, ${CONNECTIONS} conns, encrypt ${ENCRYPT}${VALIDATE ? ", validate" : ""})`, count, performance.now() - t0, lat);
    const serverUs = ((cpuOf(d.inst.child.pid!) - serverCpu0) * 1e6) / count;
    const c = process.cpuUsage(clientCpu0);
    console.log(`  CPU per query: tdekv ${serverUs.toFixed(0)} µs, client (mssql + tedious) ${((c.user + c.system) / count).toFixed(0)} µs`);
    await pool.close();
    return qps;
  } finally {
    await d.inst.stop();
  }
}

async function inProcess(): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tdekv-bench-tds-"));
  const engine = new TdeEngine(dir, systemClock);
  try {
    await engine.create("bench", new ServiceManagedProtector(new SecretBox(randomBytes(32))));
    engine.query("bench", "CREATE TABLE kv (id INT PRIMARY KEY, v NVARCHAR(100))");
    engine.query("bench", "BEGIN");
    for (let i = 1; i <= ROWS; i++) engine.query("bench", "INSERT INTO kv VALUES (?, ?)", [i, `value-${i}-${"x".repeat(40)}`]);
    engine.query("bench", "COMMIT");
    const lat: number[] = [];
    let count = 0;
    const run = (until: number, record: boolean) => {
      while (performance.now() < until) {
        const t0 = performance.now();
        const r = engine.query("bench", "SELECT id, v FROM kv WHERE id = @id", [{ id: nextId() }]);
        if (r.rows.length !== 1) throw new Error("point select returned no row");
        if (record) {
          lat.push(performance.now() - t0);
          count++;
        }
      }
    };
    run(performance.now() + 1000, false);
    const t0 = performance.now();
    run(t0 + SECONDS * 1000, true);
    const qps = report("engine in-process (one thread)", count, performance.now() - t0, lat);

    // The endpoint's own request path without sockets or TLS: decode the RPC tedious sends, translate,
    // run on the engine, encode COLMETADATA/ROW/DONE. What the protocol layer adds to the engine.
    const target: QueryTarget = { name: "bench", file: "bench", enter: async () => {}, hold() {}, release() {}, query: (q, p) => engine.query("bench", q, p), close() {} };
    const session = new Session(51, "bench", "admin1", target);
    const signal = new AbortController().signal;
    const path_: number[] = [];
    let n = 0;
    const pathRun = async (until: number, record: boolean) => {
      while (performance.now() < until) {
        const t = performance.now();
        await session.rpc(rpcPayload(nextId()), signal);
        if (record) {
          path_.push(performance.now() - t);
          n++;
        }
      }
    };
    if (!(await session.rpc(rpcPayload(1), signal)).includes(Buffer.from("value-1", "ucs2"))) throw new Error("the request path returned no row");
    await pathRun(performance.now() + 1000, false);
    const t1 = performance.now();
    await pathRun(t1 + SECONDS * 1000, true);
    const pathQps = report("TDS request path in-process", n, performance.now() - t1, path_);
    console.log(`  request path q/s ÷ engine q/s = ${(pathQps / qps).toFixed(2)} (the protocol layer's own cost, no sockets)`);
    return qps;
  } finally {
    engine.closeAll();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`tds-throughput: point SELECT by primary key, ${fmt(ROWS)} rows, ${SECONDS} s per side, ${os.cpus().length} CPUs, Node ${process.version}`);
const tds = await overTds();
const engine = await inProcess();
console.log(`ratio (TDS q/s ÷ engine q/s): ${(tds / engine).toFixed(3)}   targets: TDS ≥ 5,000 q/s, ratio ≥ 0.5`);

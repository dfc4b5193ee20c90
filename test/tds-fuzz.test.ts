import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { randomBytes } from "node:crypto";
import sql from "mssql";
import { Drill, MARKER } from "./lifecycle-kit.js";
import { mssqlConfig, tdsPort } from "./tds-kit.js";

/**
 * Robustness (issue 8 §5): random bytes, mutated real packets, truncated and oversized messages are thrown
 * at the listener. Each may close its own connection; the process and the other connections stay up.
 * A seeded generator keeps a failure reproducible.
 */
let d: Drill;
let server: string;

before(async () => {
  d = await Drill.start();
  server = (await d.scenario("fuzz")).server;
});
after(async () => {
  await d.inst.stop();
});

let seed = 0x2f6b_1d3a;
function rand(n: number): number {
  seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
  return seed % n;
}

function packet(type: number, payload: Buffer, status = 0x01): Buffer {
  const h = Buffer.alloc(8);
  h[0] = type;
  h[1] = status;
  h.writeUInt16BE(payload.length + 8, 2);
  h[6] = 1;
  return Buffer.concat([h, payload]);
}

/** A well-formed PRELOGIN (encryption NOT_SUP) and LOGIN7 for admin1@server, the raw material to mutate. */
function prelogin(): Buffer {
  const body = Buffer.from([0x00, 0x00, 0x0b, 0x00, 0x06, 0x01, 0x00, 0x11, 0x00, 0x01, 0xff, 0x13, 0x02, 0x00, 0x02, 0x00, 0x00, 0x02]);
  return packet(0x12, body);
}

function login7(): Buffer {
  const strings = ["host", `admin1@${server}`, "", "fuzz", "127.0.0.1", "", "fuzzlib", "", "db"];
  const fixed = Buffer.alloc(94);
  let offset = 94;
  const parts: Buffer[] = [];
  const slots = [36, 40, 44, 48, 52, 56, 60, 64, 68];
  strings.forEach((s, i) => {
    const data = Buffer.from(s, "ucs2");
    fixed.writeUInt16LE(offset, slots[i]!);
    fixed.writeUInt16LE(s.length, slots[i]! + 2);
    parts.push(data);
    offset += data.length;
  });
  const payload = Buffer.concat([fixed, ...parts]);
  payload.writeUInt32LE(payload.length, 0);
  payload.writeUInt32LE(0x74000004, 4);
  payload.writeUInt32LE(4096, 8);
  return packet(0x10, payload);
}

function mutate(b: Buffer): Buffer {
  const out = Buffer.from(b);
  const flips = 1 + rand(6);
  for (let i = 0; i < flips; i++) out[rand(out.length)] = rand(256);
  if (rand(4) === 0) return out.subarray(0, rand(out.length));
  return out;
}

/** Sends bytes, then waits until the server closes or goes quiet after answering. */
function throwAt(bytes: Buffer[]): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect(tdsPort(d.inst), "127.0.0.1");
    let timer: NodeJS.Timeout | undefined;
    const done = () => {
      clearTimeout(timer);
      s.destroy();
      resolve();
    };
    s.on("error", done);
    s.on("close", done);
    s.on("connect", () => {
      for (const b of bytes) s.write(b);
      // No timing assertion: this only bounds how long an idle fuzz connection is kept.
      timer = setTimeout(done, 50);
    });
    s.on("data", () => {
      clearTimeout(timer);
      timer = setTimeout(done, 20);
    });
  });
}

test("random and mutated packets never take the listener down", async () => {
  const p = await new sql.ConnectionPool(mssqlConfig(d.inst, server, { database: "db", pool: { max: 1 } })).connect();
  const cases: Buffer[][] = [
    [Buffer.alloc(0)],
    [Buffer.from([0x12, 0x01, 0x00, 0x03])], // length below the header size
    [packet(0x12, Buffer.alloc(0))], // empty PRELOGIN
    [packet(0x10, Buffer.alloc(20))], // LOGIN7 shorter than its fixed part
    [packet(0x12, Buffer.alloc(4000, 0x41), 0x00), packet(0x12, Buffer.alloc(4000, 0x41), 0x00)], // never ends
    [prelogin(), packet(0x01, Buffer.from("SELECT 1", "ucs2"))], // a batch before login
    [Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00])], // a broken TLS ClientHello (TDS 8)
    [prelogin(), packet(0x12, randomBytes(300))], // garbage where PRELOGIN answers belong
  ];
  // Oversized: a LOGIN7 message larger than 128 KiB, in many packets.
  cases.push([prelogin(), ...Array.from({ length: 40 }, () => packet(0x10, Buffer.alloc(4000), 0x00))]);
  for (let i = 0; i < 150; i++) {
    const kind = rand(3);
    if (kind === 0) cases.push([randomBytes(1 + rand(600))]);
    else if (kind === 1) cases.push([mutate(prelogin())]);
    else cases.push([prelogin(), mutate(login7())]);
  }
  for (const c of cases) await throwAt(c);

  // The untouched login still works after all of that, and the pooled session survived it.
  assert.deepEqual((await p.request().query("SELECT v FROM t")).recordset, [{ v: MARKER }]);
  const fresh = await new sql.ConnectionPool(mssqlConfig(d.inst, server, { database: "db" })).connect();
  assert.deepEqual((await fresh.request().query("SELECT 1 AS one")).recordset, [{ one: 1 }]);
  await fresh.close();
  await p.close();
  assert.equal(d.inst.child.exitCode, null, "the tdekv process is still running");
  const log = await readLog();
  assert.match(log, /malformed input/, "bad input is logged with a reason");
  assert.doesNotMatch(log, /TDS connection failed/, "every bad input is a protocol error, not an internal failure");
});

async function readLog(): Promise<string> {
  const fs = await import("node:fs");
  try {
    return fs.readFileSync(`${d.inst.dataDir}/tdekv.log`, "utf8");
  } catch {
    return "";
  }
}

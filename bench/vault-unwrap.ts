/**
 * unwrapKey throughput of tdekv's Key Vault (issue 3 "Speed"): a real tdekv process, HTTPS with keep-alive
 * and 16 concurrent clients against RSA-2048 and RSA-3072 keys, next to Node's raw `crypto.privateDecrypt`
 * (OAEP) on the very same keys (imported into the vault), measured in the same run. Then the resident
 * memory of the tdekv process with 10,000 keys stored.
 *
 * Run: node --import tsx bench/vault-unwrap.ts [seconds-per-measurement=4] [alg=RSA-OAEP] [rounds=3]
 * Azure's budget for comparison: 4,000 RSA-2048 (1,000 RSA-3072) software-key operations per 10 s per vault.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import https from "node:https";
import os from "node:os";
import { clientToken, startInstance, type Instance } from "../test/harness.js";
import { armVault, localhostAgent } from "../test/vault-keys-kit.js";

const SECONDS = Number(process.argv[2] ?? 4);
/** Raw and HTTPS alternate this many times per key size; the machine may be shared, so we report each round and the median ratio. */
const ROUNDS = Number(process.argv[4] ?? 3);
const ALG = (process.argv[3] ?? "RSA-OAEP") as "RSA-OAEP" | "RSA-OAEP-256";
const OAEP_HASH = ALG === "RSA-OAEP" ? "sha1" : "sha256";
const CLIENTS = 16;
const VAULT = "bench-kv";
const STORED_KEYS = 10_000;

interface Http {
  agent: https.Agent;
  base: string;
  token: string;
}

function post(h: Http, path: string, body: unknown, method = "POST"): Promise<{ status: number; json: any }> {
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${h.base}${path}`,
      { method, agent: h.agent, headers: { authorization: `Bearer ${h.token}`, "content-type": "application/json", "content-length": Buffer.byteLength(data) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString();
          resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : undefined });
        });
      },
    );
    req.on("error", reject);
    req.end(data);
  });
}

const rssOf = (pid: number): number => {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
};

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** 16 clients, each with its request in flight all the time, for `seconds` after a 1 s warm-up. */
async function measureHttp(h: Http, kid: string, wrapped: string): Promise<{ opsPerSec: number; p50: number; p99: number; n: number }> {
  const path = `${new URL(kid).pathname}/unwrapkey?api-version=7.5`;
  const latencies: number[] = [];
  let measuring = false;
  let stop = false;
  const client = async () => {
    while (!stop) {
      const t0 = performance.now();
      const res = await post(h, path, { alg: ALG, value: wrapped });
      if (res.status !== 200) throw new Error(`unwrap failed: ${res.status} ${JSON.stringify(res.json)}`);
      if (measuring) latencies.push(performance.now() - t0);
    }
  };
  const running = Array.from({ length: CLIENTS }, client);
  await new Promise((r) => setTimeout(r, 1000));
  latencies.length = 0;
  measuring = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const elapsed = (performance.now() - t0) / 1000;
  const n = latencies.length;
  measuring = false;
  stop = true;
  await Promise.all(running);
  latencies.sort((a, b) => a - b);
  return { opsPerSec: n / elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99), n };
}

/** Node's raw, synchronous privateDecrypt in a tight loop on one thread. */
function measureRaw(key: crypto.KeyObject, ciphertext: Buffer): { opsPerSec: number; p50: number; p99: number } {
  const lat: number[] = [];
  const warm = performance.now();
  while (performance.now() - warm < 500) crypto.privateDecrypt({ key, oaepHash: OAEP_HASH }, ciphertext);
  const t0 = performance.now();
  while (performance.now() - t0 < SECONDS * 1000) {
    const s = performance.now();
    crypto.privateDecrypt({ key, oaepHash: OAEP_HASH }, ciphertext);
    lat.push(performance.now() - s);
  }
  const elapsed = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  return { opsPerSec: lat.length / elapsed, p50: percentile(lat, 50), p99: percentile(lat, 99) };
}

async function storeKeys(h: Http, jwk: crypto.JsonWebKey): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < STORED_KEYS) {
      const i = next++;
      const res = await post(h, `/keys/stored-${i}?api-version=7.5`, { key: jwk }, "PUT");
      if (res.status !== 200) throw new Error(`import ${i}: ${res.status} ${JSON.stringify(res.json)}`);
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  return (performance.now() - t0) / 1000;
}

async function main() {
  // BENCH_NODE_OPTIONS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the tdekv process.
  const inst: Instance = await startInstance(process.env.BENCH_NODE_OPTIONS ? { env: { NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS } } : {});
  try {
    await armVault(inst, "rg-bench", VAULT);
    const h: Http = {
      agent: localhostAgent(inst.ca),
      base: `https://${VAULT}.vault.localhost:${inst.endpoints.httpsPort}`,
      token: await clientToken(inst, "https://vault.localhost/.default"),
    };
    (h.agent as https.Agent & { maxSockets: number }).maxSockets = CLIENTS;
    const pid = inst.child.pid!;
    const rows: string[] = [];
    console.log(`tdekv vault unwrap benchmark: ${CLIENTS} HTTPS keep-alive clients, ${SECONDS} s per measurement, alg ${ALG}, ${process.versions.node} / OpenSSL ${process.versions.openssl}, ${os.availableParallelism()} CPUs`);
    for (const bits of [2048, 3072]) {
      const { privateKey } = crypto.generateKeyPairSync("rsa", { modulusLength: bits });
      const imported = await post(h, `/keys/bench-${bits}?api-version=7.5`, { key: privateKey.export({ format: "jwk" }) }, "PUT");
      if (imported.status !== 200) throw new Error(`import failed: ${JSON.stringify(imported.json)}`);
      const kid = imported.json.key.kid as string;
      const ciphertext = crypto.publicEncrypt({ key: privateKey, oaepHash: OAEP_HASH }, crypto.randomBytes(32));
      const ratios: number[] = [];
      for (let round = 1; round <= ROUNDS; round++) {
        const raw = measureRaw(privateKey, ciphertext);
        const http = await measureHttp(h, kid, ciphertext.toString("base64url"));
        ratios.push(http.opsPerSec / raw.opsPerSec);
        console.log(
          `RSA-${bits} round ${round}: raw privateDecrypt ${raw.opsPerSec.toFixed(0).padStart(5)} ops/s (p50 ${raw.p50.toFixed(2)} ms, p99 ${raw.p99.toFixed(2)} ms)` +
            ` | HTTPS unwrapKey ${http.opsPerSec.toFixed(0).padStart(5)} ops/s (p50 ${http.p50.toFixed(2)} ms, p99 ${http.p99.toFixed(2)} ms, n=${http.n})` +
            ` | ratio ${(100 * ratios[ratios.length - 1]!).toFixed(0)}% | load ${os.loadavg()[0]!.toFixed(2)}`,
        );
      }
      ratios.sort((a, b) => a - b);
      rows.push(`RSA-${bits}: median ratio ${(100 * ratios[Math.floor(ratios.length / 2)]!).toFixed(0)}% (best ${(100 * ratios[ratios.length - 1]!).toFixed(0)}%, worst ${(100 * ratios[0]!).toFixed(0)}%)`);
    }
    for (const r of rows) console.log(r);
    const rssBefore = rssOf(pid);
    const { privateKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
    const seconds = await storeKeys(h, privateKey.export({ format: "jwk" }));
    const rssStored = rssOf(pid);
    // Touch every stored key once (unwrap): fills the bounded private-key cache.
    const wrapped = crypto.publicEncrypt({ key: privateKey, oaepHash: OAEP_HASH }, crypto.randomBytes(32)).toString("base64url");
    let next = 0;
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (next < STORED_KEYS) {
          const i = next++;
          const res = await post(h, `/keys/stored-${i}//unwrapkey?api-version=7.5`, { alg: ALG, value: wrapped });
          if (res.status !== 200) throw new Error(`unwrap stored-${i}: ${res.status}`);
        }
      }),
    );
    const rssTouched = rssOf(pid);
    const dbBytes = fs.statSync(`${inst.dataDir}/tdekv.db`).size + (fs.existsSync(`${inst.dataDir}/tdekv.db-wal`) ? fs.statSync(`${inst.dataDir}/tdekv.db-wal`).size : 0);
    console.log(
      `memory: tdekv RSS ${rssBefore.toFixed(0)} MB before, ${rssStored.toFixed(0)} MB with ${STORED_KEYS} RSA-2048 keys stored (imported in ${seconds.toFixed(1)} s, ${(STORED_KEYS / seconds).toFixed(0)} keys/s), ` +
        `${rssTouched.toFixed(0)} MB after one unwrap on each (private-key cache bounded at 1024); database ${(dbBytes / 1024 / 1024).toFixed(1)} MB`,
    );
  } finally {
    await inst.stop();
  }
}


await main();

/**
 * bench/protector-rotation — issue 4: changing the TDE protector rewraps each DEK and touches no page, so its
 * time must not depend on the database's size. Builds a small and a large encrypted database (default 1 MB
 * and 1 GB), then rotates each between two RSA-3072 protectors many times, alternating, and prints the
 * median times and their ratio (target <= 1.2). Run: node --import tsx bench/protector-rotation.ts [smallMB=1] [largeMB=1024] [rotations=20]
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { generateKeyPairSync, publicEncrypt, privateDecrypt, constants, randomBytes } from "node:crypto";
import { TdeEngine, type KeyProtector, type KeyUnwrapper, type WrappedDek } from "../src/tde/index.js";
import { systemClock } from "../src/platform/index.js";

const SMALL_MB = Number(process.argv[2] ?? 1);
const LARGE_MB = Number(process.argv[3] ?? 1024);
const ROTATIONS = Number(process.argv[4] ?? 20);

/** An RSA-3072 protector with RSA-OAEP-256, the same operations Key Vault performs for a wrap and unwrap. */
function rsaProtector(name: string): KeyProtector & KeyUnwrapper {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 3072 });
  const ref = { kind: "AzureKeyVault" as const, kid: `https://bench.vault.azure.net/keys/${name}/${randomBytes(16).toString("hex")}`, thumbprint: name };
  const opts = { padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256" };
  return {
    ref,
    async wrap(dek: Buffer): Promise<WrappedDek> {
      return { alg: "RSA-OAEP-256", value: publicEncrypt({ key: publicKey, ...opts }, dek).toString("base64url"), protector: ref };
    },
    async unwrap(w: WrappedDek): Promise<Buffer> {
      return privateDecrypt({ key: privateKey, ...opts }, Buffer.from(w.value, "base64url"));
    },
  };
}

const a = rsaProtector("a");
const b = rsaProtector("b");
const both: KeyUnwrapper = { unwrap: (w) => (w.protector.kid === a.ref.kid ? a.unwrap(w) : b.unwrap(w)) };
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tdekv-bench-rot-"));
const engine = new TdeEngine(dir, systemClock);

async function build(name: string, mb: number): Promise<number> {
  await engine.create(name, a);
  engine.query(name, "CREATE TABLE t (v BLOB)");
  const rows = Math.ceil((mb * 1024 * 1024) / 1100);
  for (let i = 0; i < rows; i += 10_000) {
    engine.query(name, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < ${Math.min(10_000, rows - i)}) INSERT INTO t SELECT randomblob(1000) FROM n`);
  }
  engine.query(name, "PRAGMA wal_checkpoint(TRUNCATE)");
  engine.close(name);
  return fs.statSync(engine.fileOf(name)).size;
}

const t0 = performance.now();
const smallBytes = await build("small", SMALL_MB);
const largeBytes = await build("large", LARGE_MB);
const buildMs = performance.now() - t0;
const times: Record<string, number[]> = { small: [], large: [] };
for (let i = 0; i < ROTATIONS; i++) {
  for (const name of i % 2 === 0 ? ["small", "large"] : ["large", "small"]) {
    const target = engine.bootRecord(name).dek.protector.kid === a.ref.kid ? b : a;
    const s = performance.now();
    await engine.rewrap(name, both, target);
    times[name]!.push(performance.now() - s);
  }
}
for (const name of ["small", "large"]) {
  await engine.open(name, both);
  if (engine.query(name, "PRAGMA quick_check").rows[0]!.quick_check !== "ok") throw new Error(`${name} damaged`);
}
engine.closeAll();
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
const ms = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MB`;
console.log(`protector-rotation: RSA-3072 RSA-OAEP-256 rewrap of the DEK (closed databases: unwrap + wrap + durable boot-record swap); ${ROTATIONS} rotations each, alternating; build took ${(buildMs / 1000).toFixed(1)} s`);
console.log(`  small database ${ms(smallBytes)}: median ${median(times.small!).toFixed(2)} ms`);
console.log(`  large database ${ms(largeBytes)}: median ${median(times.large!).toFixed(2)} ms`);
const ratio = median(times.large!) / median(times.small!);
console.log(`  ratio large/small: ${ratio.toFixed(3)} (target <= 1.2: ${ratio <= 1.2 ? "met" : "NOT met"})`);
fs.rmSync(dir, { recursive: true, force: true });

import { test, describe } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { spawn } from "node:child_process";
import { randomBytes, generateKeyPairSync, privateDecrypt, publicEncrypt, constants, createHash } from "node:crypto";
import { TdeEngine, TdeError, ServiceManagedProtector, MAX_OPEN_HANDLES, type KeyProtector, type KeyUnwrapper, type WrappedDek } from "../src/tde/index.js";
import { SecretBox, ManualClock } from "../src/platform/index.js";
import { tempDir, ROOT } from "./harness.js";

/** Issue 4 §6: real page-encrypted SQLite files under a wrapped DEK. */
const MARKER = "MARKER-7f3c9e-plaintext-must-never-reach-disk";

/** An RSA protector of the test's own, standing in for Key Vault (the engine only sees the interface). */
function rsaProtector(): KeyProtector & KeyUnwrapper {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const kid = `https://test.vault.azure.net/keys/k/${randomBytes(16).toString("hex")}`;
  const ref = { kind: "AzureKeyVault" as const, kid, thumbprint: createHash("sha1").update(kid).digest("hex").toUpperCase() };
  return {
    ref,
    async wrap(dek: Buffer): Promise<WrappedDek> {
      return { alg: "RSA-OAEP-256", value: publicEncrypt({ key: publicKey, oaepHash: "sha256", padding: constants.RSA_PKCS1_OAEP_PADDING }, dek).toString("base64url"), protector: ref };
    },
    async unwrap(w: WrappedDek): Promise<Buffer> {
      if (w.protector.kid !== kid) throw new Error("unknown protector");
      return privateDecrypt({ key: privateKey, oaepHash: "sha256", padding: constants.RSA_PKCS1_OAEP_PADDING }, Buffer.from(w.value, "base64url"));
    },
  };
}

function filesContaining(dir: string, needle: string): string[] {
  const hits: string[] = [];
  for (const f of fs.readdirSync(dir, { recursive: true }) as string[]) {
    const p = path.join(dir, f);
    if (fs.statSync(p).isFile() && fs.readFileSync(p).includes(needle)) hits.push(f);
  }
  return hits;
}

describe("TdeEngine", () => {
  const master = randomBytes(32);
  const sm = new ServiceManagedProtector(new SecretBox(master));

  test("data is encrypted on disk (file, WAL, temp) and readable only through the DEK", async () => {
    const dir = tempDir("tde");
    const engine = new TdeEngine(dir, new ManualClock());
    const record = await engine.create("db1", sm);
    assert.equal(record.cipher, "aegis");
    engine.query("db1", "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    engine.query("db1", "INSERT INTO t (v) VALUES (?)", [MARKER]);
    // A sort large enough to spill would use a temp file if temp_store were not MEMORY.
    engine.query("db1", "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 5000) INSERT INTO t (v) SELECT ? || i FROM n", [MARKER]);
    assert.equal(engine.query("db1", "PRAGMA temp_store").rows[0]!.temp_store, 2);
    assert.equal(engine.query("db1", "SELECT v FROM t WHERE id = 1").rows[0]!.v, MARKER);
    assert.deepEqual(filesContaining(dir, MARKER), [], "no plaintext in any file, WAL included, while open");
    const header = fs.readFileSync(engine.fileOf("db1")).subarray(0, 16).toString("latin1");
    assert.notEqual(header, "SQLite format 3\0");
    engine.close("db1");
    assert.deepEqual(filesContaining(dir, MARKER), [], "nor after close");
    assert.throws(() => engine.query("db1", "SELECT 1"), (e: unknown) => e instanceof TdeError && e.reason === "closed");
    await engine.open("db1", sm);
    assert.equal(engine.query("db1", "SELECT count(*) AS n FROM t").rows[0]!.n, 5001);
    engine.closeAll();
  });

  test("a wrong DEK does not open the file; an unreachable protector's error surfaces as is", async () => {
    const dir = tempDir("tde");
    const engine = new TdeEngine(dir, new ManualClock());
    await engine.create("db2", sm);
    engine.close("db2");
    const other = new ServiceManagedProtector(new SecretBox(randomBytes(32)));
    await assert.rejects(engine.open("db2", other));
    const liar: KeyUnwrapper = { unwrap: async () => randomBytes(32) };
    await assert.rejects(engine.open("db2", liar), (e: unknown) => e instanceof TdeError && e.reason === "key-mismatch");
    class VaultGone extends Error {}
    await assert.rejects(engine.open("db2", { unwrap: async () => Promise.reject(new VaultGone("vault unreachable")) }), VaultGone);
    assert.equal(engine.isOpen("db2"), false);
  });

  test("a flipped ciphertext byte is detected (authenticated cipher), not silently read", async () => {
    const dir = tempDir("tde");
    const engine = new TdeEngine(dir, new ManualClock());
    await engine.create("db3", sm);
    engine.query("db3", "CREATE TABLE t (v BLOB)");
    engine.query("db3", "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 200) INSERT INTO t SELECT randomblob(500) FROM n");
    engine.query("db3", "PRAGMA wal_checkpoint(TRUNCATE)");
    engine.close("db3");
    const file = engine.fileOf("db3");
    const buf = fs.readFileSync(file);
    buf[4096 * 2 + 2500]! ^= 0x01;
    fs.writeFileSync(file, buf);
    await engine.open("db3", sm);
    assert.throws(() => engine.query("db3", "SELECT sum(length(v)) FROM t"), /malformed|SQLITE_CORRUPT|corrupt/i);
    engine.closeAll();
  });

  test("close() zeroes the DEK held in memory", async () => {
    const dir = tempDir("tde");
    const engine = new TdeEngine(dir, new ManualClock());
    await engine.create("db4", sm);
    const handle = (engine as unknown as { handles: Map<string, { dek: Buffer }> }).handles.get("db4")!;
    const dek = handle.dek;
    assert.ok(dek.some((b) => b !== 0));
    engine.close("db4");
    assert.ok(dek.every((b) => b === 0));
  });

  test("thousands of open databases: file handles are bounded, evicted handles reopen with the DEK in memory", async () => {
    const dir = tempDir("tde-many");
    const engine = new TdeEngine(dir, new ManualClock());
    const n = MAX_OPEN_HANDLES + 40;
    let unwraps = 0;
    const counting = { unwrap: async (w: WrappedDek) => (unwraps++, sm.unwrap(w)) };
    for (let i = 0; i < n; i++) {
      await engine.create(`m${i}`, sm);
      engine.query(`m${i}`, "CREATE TABLE t (v INTEGER)");
      engine.query(`m${i}`, "INSERT INTO t VALUES (?)", [i]);
    }
    const fds = () => fs.readdirSync("/proc/self/fd").length;
    const before = fds();
    for (let i = 0; i < n; i++) assert.equal(engine.query(`m${i}`, "SELECT v FROM t").rows[0]!.v, i);
    assert.ok(fds() <= before + 3, "no descriptor growth while cycling through every database");
    assert.equal(unwraps, 0, "evicted handles reopen with the in-memory DEK, without the protector");
    await engine.open("m0", counting);
    assert.equal(engine.openNames().length, n);
    engine.closeAll();
  });

  test("protector change rewraps the DEK only; ServiceManaged -> customer key -> ServiceManaged", async () => {
    const dir = tempDir("tde");
    const engine = new TdeEngine(dir, new ManualClock());
    const cmk = rsaProtector();
    await engine.create("db5", sm);
    engine.query("db5", "CREATE TABLE t (v TEXT)");
    engine.query("db5", "INSERT INTO t VALUES (?)", [MARKER]);
    const before = fs.readFileSync(engine.fileOf("db5"));
    const rewrapped = await engine.rewrap("db5", sm, cmk);
    assert.equal(rewrapped.dek.protector.kid, cmk.ref.kid);
    assert.ok(fs.readFileSync(engine.fileOf("db5")).equals(before), "no page was rewritten");
    engine.close("db5");
    await assert.rejects(engine.open("db5", sm), "the old protector no longer opens it");
    await engine.open("db5", cmk);
    assert.equal(engine.query("db5", "SELECT v FROM t").rows[0]!.v, MARKER);
    await engine.rewrap("db5", cmk, sm);
    engine.close("db5");
    await engine.open("db5", sm);
    assert.equal(engine.query("db5", "SELECT v FROM t").rows[0]!.v, MARKER);
    engine.closeAll();
  });

  test("DEK rotation re-encrypts every page under a new DEK", async () => {
    const dir = tempDir("tde");
    const engine = new TdeEngine(dir, new ManualClock());
    const first = await engine.create("db6", sm);
    engine.query("db6", "CREATE TABLE t (v TEXT)");
    engine.query("db6", "INSERT INTO t VALUES (?)", [MARKER]);
    engine.query("db6", "PRAGMA wal_checkpoint(TRUNCATE)");
    const before = fs.readFileSync(engine.fileOf("db6"));
    const steps: number[] = [];
    const rotated = await engine.rotateDek("db6", sm, sm, (p) => steps.push(p));
    assert.notEqual(rotated.dekId, first.dekId);
    assert.equal(rotated.pending, undefined);
    assert.deepEqual(steps, [10, 20, 90, 100]);
    const after = fs.readFileSync(engine.fileOf("db6"));
    assert.ok(!after.subarray(4096).equals(before.subarray(4096)), "pages were re-encrypted");
    engine.close("db6");
    await engine.open("db6", sm);
    assert.equal(engine.query("db6", "SELECT v FROM t").rows[0]!.v, MARKER);
    assert.deepEqual(filesContaining(dir, MARKER), []);
    engine.closeAll();
  });

  test("a crash at any point of a DEK rotation leaves the database openable with nothing lost", async () => {
    const dir = tempDir("tde-crash");
    const engine = new TdeEngine(dir, new ManualClock());
    await engine.create("big", sm);
    engine.query("big", "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)");
    engine.query("big", "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 40000) INSERT INTO t (v) SELECT randomblob(1000) FROM n");
    engine.close("big");
    const outcomes = new Set<string>();
    for (const delayMs of [0, 5, 20, 60, 120, 250, 5000]) {
      const child = spawn(process.execPath, ["--import", "tsx", "test/fixtures/tde-rotate-child.ts", dir, "big", master.toString("hex")], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
      const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
      let out = "";
      await new Promise<void>((resolve) => {
        child.stdout.on("data", (d: Buffer) => {
          out += d.toString();
          if (out.includes("rotating")) resolve();
        });
        void exited.then(() => resolve());
      });
      await new Promise((r) => setTimeout(r, delayMs));
      child.kill("SIGKILL");
      await exited;
      outcomes.add(out.includes("done") ? "finished" : "killed");
      await engine.open("big", sm);
      assert.equal(engine.query("big", "SELECT count(*) AS n FROM t").rows[0]!.n, 40000, `after a kill at +${delayMs} ms`);
      assert.equal(engine.query("big", "PRAGMA integrity_check").rows[0]!.integrity_check, "ok");
      assert.equal(engine.bootRecord("big").pending, undefined, "a finished rotation is settled on open");
      engine.close("big");
    }
    assert.ok(outcomes.has("killed"), "at least one run was killed mid-way");
  });
});

import { test, describe } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { TdeEngine, ServiceManagedProtector, connectEncrypted } from "../src/tde/index.js";
import { SecretBox, ManualClock, silentLogger } from "../src/platform/index.js";
import { Archiver, ArchiveDamagedError, buildAt, latestPoint, pointAt, readGenerations, type GenerationView } from "../src/backup/index.js";
import { tempDir, ROOT } from "./harness.js";

/**
 * Issue 10 T1-T3 on the engine and the archive directly (no HTTP): exact point-in-time restores between two
 * writes, across an owned checkpoint, across a snapshot and across a DEK rotation; the chain under SIGKILL,
 * a checkpoint behind tdekv's back, damaged segments; and the byte-copy snapshot guard. Real encrypted
 * files, a manual clock, no timing.
 */
const MARKER = "BACKUP-MARKER-5e2a-never-in-an-archive";
const MIN = 60_000;
const master = randomBytes(32);
const sm = new ServiceManagedProtector(new SecretBox(master));

function rig(opts: { snapshotIntervalMs?: number; snapshotSliceBytes?: number } = {}) {
  const dir = tempDir("archive");
  const clock = new ManualClock(Date.UTC(2026, 5, 1));
  const engine = new TdeEngine(path.join(dir, "databases"), clock);
  const archiver = new Archiver({ root: path.join(dir, "archive"), engine, clock, log: silentLogger(), ...opts });
  engine.setHooks(archiver.hooks());
  return { dir, clock, engine, archiver };
}

async function restoreRows(root: string, name: string, at: number, staging: string, gens = readGenerations(root, name)): Promise<unknown[] | "none"> {
  const point = pointAt(gens, at);
  if (!point) return "none";
  return restorePoint(gens, point, staging);
}

async function restorePoint(gens: GenerationView[], point: NonNullable<ReturnType<typeof pointAt>>, staging: string): Promise<unknown[]> {
  const g = gens.find((x) => x.meta.genId === point.genId)!;
  const dek = await sm.unwrap(g.meta.keyEpochs[g.meta.keyEpochs.length - 1]!.wrapped);
  const file = buildAt(g, point, dek, staging);
  const db = connectEncrypted(file, dek);
  try {
    assert.equal((db.pragma("integrity_check") as { integrity_check: string }[])[0]!.integrity_check, "ok");
    const has = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 't'").get() as { n: number };
    return has.n ? db.prepare("SELECT v FROM t ORDER BY rowid").all() : [];
  } finally {
    db.close();
    assert.deepEqual(filesContaining(path.dirname(file), MARKER), [], "no plaintext in the restored file or its WAL");
  }
}

function filesContaining(dir: string, needle: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => {
    const p = path.join(dir, f);
    return fs.statSync(p).isFile() && fs.readFileSync(p).includes(needle);
  });
}

describe("T1 exact point-in-time restore", () => {
  for (const variant of ["one segment", "across a checkpoint", "across a snapshot"] as const) {
    test(`A at t0+1 min, B at t0+3 min: restores at t0+1min-1ms, t0+1min, t0+2 min, t0+3 min (${variant})`, async () => {
      const { dir, clock, engine, archiver } = rig(variant === "across a snapshot" ? { snapshotIntervalMs: 90_000 } : {});
      await engine.create("db", sm);
      engine.query("db", "CREATE TABLE t (v TEXT)");
      const t0 = clock.now();
      clock.advance(MIN);
      engine.query("db", "INSERT INTO t VALUES (?)", [`${MARKER}-A`]);
      clock.advance(MIN);
      if (variant !== "one segment") engine.checkpoint("db");
      clock.advance(MIN);
      engine.query("db", "INSERT INTO t VALUES (?)", [`${MARKER}-B`]);
      clock.advance(MIN);
      const gens = readGenerations(archiver.root, "db");
      assert.equal(gens.length, 1);
      const g = gens[0]!;
      const ib = g.commits.find((c) => c.at === t0 + 3 * MIN)!.i;
      const ia = g.commits.find((c) => c.at === t0 + MIN)!.i;
      if (variant === "one segment") assert.equal(ib, ia);
      else assert.equal(ib, ia + 1, "A and B are in different WAL segments");
      if (variant === "across a snapshot") assert.deepEqual(g.meta.snapshots.map((s) => [s.index, s.at - t0]), [[0, 0], [1, 2 * MIN]]);
      else assert.equal(g.meta.snapshots.length, 1);
      const staging = path.join(dir, "staging");
      const A = { v: `${MARKER}-A` };
      const B = { v: `${MARKER}-B` };
      assert.deepEqual(await restoreRows(archiver.root, "db", t0 + MIN - 1, staging), []);
      assert.deepEqual(await restoreRows(archiver.root, "db", t0 + MIN, staging), [A]);
      assert.deepEqual(await restoreRows(archiver.root, "db", t0 + 2 * MIN, staging), [A]);
      assert.deepEqual(await restoreRows(archiver.root, "db", t0 + 3 * MIN - 1, staging), [A]);
      assert.deepEqual(await restoreRows(archiver.root, "db", t0 + 3 * MIN, staging), [A, B]);
      assert.deepEqual(filesContaining(dir, MARKER), [], "no plaintext anywhere: database, WAL, archive, staging");
      engine.closeAll();
      archiver.close();
    });
  }

  test("a DEK rotation starts a new generation; a restore from before it uses the old generation's wrapped DEK", async () => {
    const { dir, clock, engine, archiver } = rig();
    await engine.create("db", sm);
    engine.query("db", "CREATE TABLE t (v TEXT)");
    clock.advance(MIN);
    engine.query("db", "INSERT INTO t VALUES ('before')");
    const t1 = clock.now();
    clock.advance(MIN);
    await engine.rotateDek("db", sm, sm);
    clock.advance(MIN);
    engine.query("db", "INSERT INTO t VALUES ('after')");
    const gens = readGenerations(archiver.root, "db");
    assert.equal(gens.length, 2);
    assert.equal(gens[1]!.meta.reason, "dek-rotated");
    assert.notEqual(gens[0]!.meta.dekId, gens[1]!.meta.dekId);
    assert.notEqual(gens[0]!.meta.keyEpochs[0]!.wrapped.value, gens[1]!.meta.keyEpochs[0]!.wrapped.value);
    const staging = path.join(dir, "staging");
    assert.deepEqual(await restoreRows(archiver.root, "db", t1, staging), [{ v: "before" }]);
    assert.deepEqual(await restoreRows(archiver.root, "db", clock.now(), staging), [{ v: "before" }, { v: "after" }]);
    // The archive stores wrapped DEKs only: the raw key appears nowhere in its files.
    const dek = await sm.unwrap(gens[1]!.meta.keyEpochs[0]!.wrapped);
    for (const f of fs.readdirSync(archiver.root, { recursive: true }) as string[]) {
      const p = path.join(archiver.root, f);
      if (fs.statSync(p).isFile()) {
        const bytes = fs.readFileSync(p);
        assert.ok(!bytes.includes(dek) && !bytes.includes(Buffer.from(dek.toString("hex"))), `${f} holds no raw DEK`);
      }
    }
    engine.closeAll();
    archiver.close();
  });
});

describe("T2 chain integrity", () => {
  test("SIGKILL mid-stream: the archive on disk is a prefix of the commits; after reopening every commit restores", async () => {
    const { dir, engine, archiver } = rig();
    await engine.create("db", sm);
    engine.query("db", "CREATE TABLE t (n INTEGER PRIMARY KEY, pad BLOB)");
    engine.closeAll();
    archiver.close();
    const staging = path.join(dir, "staging");
    let kills = 0;
    for (const stopAfter of [1, 37, 400, 1500, 3000]) {
      const child = spawn(process.execPath, ["--import", "tsx", "test/fixtures/backup-writer-child.ts", dir, "db", master.toString("hex")], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
      const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
      let printed = 0;
      await new Promise<void>((resolve) => {
        let buf = "";
        child.stdout.on("data", (d: Buffer) => {
          buf += d.toString();
          const lines = buf.split("\n");
          buf = lines.pop()!;
          for (const l of lines) if (/^\d+$/.test(l)) printed = Number(l);
          if (printed >= stopAfter) resolve();
        });
        void exited.then(() => resolve());
      });
      child.kill("SIGKILL");
      await exited;
      kills++;
      // As the crash left it: the newest archived commit restores, and holds exactly rows 1..k.
      const onDisk = readGenerations(path.join(dir, "archive"), "db");
      const p = latestPoint(onDisk)!;
      const g = onDisk.find((x) => x.meta.genId === p.genId)!;
      const dek = await sm.unwrap(g.meta.keyEpochs[0]!.wrapped);
      const f = buildAt(g, p, dek, staging);
      const raw = connectEncrypted(f, dek);
      const rows = raw.prepare("SELECT n FROM t ORDER BY n").all() as { n: number }[];
      raw.close();
      // The archive is appended inside the commit, before the child prints the row: SIGKILL keeps it.
      assert.ok(rows.length >= printed, `every printed commit is archived (${rows.length} >= ${printed})`);
      rows.forEach((r, i) => assert.equal(r.n, i + 1, "the archive holds a gapless prefix"));
      // Reopened with the archive attached: the database opens, nothing committed is lost, and the archive
      // catches up from the live WAL so the latest point is every committed row.
      const e2 = new TdeEngine(path.join(dir, "databases"), { now: () => Date.now() });
      const a2 = new Archiver({ root: path.join(dir, "archive"), engine: e2, clock: { now: () => Date.now() }, log: silentLogger() });
      e2.setHooks(a2.hooks());
      await e2.open("db", sm);
      const live = e2.query("db", "SELECT count(*) AS n, max(n) AS m FROM t").rows[0] as { n: number; m: number };
      assert.ok(live.n >= printed, `every printed commit is in the database (${live.n} >= ${printed})`);
      assert.equal(live.n, live.m ?? 0);
      const after = readGenerations(path.join(dir, "archive"), "db");
      assert.deepEqual(after.map((x) => x.meta.reason), ["created"], "the chain resumed: no new generation after a crash");
      const latest = latestPoint(after)!;
      const g2 = after.find((x) => x.meta.genId === latest.genId)!;
      const dek2 = await sm.unwrap(g2.meta.keyEpochs[0]!.wrapped);
      const f2 = buildAt(g2, latest, dek2, staging);
      const raw2 = connectEncrypted(f2, dek2);
      assert.equal((raw2.prepare("SELECT count(*) AS n FROM t").get() as { n: number }).n, live.n, "the latest restore point is the last commit");
      raw2.close();
      e2.closeAll();
      a2.close();
    }
    assert.equal(kills, 5);
  });

  test("a checkpoint behind tdekv's back starts a new generation; the old one still restores", async () => {
    const { dir, clock, engine, archiver } = rig();
    await engine.create("db", sm);
    engine.query("db", "CREATE TABLE t (v TEXT)");
    clock.advance(MIN);
    engine.query("db", "INSERT INTO t VALUES ('one')");
    const t1 = clock.now();
    clock.advance(MIN);
    // Another connection (not tdekv's) writes and checkpoints the WAL away.
    const dek = await sm.unwrap(engine.bootRecord("db").dek);
    const foreign = connectEncrypted(engine.fileOf("db"), dek);
    foreign.prepare("INSERT INTO t VALUES ('foreign')").run();
    foreign.pragma("wal_checkpoint(TRUNCATE)");
    foreign.close();
    clock.advance(MIN);
    engine.query("db", "INSERT INTO t VALUES ('two')");
    const gens = readGenerations(archiver.root, "db");
    assert.equal(gens.length, 2, "a new generation");
    assert.equal(gens[1]!.meta.reason, "chain-break");
    assert.ok(gens[0]!.meta.closedAt !== undefined);
    const staging = path.join(dir, "staging");
    assert.deepEqual(await restoreRows(archiver.root, "db", t1, staging), [{ v: "one" }], "the old generation still restores");
    assert.deepEqual(await restoreRows(archiver.root, "db", clock.now(), staging), [{ v: "one" }, { v: "foreign" }, { v: "two" }]);
    engine.closeAll();
    archiver.close();
  });

  test("a truncated or damaged segment is refused with a clear error and never applied", async () => {
    const { dir, clock, engine, archiver } = rig();
    await engine.create("db", sm);
    engine.query("db", "CREATE TABLE t (v TEXT)");
    for (let i = 0; i < 5; i++) {
      clock.advance(MIN);
      engine.query("db", "INSERT INTO t VALUES (?)", [`row${i}`]);
    }
    archiver.flushAll();
    const gens = readGenerations(archiver.root, "db");
    const g = gens[0]!;
    const point = latestPoint(gens)!;
    const dek = await sm.unwrap(g.meta.keyEpochs[0]!.wrapped);
    const staging = path.join(dir, "staging");
    const seg = g.paths.wal(point.walIndex);
    const whole = fs.readFileSync(seg);
    fs.writeFileSync(seg, whole.subarray(0, whole.length - 100));
    assert.throws(() => buildAt(g, point, dek, staging), (e: unknown) => e instanceof ArchiveDamagedError && /is truncated/.test((e as Error).message));
    const flipped = Buffer.from(whole);
    flipped[flipped.length - 2000]! ^= 0x40;
    fs.writeFileSync(seg, flipped);
    assert.throws(() => buildAt(g, point, dek, staging), (e: unknown) => e instanceof ArchiveDamagedError && /checksum chain breaks/.test((e as Error).message));
    assert.deepEqual(fs.readdirSync(staging), [], "nothing half-built is left behind");
    fs.writeFileSync(seg, whole);
    assert.equal((await restorePoint(gens, point, staging)).length, 5);
    engine.closeAll();
    archiver.close();
  });
});

describe("T3 snapshot guard", () => {
  test("snapshots are byte copies; a VACUUM INTO base with the same segments is corrupt", async () => {
    const { dir, clock, engine, archiver } = rig();
    await engine.create("db", sm);
    engine.query("db", "CREATE TABLE big (v BLOB)");
    engine.query("db", "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 300) INSERT INTO big SELECT randomblob(3000) FROM n");
    engine.query("db", "CREATE TABLE t (v TEXT)");
    engine.query("db", "DROP TABLE big");
    assert.ok((engine.query("db", "PRAGMA freelist_count").rows[0]!.freelist_count as number) > 100, "free pages");
    // A generation starting now (a DEK rotation) has this file, free pages and all, as its snapshot.
    await engine.rotateDek("db", sm, sm);
    const fileAtSnapshot = fs.readFileSync(engine.fileOf("db"));
    for (let i = 0; i < 20; i++) {
      clock.advance(MIN);
      engine.query("db", "INSERT INTO t VALUES (?)", [`v${i}`]);
    }
    const gens = readGenerations(archiver.root, "db");
    const g = gens[gens.length - 1]!;
    assert.ok(fs.readFileSync(g.paths.snapshot(0)).equals(fileAtSnapshot), "the snapshot is a byte copy of the file");
    const point = latestPoint(gens)!;
    const dek = await sm.unwrap(g.meta.keyEpochs[0]!.wrapped);
    const staging = path.join(dir, "staging");
    assert.equal((await restorePoint(gens, point, staging)).length, 20, "the byte-copy base restores");
    // The same segments over a VACUUM INTO copy of the same state: a different page layout.
    const vac = path.join(dir, "vacuumed.db");
    const src = connectEncrypted(g.paths.snapshot(0), dek);
    src.prepare(`VACUUM INTO '${vac}'`).run();
    src.close();
    assert.ok(fs.statSync(vac).size < fileAtSnapshot.length, "the vacuumed copy dropped the free pages");
    fs.copyFileSync(vac, g.paths.snapshot(0));
    assert.throws(
      () => {
        const f = buildAt(g, point, dek, staging);
        const db = connectEncrypted(f, dek);
        try {
          db.prepare("SELECT count(*) FROM t").get();
        } finally {
          db.close();
        }
      },
      (e: unknown) => e instanceof ArchiveDamagedError || /SQLITE_CORRUPT|malformed|not a database|NOTADB/i.test(`${(e as { code?: string }).code} ${(e as Error).message}`),
    );
    engine.closeAll();
    archiver.close();
  });
});

describe("T10 the periodic snapshot does not stall writes", () => {
  test("a commit during a snapshot returns while the copy is unfinished; the copy plus redo restores exactly", async () => {
    // One 4 KiB slice per turn of the event loop: the ~1 MB file takes hundreds of turns, and the test runs
    // no turn between its writes, so every write below happens while the copy is unfinished.
    const { dir, clock, engine, archiver } = rig({ snapshotIntervalMs: 90_000, snapshotSliceBytes: 4096 });
    await engine.create("db", sm);
    engine.query("db", "CREATE TABLE big (v BLOB)");
    engine.query("db", "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 300) INSERT INTO big SELECT randomblob(3000) FROM n");
    engine.query("db", "CREATE TABLE t (v TEXT)");
    const state = (): string => JSON.stringify([engine.query("db", "SELECT v FROM t ORDER BY rowid").rows, engine.query("db", "SELECT hex(v) AS h FROM big ORDER BY rowid").rows]);
    const t0 = clock.now();
    const expected: [number, string][] = [];
    clock.advance(MIN);
    engine.query("db", "INSERT INTO t VALUES (?)", [`${MARKER}-A`]);
    expected.push([clock.now(), state()]);
    assert.equal(archiver.snapshotInProgress("db"), false);
    clock.advance(MIN);
    // The snapshot is due: this commit starts it and returns with the copy unfinished.
    engine.query("db", "INSERT INTO t VALUES (?)", [`${MARKER}-B`]);
    assert.equal(archiver.snapshotInProgress("db"), true, "the commit that started the snapshot returned before the copy finished");
    expected.push([clock.now(), state()]);
    const from = readGenerations(archiver.root, "db")[0]!.meta.snapshots.length;
    assert.equal(from, 1, "no snapshot is recorded while it is being copied");
    clock.advance(MIN);
    // Writes during the copy complete, including ones rewriting pages the copy has not reached or has passed,
    // and an owned checkpoint writes them back into the file being copied.
    engine.query("db", "INSERT INTO t VALUES (?)", [`${MARKER}-C`]);
    engine.query("db", "UPDATE big SET v = randomblob(3000) WHERE rowid % 3 = 0");
    engine.query("db", "DELETE FROM big WHERE rowid > 250");
    expected.push([clock.now(), state()]);
    engine.checkpoint("db");
    assert.equal(archiver.snapshotInProgress("db"), true, "still copying after the checkpoint");
    clock.advance(MIN);
    engine.query("db", "INSERT INTO t VALUES (?)", [`${MARKER}-D`]);
    engine.query("db", "UPDATE big SET v = randomblob(3000) WHERE rowid % 5 = 0");
    expected.push([clock.now(), state()]);
    assert.equal(archiver.snapshotInProgress("db"), true);
    await archiver.snapshotSettled("db");
    assert.equal(archiver.snapshotInProgress("db"), false);
    const gens = readGenerations(archiver.root, "db");
    assert.equal(gens.length, 1);
    const g = gens[0]!;
    assert.equal(g.meta.snapshots.length, 2, "the incremental snapshot was recorded");
    const snap = g.meta.snapshots[1]!;
    const last = latestPoint(gens)!;
    assert.equal(snap.index, last.walIndex, "the snapshot names the start of the live segment (copy plus redo of the segments sealed meanwhile)");
    assert.ok(snap.index >= 2);
    const dek = await sm.unwrap(g.meta.keyEpochs[0]!.wrapped);
    const staging = path.join(dir, "staging");
    const restored = (at: number): string => {
      const point = pointAt(gens, at)!;
      const file = buildAt(g, point, dek, staging);
      const db = connectEncrypted(file, dek);
      try {
        assert.equal((db.pragma("integrity_check") as { integrity_check: string }[])[0]!.integrity_check, "ok");
        return JSON.stringify([db.prepare("SELECT v FROM t ORDER BY rowid").all(), db.prepare("SELECT hex(v) AS h FROM big ORDER BY rowid").all()]);
      } finally {
        db.close();
      }
    };
    for (const [at, want] of expected) assert.equal(restored(at), want, `restore at t0+${(at - t0) / MIN} min`);
    // The latest point is built from the new snapshot alone plus its own segment: the snapshot itself is exact.
    assert.equal(pointAt(gens, expected[3]![0])!.walIndex, snap.index);
    assert.deepEqual(filesContaining(dir, MARKER), [], "no plaintext anywhere");
    engine.closeAll();
    archiver.close();
  });

  test("a copy under way is dropped, never recorded, when a new generation starts", async () => {
    const { clock, engine, archiver } = rig({ snapshotIntervalMs: 90_000, snapshotSliceBytes: 4096 });
    await engine.create("db", sm);
    engine.query("db", "CREATE TABLE big (v BLOB)");
    engine.query("db", "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 100) INSERT INTO big SELECT randomblob(3000) FROM n");
    clock.advance(2 * MIN);
    engine.query("db", "INSERT INTO big VALUES (x'00')");
    assert.equal(archiver.snapshotInProgress("db"), true);
    const genBefore = readGenerations(archiver.root, "db")[0]!;
    archiver.restart("db", "opened");
    assert.equal(archiver.snapshotInProgress("db"), false);
    await archiver.snapshotSettled("db");
    await new Promise((r) => setImmediate(r));
    const old = readGenerations(archiver.root, "db").find((g) => g.meta.genId === genBefore.meta.genId)!;
    assert.equal(old.meta.snapshots.length, 1, "the abandoned copy is not recorded");
    assert.deepEqual(fs.readdirSync(path.dirname(old.paths.snapshot(0))).filter((f) => f.endsWith(".tmp")), [], "its temp file is gone");
    engine.closeAll();
    archiver.close();
  });
});

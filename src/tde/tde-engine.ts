import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import SQLite from "better-sqlite3-multiple-ciphers";
import { type Clock, DomainError, newGuid } from "../platform/index.js";
import { type BootRecord, bootPath, readBootRecord, writeBootRecord } from "./boot-record.js";
import type { KeyProtector, KeyUnwrapper } from "./protector.js";

export type TdeErrorKind = "not-found" | "closed" | "key-mismatch" | "bad-name" | "sql";

export class TdeError extends DomainError {
  readonly kind = "tde";
  constructor(
    readonly reason: TdeErrorKind,
    message: string,
  ) {
    super(message);
  }
}

export interface QueryResult {
  columns: string[];
  rows: Record<string, unknown>[];
  changes: number;
}

interface OpenDatabase {
  /** The file handle, when it is in the handle cache (it may be evicted and reopened with the same DEK). */
  db: SQLite.Database | undefined;
  /** The unwrapped DEK, held only while the database is open and zeroed on close. */
  dek: Buffer;
}

/**
 * What the continuous archive (src/backup) hears from the engine. With hooks installed tdekv owns every
 * checkpoint (architecture.md "Later issues"): auto-checkpoint is off on every connection, and every event
 * that resets the WAL (an own checkpoint, closing a handle, which checkpoints on the last close, a caller's
 * PRAGMA wal_checkpoint, a DEK rotation) is announced before and after, so committed frames are copied out
 * before SQLite can overwrite them. Hooks run synchronously on the writer's path and must not throw.
 */
export interface EngineHooks {
  /** A new database was created (and is open). */
  created?(name: string): void;
  /** A database was opened with its DEK (at start, after a heal, after install). */
  opened?(name: string): void;
  /**
   * A statement ran outside any transaction after a write: the WAL ends at a commit. Returns the WAL's size
   * when it looked (it saves the engine a stat per commit).
   */
  committed?(name: string): number | void;
  /** The WAL is about to be checkpointed and reset (an own checkpoint, or a handle being closed). */
  beforeCheckpoint?(name: string): void;
  /** The checkpoint ran; `reset` is false when SQLite could not reset the WAL (it then still holds frames). */
  afterCheckpoint?(name: string, reset: boolean): void;
  /** The DEK was rewrapped under another protector (a new key epoch, same DEK). */
  rewrapped?(name: string, record: BootRecord): void;
  /** The DEK was regenerated: every page was re-encrypted, so the WAL chain starts over. */
  dekRotated?(name: string, record: BootRecord): void;
  /** The database is about to be deleted (its files go next). */
  dropping?(name: string): void;
}

/**
 * Owned checkpoints: once a WAL passes this size the engine checkpoints it when the event loop is next idle,
 * off the committing caller's path. SQLite's own default is 1,000 pages (about 4 MiB); an owned checkpoint
 * also pays the archive's fsyncs before it (segment and index) and a "k" line, so it runs half as often:
 * bench/archive-overhead's bulk insert measured 2-4% faster at 8 MiB than at 4 MiB (crash recovery replays
 * at most 8 MiB more log, which is nothing).
 */
export const DEFAULT_CHECKPOINT_BYTES = 8 * 1024 * 1024;
/** Past this size a commit checkpoints at once (a long synchronous write burst never grows the WAL unbounded). */
export const MAX_WAL_BYTES = 64 * 1024 * 1024;
const SQLITE_AUTOCHECKPOINT_PAGES = 1000;

const CHECKPOINT_SQL = /^\s*PRAGMA\s+(?:["`\[]?\w+["`\]]?\s*\.\s*)?wal_checkpoint\b/i;
const TXN_END_SQL = /^\s*(?:COMMIT|END|RELEASE|ROLLBACK)\b/i;
/** Settings a caller may not change through query(): they would take the WAL, or the read-only role, away from tdekv. */
const GUARDED_PRAGMA = /^\s*PRAGMA\s+(?:["`\[]?\w+["`\]]?\s*\.\s*)?(?:journal_mode|wal_autocheckpoint|query_only|locking_mode)\s*=/i;

/**
 * Open file handles are bounded (each WAL database holds three descriptors): beyond this many, the least
 * recently used handle is closed and reopened on demand with the DEK still in memory, so a fleet of
 * thousands of databases neither runs out of descriptors nor calls the vault again (bench/monitor-scale).
 */
export const MAX_OPEN_HANDLES = 256;

const NAME = /^[A-Za-z0-9_-]{1,128}$/;
/** Negative: KiB, SQLite's convention. */
export const PAGE_CACHE_KIB = -65536;
const SIDE_FILES = ["-wal", "-shm", "-journal"];

/**
 * The encryption engine: each database is a SQLite file encrypted page by page with AEGIS-256 under a
 * random raw 256-bit DEK (peers-perf.md §0.2: authenticated, ~5% overhead). No HTTP here; sql/ drives it.
 * The DEK exists in memory only while the database is open: close() zeroes it, so after a key loss the
 * protector is really needed again (architecture.md "Nothing here is a mock").
 */
export class TdeEngine {
  private readonly handles = new Map<string, OpenDatabase>();
  /** Names whose file handle is open, least recently used first. */
  private readonly lru = new Set<string>();
  private hooks: EngineHooks = {};
  /** Geo-secondaries: readable, every write refused with SQLITE_READONLY's text. */
  private readonly readOnly = new Set<string>();
  /** WAL size past which the engine checkpoints when idle. */
  checkpointBytes = DEFAULT_CHECKPOINT_BYTES;
  /** WAL size past which a commit checkpoints at once. */
  maxWalBytes = MAX_WAL_BYTES;
  private readonly deferred = new Set<string>();
  /** The committed log size the hooks last reported (the WAL file may be larger: RESTART keeps it). */
  private readonly walBytes = new Map<string, number>();
  /**
   * With hooks installed (the archive) tdekv owns every checkpoint: SQLite's automatic one is off. An engine
   * without them (tools, benchmarks of TDE alone) leaves SQLite its own, which loses nothing there.
   */
  private ownCheckpoints = false;

  constructor(
    private readonly dir: string,
    private readonly clock: Clock,
  ) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  /** Installs the archive's hooks (one set; a later call replaces it). */
  setHooks(hooks: EngineHooks): void {
    this.hooks = hooks;
    // Owning checkpoints needs a hook that reports the committed log's size (RESTART keeps the file large).
    this.ownCheckpoints = hooks.committed !== undefined;
  }

  /** Marks a database read-only (a geo-secondary) or writable again (after a failover made it primary). */
  setReadOnly(name: string, readOnly: boolean): void {
    if (readOnly) this.readOnly.add(name);
    else this.readOnly.delete(name);
    const db = this.handles.get(name)?.db;
    if (db) db.pragma(`query_only = ${readOnly ? 1 : 0}`);
  }

  isReadOnly(name: string): boolean {
    return this.readOnly.has(name);
  }

  fileOf(name: string): string {
    if (!NAME.test(name)) throw new TdeError("bad-name", `invalid database file name '${name}'`);
    return path.join(this.dir, `${name}.db`);
  }

  exists(name: string): boolean {
    return fs.existsSync(bootPath(this.fileOf(name)));
  }

  isOpen(name: string): boolean {
    return this.handles.has(name);
  }

  openNames(): string[] {
    return [...this.handles.keys()];
  }

  /** Every database that has a boot record, open or not (what a restart must reopen). */
  listDatabases(): string[] {
    return fs
      .readdirSync(this.dir)
      .filter((f) => f.endsWith(".db.boot.json"))
      .map((f) => f.slice(0, -".db.boot.json".length));
  }

  bootRecord(name: string): BootRecord {
    const file = this.fileOf(name);
    if (!fs.existsSync(bootPath(file))) throw new TdeError("not-found", `database file '${name}' does not exist`);
    return readBootRecord(file);
  }

  /** Makes a new encrypted database under a fresh DEK wrapped by `protector`, and leaves it open. */
  async create(name: string, protector: KeyProtector): Promise<BootRecord> {
    const file = this.fileOf(name);
    const dek = randomBytes(32);
    const now = this.clock.now();
    const record: BootRecord = { format: 1, cipher: "aegis", algorithm: "aegis-256", dekId: newGuid(), dek: await protector.wrap(dek), createdAt: now, updatedAt: now };
    for (const suffix of ["", ...SIDE_FILES]) fs.rmSync(file + suffix, { force: true });
    // Boot record first: a file without one could never be opened again.
    writeBootRecord(file, record);
    const db = this.connect(file, dek);
    db.pragma("user_version = 1");
    this.handles.set(name, { db, dek });
    this.touch(name);
    this.hooks.created?.(name);
    return record;
  }

  /**
   * Installs a database file built elsewhere (a restore, a copy, a geo-secondary's seed) under `record`, and
   * leaves it closed. The file is moved in first and the boot record written last: a boot record without
   * its file could open as an empty database, a file without a boot record is never opened.
   */
  install(name: string, builtFile: string, record: BootRecord): void {
    if (this.handles.has(name)) throw new TdeError("sql", `database '${name}' is open`);
    const file = this.fileOf(name);
    for (const suffix of ["", ...SIDE_FILES, ".boot.json"]) fs.rmSync(file + suffix, { force: true });
    fs.renameSync(builtFile, file);
    syncDir(path.dirname(file));
    writeBootRecord(file, record);
  }

  /**
   * Opens a database by unwrapping its DEK. With a rotation pending, either key may be the live one: a crash
   * mid-rekey leaves a hot journal that only the old key can roll back, a crash after it leaves a file only
   * the new key opens. Trying the wrong key is harmless (measured: SQLITE_NOTADB, nothing written).
   */
  async open(name: string, unwrapper: KeyUnwrapper): Promise<void> {
    if (this.handles.has(name)) return;
    const file = this.fileOf(name);
    const record = this.bootRecord(name);
    const candidates = [{ dekId: record.dekId, dek: record.dek, pending: false }, ...(record.pending ? [{ ...record.pending, pending: true }] : [])];
    let unwrapError: unknown;
    for (const candidate of candidates) {
      let dek: Buffer;
      try {
        dek = await unwrapper.unwrap(candidate.dek);
      } catch (err) {
        unwrapError ??= err;
        continue;
      }
      let db: SQLite.Database;
      try {
        db = this.connect(file, dek);
      } catch (err) {
        dek.fill(0);
        if ((err as { code?: string }).code === "SQLITE_NOTADB") continue;
        throw err;
      }
      if (candidate.pending) {
        // The rekey had finished before the crash: make the new DEK the record's only one.
        writeBootRecord(file, { ...record, dekId: candidate.dekId, dek: candidate.dek, pending: undefined, updatedAt: this.clock.now() });
      } else if (record.pending) {
        // The old DEK still opens the file, so the rekey (atomic under its rollback journal, which this
        // open just rolled back) never committed: the rotation was abandoned and its DEK is dropped.
        writeBootRecord(file, { ...record, pending: undefined, updatedAt: this.clock.now() });
      }
      if (this.readOnly.has(name)) db.pragma("query_only = 1");
      this.handles.set(name, { db, dek });
      this.touch(name);
      this.hooks.opened?.(name);
      return;
    }
    if (unwrapError) throw unwrapError;
    throw new TdeError("key-mismatch", `the DEK in the boot record of '${name}' does not open its file`);
  }

  /** Closes the file and zeroes the DEK. */
  close(name: string): void {
    const entry = this.handles.get(name);
    if (!entry) return;
    this.handles.delete(name);
    this.lru.delete(name);
    try {
      if (entry.db) this.closeHandle(name, entry.db);
    } finally {
      entry.dek.fill(0);
    }
  }

  /**
   * Closing the last connection checkpoints the WAL and deletes it, so a close is announced as a
   * checkpoint: the archive copies what is left first.
   */
  private closeHandle(name: string, db: SQLite.Database): void {
    this.hooks.beforeCheckpoint?.(name);
    db.close();
    this.hooks.afterCheckpoint?.(name, true);
  }

  /**
   * tdekv's checkpoint (the only kind when the archive is attached: wal_autocheckpoint is 0). RESTART: every
   * frame is written back and the next write restarts the log from the start with new salts, so each
   * archived segment is self-contained (pitr-fog.md §3.3). Not TRUNCATE, which pitr-fog.md suggests: on
   * this machine truncating and regrowing the WAL costs ~10 ms per 4 MiB checkpoint (bench/archive-overhead);
   * the archive reads the log's end from the wal-index header instead of the file size.
   * Returns SQLite's row {busy, log, checkpointed}.
   */
  checkpoint(name: string): { busy: number; log: number; checkpointed: number } {
    const db = this.connection(name);
    this.hooks.beforeCheckpoint?.(name);
    let row: { busy: number; log: number; checkpointed: number };
    try {
      row = (db.pragma("wal_checkpoint(RESTART)") as { busy: number; log: number; checkpointed: number }[])[0]!;
    } catch (err) {
      this.hooks.afterCheckpoint?.(name, false);
      throw err;
    }
    this.walBytes.delete(name);
    this.hooks.afterCheckpoint?.(name, row.busy === 0 && row.log === row.checkpointed && !db.inTransaction);
    return row;
  }

  /** The size of a database's live WAL in bytes (0 when there is none). */
  walSize(name: string): number {
    try {
      return fs.statSync(`${this.fileOf(name)}-wal`).size;
    } catch {
      return 0;
    }
  }

  /**
   * Applies a WAL built elsewhere (frames shipped from a geo-primary, still ciphertext) to an open database:
   * the handle is closed, the WAL written beside the file, and a reopen with the in-memory DEK replays it and
   * checkpoints it into the file. The same ciphertext pages land at their page numbers; nothing is decrypted
   * outside SQLite (pitr-fog.md §3.2, §3.4).
   */
  applyWal(name: string, wal: Buffer): void {
    const entry = this.handles.get(name);
    if (!entry) throw new TdeError("closed", `database '${name}' is not open`);
    const file = this.fileOf(name);
    if (entry.db) {
      this.closeHandle(name, entry.db);
      entry.db = undefined;
      this.lru.delete(name);
    }
    for (const suffix of ["-wal", "-shm"]) fs.rmSync(file + suffix, { force: true });
    writeDurably(`${file}-wal`, wal);
    const db = this.connect(file, entry.dek);
    entry.db = db;
    this.touch(name);
    this.checkpoint(name);
    if (this.readOnly.has(name)) db.pragma("query_only = 1");
  }

  closeAll(): void {
    for (const name of [...this.handles.keys()]) this.close(name);
  }

  /**
   * Protector change: the DEK is rewrapped by the new protector and no page is touched, so the time does not
   * depend on the database's size (issue 4 §3). The boot record is replaced atomically.
   */
  async rewrap(name: string, unwrapper: KeyUnwrapper, protector: KeyProtector): Promise<BootRecord> {
    const record = this.bootRecord(name);
    const entry = this.handles.get(name);
    const dek = entry ? entry.dek : await unwrapper.unwrap(record.dek);
    try {
      const next: BootRecord = { ...record, dek: await protector.wrap(dek), updatedAt: this.clock.now() };
      if (record.pending) {
        const pendingDek = await unwrapper.unwrap(record.pending.dek);
        try {
          next.pending = { dekId: record.pending.dekId, dek: await protector.wrap(pendingDek) };
        } finally {
          pendingDek.fill(0);
        }
      }
      writeBootRecord(this.fileOf(name), next);
      this.hooks.rewrapped?.(name, next);
      return next;
    } finally {
      if (!entry) dek.fill(0);
    }
  }

  /**
   * DEK regeneration re-encrypts every page. SQLite3MC 2.3.5 cannot rekey in WAL mode (peers-perf.md §0.4),
   * so: record the pending DEK, checkpoint, switch to DELETE, rekey, back to WAL, then make the new DEK the
   * only one. `progress` is told each step's completed fraction.
   */
  async rotateDek(name: string, unwrapper: KeyUnwrapper, protector: KeyProtector, progress: (percent: number) => void = () => {}): Promise<BootRecord> {
    await this.open(name, unwrapper);
    const entry = this.handles.get(name)!;
    const db = this.connection(name);
    const file = this.fileOf(name);
    const record = this.bootRecord(name);
    const newDek = randomBytes(32);
    const pending = { dekId: newGuid(), dek: await protector.wrap(newDek) };
    writeBootRecord(file, { ...record, pending, updatedAt: this.clock.now() });
    progress(10);
    this.checkpoint(name);
    db.pragma("journal_mode = DELETE");
    progress(20);
    db.pragma(`rekey = "x'${newDek.toString("hex")}'"`);
    progress(90);
    db.pragma("journal_mode = WAL");
    const done: BootRecord = { ...record, dekId: pending.dekId, dek: pending.dek, pending: undefined, updatedAt: this.clock.now() };
    writeBootRecord(file, done);
    entry.dek.fill(0);
    entry.dek = newDek;
    this.hooks.dekRotated?.(name, done);
    progress(100);
    return done;
  }

  /** Runs one statement (or a script of several) against an open database. */
  query(name: string, sql: string, params: unknown[] = []): QueryResult {
    const db = this.connection(name);
    if (GUARDED_PRAGMA.test(sql)) throw new TdeError("sql", "tdekv manages the journal mode, checkpoints and read-only state of its databases");
    if (CHECKPOINT_SQL.test(sql)) {
      // Any checkpoint asked for is tdekv's own: archived first, then TRUNCATE.
      const row = this.checkpoint(name);
      return { columns: ["busy", "log", "checkpointed"], rows: [row], changes: 0 };
    }
    let wrote = false;
    try {
      let stmt: SQLite.Statement;
      try {
        stmt = db.prepare(sql);
      } catch (err) {
        if (/more than one statement/i.test((err as Error).message) && params.length === 0) {
          if (this.readOnly.has(name)) throw new TdeError("sql", "attempt to write a readonly database");
          wrote = true;
          db.exec(sql);
          return { columns: [], rows: [], changes: 0 };
        }
        throw err;
      }
      wrote = !stmt.readonly || TXN_END_SQL.test(sql);
      if (!stmt.readonly && this.readOnly.has(name)) throw new TdeError("sql", "attempt to write a readonly database");
      if (stmt.reader) {
        const rows = stmt.all(...params) as Record<string, unknown>[];
        return { columns: stmt.columns().map((c) => c.name), rows, changes: 0 };
      }
      const info = stmt.run(...params);
      return { columns: [], rows: [], changes: info.changes };
    } catch (err) {
      if (err instanceof TdeError) throw err;
      throw new TdeError("sql", (err as Error).message);
    } finally {
      if (wrote && !db.inTransaction) this.afterCommit(name, db);
    }
  }

  /**
   * After a commit: the archive copies the new frames, then the engine checkpoints once the WAL is large
   * (never inside a transaction). Call it too after writing through connection() directly.
   */
  afterCommit(name: string, db: SQLite.Database = this.connection(name)): void {
    if (!this.ownCheckpoints || db.inTransaction) return;
    const seen = this.hooks.committed?.(name);
    const size = typeof seen === "number" ? seen : this.walSize(name);
    this.walBytes.set(name, size);
    if (size > this.maxWalBytes) this.checkpoint(name);
    else if (size > this.checkpointBytes) this.checkpointWhenIdle(name);
  }

  private checkpointWhenIdle(name: string): void {
    if (this.deferred.has(name)) return;
    this.deferred.add(name);
    setImmediate(() => {
      this.deferred.delete(name);
      const entry = this.handles.get(name);
      if (!entry?.db || entry.db.inTransaction || (this.walBytes.get(name) ?? 0) <= this.checkpointBytes) return;
      try {
        this.checkpoint(name);
      } catch {
        // Busy or closing: the next commit asks again.
      }
    });
  }

  /**
   * The file handle of an open database, reopened with the in-memory DEK if it was evicted from the handle
   * cache. Throws `closed` when the database is not open (its DEK is not in memory).
   */
  connection(name: string): SQLite.Database {
    const entry = this.handles.get(name);
    if (!entry) throw new TdeError("closed", `database '${name}' is not open`);
    if (!entry.db) {
      entry.db = this.connect(this.fileOf(name), entry.dek);
      if (this.readOnly.has(name)) entry.db.pragma("query_only = 1");
    }
    this.touch(name);
    return entry.db;
  }

  private touch(name: string): void {
    this.lru.delete(name);
    this.lru.add(name);
    while (this.lru.size > MAX_OPEN_HANDLES) {
      const oldest = this.lru.values().next().value as string;
      this.lru.delete(oldest);
      const e = this.handles.get(oldest);
      if (e?.db) {
        this.closeHandle(oldest, e.db);
        e.db = undefined;
      }
    }
  }

  /** Deletes a database: closes it, zeroes its DEK and removes its files. */
  drop(name: string): void {
    this.hooks.dropping?.(name);
    this.close(name);
    this.readOnly.delete(name);
    const file = this.fileOf(name);
    for (const suffix of ["", ...SIDE_FILES, ".boot.json"]) fs.rmSync(file + suffix, { force: true });
  }

  /** Every handle is opened the same way (connectEncrypted). */
  private connect(file: string, dek: Buffer): SQLite.Database {
    const db = connectEncrypted(file, dek);
    if (!this.ownCheckpoints) db.pragma(`wal_autocheckpoint = ${SQLITE_AUTOCHECKPOINT_PAGES}`);
    return db;
  }
}

/**
 * Opens an encrypted database file with a raw DEK. Cipher first, then the raw key, then a read to verify it
 * (PRAGMA key answers "ok" even for a wrong key), then temp_store=MEMORY because SQLite3MC does not encrypt
 * temp files (peers-perf.md §2.4), WAL with synchronous=FULL, and no automatic checkpoint: tdekv owns every
 * checkpoint so WAL frames can be archived first (pitr-fog.md §3.3). Exported for the archive's restorer,
 * which replays archived WAL segments into a staged file the same way.
 */
export function connectEncrypted(file: string, dek: Buffer): SQLite.Database {
  const db = new SQLite(file);
  try {
    db.pragma("cipher = 'aegis'");
    db.pragma(`key = "x'${dek.toString("hex")}'"`);
    db.prepare("SELECT count(*) FROM sqlite_master").get();
    db.pragma("temp_store = MEMORY");
    db.pragma("journal_mode = WAL");
    db.pragma("wal_autocheckpoint = 0");
    db.pragma("synchronous = FULL");
    // A 64 MiB page cache holds decrypted pages, so hot reads pay no cipher cost (as SQL Server's buffer
    // pool does for its TDE, which is why it quotes 3-5%); cold pages and writes pay AEGIS once.
    db.pragma(`cache_size = ${PAGE_CACHE_KIB}`);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

function syncDir(dir: string): void {
  const fd = fs.openSync(dir, "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function writeDurably(file: string, data: Buffer): void {
  const fd = fs.openSync(file, "w", 0o600);
  try {
    fs.writeSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

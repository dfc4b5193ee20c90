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

  constructor(
    private readonly dir: string,
    private readonly clock: Clock,
  ) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
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
    return record;
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
      this.handles.set(name, { db, dek });
      this.touch(name);
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
      entry.db?.close();
    } finally {
      entry.dek.fill(0);
    }
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
    db.pragma("wal_checkpoint(TRUNCATE)");
    db.pragma("journal_mode = DELETE");
    progress(20);
    db.pragma(`rekey = "x'${newDek.toString("hex")}'"`);
    progress(90);
    db.pragma("journal_mode = WAL");
    const done: BootRecord = { ...record, dekId: pending.dekId, dek: pending.dek, pending: undefined, updatedAt: this.clock.now() };
    writeBootRecord(file, done);
    entry.dek.fill(0);
    entry.dek = newDek;
    progress(100);
    return done;
  }

  /** Runs one statement (or a script of several) against an open database. */
  query(name: string, sql: string, params: unknown[] = []): QueryResult {
    const db = this.connection(name);
    try {
      let stmt: SQLite.Statement;
      try {
        stmt = db.prepare(sql);
      } catch (err) {
        if (/more than one statement/i.test((err as Error).message) && params.length === 0) {
          db.exec(sql);
          return { columns: [], rows: [], changes: 0 };
        }
        throw err;
      }
      if (stmt.reader) {
        const rows = stmt.all(...params) as Record<string, unknown>[];
        return { columns: stmt.columns().map((c) => c.name), rows, changes: 0 };
      }
      const info = stmt.run(...params);
      return { columns: [], rows: [], changes: info.changes };
    } catch (err) {
      if (err instanceof TdeError) throw err;
      throw new TdeError("sql", (err as Error).message);
    }
  }

  /**
   * The file handle of an open database, reopened with the in-memory DEK if it was evicted from the handle
   * cache. Throws `closed` when the database is not open (its DEK is not in memory).
   */
  connection(name: string): SQLite.Database {
    const entry = this.handles.get(name);
    if (!entry) throw new TdeError("closed", `database '${name}' is not open`);
    if (!entry.db) entry.db = this.connect(this.fileOf(name), entry.dek);
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
        e.db.close();
        e.db = undefined;
      }
    }
  }

  /** Deletes a database: closes it, zeroes its DEK and removes its files. */
  drop(name: string): void {
    this.close(name);
    const file = this.fileOf(name);
    for (const suffix of ["", ...SIDE_FILES, ".boot.json"]) fs.rmSync(file + suffix, { force: true });
  }

  /**
   * Cipher first, then the raw key, then a read to verify it (PRAGMA key answers "ok" even for a wrong key),
   * then temp_store=MEMORY because SQLite3MC does not encrypt temp files (peers-perf.md §2.4).
   */
  private connect(file: string, dek: Buffer): SQLite.Database {
    const db = new SQLite(file);
    try {
      db.pragma("cipher = 'aegis'");
      db.pragma(`key = "x'${dek.toString("hex")}'"`);
      db.prepare("SELECT count(*) FROM sqlite_master").get();
      db.pragma("temp_store = MEMORY");
      db.pragma("journal_mode = WAL");
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
}

import fs from "node:fs";
import { type Clock, type Logger, newHexId } from "../platform/index.js";
import type { BootRecord, EngineHooks, TdeEngine } from "../tde/index.js";
import { ArchiveFd, copyFileAtomic, fsyncDir, readAt, sizeOf, writeAt } from "./archive-files.js";
import {
  type CommitLine,
  type GenerationMeta,
  type GenerationPaths,
  type GenerationReason,
  type IndexLine,
  type KeyEpoch,
  encodeLine,
  generationPaths,
  listGenerationIds,
  nextGenerationId,
  readIndex,
  readMeta,
  writeMeta,
} from "./generation.js";
import { type Checksum, type WalHeader, type WalIndexHeader, WAL_HEADER_BYTES, WalFormatError, frameBytes, frameChecksumAt, framesOf, parseWalHeader, parseWalIndexHeader, scanCommittedFrames, scanFrames } from "./wal-format.js";

/** Azure takes a full backup weekly and a differential every 12-24 h; a snapshot here is a full byte copy. */
export const DEFAULT_SNAPSHOT_INTERVAL_MS = 24 * 3_600_000;
/**
 * Archive fsyncs are grouped (pitr-fog.md §4.2): an append is written at once and made durable on the
 * thread pool, at once when a megabyte or more is pending, else within this many milliseconds. Nothing
 * committed can be lost meanwhile: the frames are still in the live WAL, which tdekv never checkpoints
 * before the archive is durable. Exactness does not depend on the fsync: it comes from the commit index.
 */
export const GROUP_COMMIT_MS = 10;
const EAGER_SYNC_BYTES = 4 * 1024 * 1024;
/**
 * A periodic snapshot is copied in slices of this many bytes, one slice per turn of the event loop: the first
 * on the commit (or checkpoint) that starts it, the rest off every commit path. A database no larger than
 * one slice is copied at once, as before.
 */
export const SNAPSHOT_SLICE_BYTES = 8 * 1024 * 1024;
/** The read buffer is reused across commits; it grows to the largest commit but is not kept beyond this. */
const MAX_SCRATCH_BYTES = 16 * 1024 * 1024;

interface Chain {
  name: string;
  paths: GenerationPaths;
  meta: GenerationMeta;
  walIndex: number;
  /** Bytes of wal/<walIndex>.wal archived and verified, ending at a commit (0: no file for this index yet). */
  offset: number;
  header: WalHeader | undefined;
  /** Cumulative checksum after `offset`. */
  checksum: Checksum;
  wal: ArchiveFd | undefined;
  commits: ArchiveFd;
  txid: number;
  lastCommitAt: number;
  /** The chain broke (frames reset behind tdekv's back): a new generation starts at the next checkpoint. */
  broken: boolean;
  /**
   * After an owned checkpoint, the finished log's salts and end: until the next write restarts the log
   * (new salts), the wal-index still describes the old one, whose frames are archived already.
   */
  prev: { salt: string; end: number } | undefined;
  snapshotWanted: boolean;
  /** A periodic snapshot being copied in slices (at most one per chain). */
  job: SnapshotJob | undefined;
}

/**
 * An incremental snapshot (a fuzzy copy plus redo, as SQL Server's backups are): the database file is copied
 * in slices while writes and owned checkpoints go on. Every slice is read synchronously between two
 * checkpoints, so each page is some whole state at or after WAL index `from`. When the copy is done at index
 * M, the archived frames of the sealed segments from..M-1 are written over it in order (raw page images: a
 * checkpoint copies them the same way) and the file cut to the last commit's size: the state at the start of
 * index M exactly, recorded as snapshot M. A checkpoint that did not reset the log (a busy reader) may have
 * written back frames of the live segment, a state no snapshot index names: the copy is then dropped and
 * retried at a later commit.
 */
interface SnapshotJob {
  from: number;
  src: number;
  tmp: string;
  out: number;
  offset: number;
  spoiled: boolean;
  done: Promise<void>;
  resolve: () => void;
}

/** Where a database's archive stands: what a geo-secondary ships from. */
export interface ArchivePosition {
  genId: string;
  walIndex: number;
  offset: number;
  txid: number;
  pageSize: number | undefined;
}

export interface ArchiverOptions {
  root: string;
  engine: TdeEngine;
  clock: Clock;
  log: Logger;
  snapshotIntervalMs?: number;
  groupCommitMs?: number;
  /** Slice size of a periodic snapshot's copy (tests make it small to see a copy span several turns). */
  snapshotSliceBytes?: number;
}

/**
 * The continuous archive: every committed transaction's WAL frames are copied, still ciphertext, into the
 * current generation with a commit line stamped by tdekv's clock, so a restore is exact to the commit. It
 * runs as the engine's hooks, on the writer's path, and never throws into it: an archive failure is logged and
 * the chain restarts as a new generation.
 */
export class Archiver {
  private readonly chains = new Map<string, Chain>();
  private readonly pending = new Map<string, GenerationReason>();
  private readonly excluded = new Set<string>();
  private readonly readers = new Map<string, number>();
  private readonly indexReaders = new Map<string, number>();
  private readonly indexBuf = Buffer.alloc(96);
  private scratch = Buffer.allocUnsafeSlow(256 * 1024);
  private readonly listeners = new Set<(name: string) => void>();
  private flushTimer: NodeJS.Timeout | undefined;
  readonly snapshotIntervalMs: number;
  private readonly groupMs: number;
  private readonly sliceBytes: number;

  constructor(private readonly o: ArchiverOptions) {
    fs.mkdirSync(o.root, { recursive: true, mode: 0o700 });
    this.snapshotIntervalMs = o.snapshotIntervalMs ?? DEFAULT_SNAPSHOT_INTERVAL_MS;
    this.groupMs = o.groupCommitMs ?? GROUP_COMMIT_MS;
    this.sliceBytes = Math.max(4096, o.snapshotSliceBytes ?? SNAPSHOT_SLICE_BYTES);
  }

  get root(): string {
    return this.o.root;
  }

  /** The engine hooks; install with engine.setHooks(archiver.hooks()). */
  hooks(): EngineHooks {
    const guard =
      <A extends unknown[]>(what: string, fn: (...a: A) => void) =>
      (...a: A) => {
        try {
          fn(...a);
        } catch (err) {
          this.o.log.error({ err: (err as Error).message, hook: what, database: a[0] }, "archive hook failed");
          const chain = this.chains.get(a[0] as string);
          if (chain) chain.broken = true;
        }
      };
    return {
      created: guard("created", (name: string) => this.request(name, "created")),
      opened: guard("opened", (name: string) => this.opened(name)),
      committed: (name: string) => {
        try {
          return this.committed(name);
        } catch (err) {
          this.o.log.error({ err: (err as Error).message, hook: "committed", database: name }, "archive hook failed");
          const chain = this.chains.get(name);
          if (chain) chain.broken = true;
          return undefined;
        }
      },
      beforeCheckpoint: guard("beforeCheckpoint", (name: string) => this.beforeCheckpoint(name)),
      afterCheckpoint: guard("afterCheckpoint", (name: string, reset: boolean) => this.afterCheckpoint(name, reset)),
      rewrapped: guard("rewrapped", (name: string, record: BootRecord) => this.rewrapped(name, record)),
      dekRotated: guard("dekRotated", (name: string) => this.request(name, "dek-rotated")),
      dropping: guard("dropping", (name: string) => this.finish(name)),
    };
  }

  /** Geo-secondaries are not archived: their history is the primary's (PITR on them is refused). */
  exclude(name: string, excluded: boolean): void {
    if (excluded) {
      this.excluded.add(name);
      const chain = this.chains.get(name);
      if (chain) this.closeChain(chain);
    } else {
      this.excluded.delete(name);
    }
  }

  isArchived(name: string): boolean {
    return !this.excluded.has(name);
  }

  /** Hears of every append (the replicator ships from here). */
  onAppend(listener: (name: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  position(name: string): ArchivePosition | undefined {
    const c = this.chains.get(name);
    if (!c) return undefined;
    return { genId: c.meta.genId, walIndex: c.walIndex, offset: c.offset, txid: c.txid, pageSize: c.header?.pageSize };
  }

  /** Starts a new generation at the next checkpoint, now if the database is open (a late revalidation, a promotion). */
  restart(name: string, reason: GenerationReason): void {
    this.request(name, reason);
  }

  /** Copies what the live WAL holds now (the engine calls this after each commit; tests may too). */
  sync(name: string): void {
    const chain = this.chains.get(name);
    if (chain && !chain.broken) this.syncChain(chain);
  }

  /** Whether a periodic snapshot of `name` is being copied now. */
  snapshotInProgress(name: string): boolean {
    return this.chains.get(name)?.job !== undefined;
  }

  /** Resolves when no periodic snapshot of `name` is being copied (finished, dropped or abandoned). */
  async snapshotSettled(name: string): Promise<void> {
    for (;;) {
      const job = this.chains.get(name)?.job;
      if (!job) return;
      await job.done;
    }
  }

  /** Makes every archived byte durable now. */
  flushAll(): void {
    for (const c of this.chains.values()) {
      c.wal?.fsyncNow();
      c.commits.fsyncNow();
    }
  }

  /**
   * Retention: drops generation `genId`'s snapshots and WAL segments below `index` (the newest snapshot at or
   * before the horizon is `index`), through the in-memory chain when it is the live generation.
   */
  pruneBelow(name: string, genId: string, index: number): void {
    const chain = this.chains.get(name);
    const paths = chain && chain.meta.genId === genId ? chain.paths : generationPaths(this.o.root, name, genId);
    const meta = chain && chain.meta.genId === genId ? chain.meta : readMeta(paths);
    const dropped = meta.snapshots.filter((s) => s.index < index);
    if (!dropped.length) return;
    meta.snapshots = meta.snapshots.filter((s) => s.index >= index);
    writeMeta(paths, meta);
    for (const s of dropped) fs.rmSync(paths.snapshot(s.index), { force: true });
    for (let i = 0; i < index; i++) fs.rmSync(paths.wal(i), { force: true });
  }

  /** Deletes whole generations (never the live one). */
  dropGenerations(name: string, genIds: string[]): void {
    const live = this.chains.get(name)?.meta.genId;
    for (const id of genIds) if (id !== live) fs.rmSync(generationPaths(this.o.root, name, id).dir, { recursive: true, force: true });
  }

  /** Deletes a database's whole archive (its server was deleted, or a dropped database's retention ran out). */
  purge(name: string): void {
    const chain = this.chains.get(name);
    if (chain) this.closeChain(chain);
    fs.rmSync(`${this.o.root}/${name}`, { recursive: true, force: true });
  }

  close(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    for (const c of [...this.chains.values()]) {
      this.abandonSnapshot(c);
      c.wal?.close();
      c.commits.close();
    }
    this.chains.clear();
    for (const name of new Set([...this.readers.keys(), ...this.indexReaders.keys()])) this.dropReader(name);
  }

  // ---- hooks ----------------------------------------------------------------------------------------

  private request(name: string, reason: GenerationReason): void {
    if (this.excluded.has(name)) return;
    this.pending.set(name, reason);
    if (this.o.engine.isOpen(name)) this.o.engine.checkpoint(name);
    else this.startFromClosedFile(name, reason);
  }

  private opened(name: string): void {
    if (this.excluded.has(name)) return;
    const chain = this.chains.get(name);
    if (chain) {
      this.syncChain(chain);
      if (chain.broken || this.pending.has(name)) this.o.engine.checkpoint(name);
      return;
    }
    const attached = this.attach(name);
    if (!attached) this.request(name, "opened");
    else if (attached.broken) this.o.engine.checkpoint(name);
    else this.syncChain(attached);
  }

  private committed(name: string): number | undefined {
    const chain = this.chains.get(name);
    if (!chain) return undefined;
    const size = chain.broken ? undefined : this.syncChain(chain);
    if (chain.broken || chain.snapshotWanted || (!chain.job && this.o.clock.now() - this.lastSnapshotAt(chain) >= this.snapshotIntervalMs)) {
      this.o.engine.checkpoint(name);
      return 0;
    }
    return size;
  }

  private beforeCheckpoint(name: string): void {
    const chain = this.chains.get(name);
    if (!chain || chain.broken) return;
    this.syncChain(chain);
    // Durable before SQLite may reset the WAL: after it the frames exist only here.
    chain.wal?.fsyncNow();
    chain.commits.fsyncNow();
  }

  private afterCheckpoint(name: string, reset: boolean): void {
    this.dropStaleReaders(name);
    if (!reset) {
      const job = this.chains.get(name)?.job;
      if (job) job.spoiled = true;
      return;
    }
    const chain = this.chains.get(name);
    if (chain && !chain.broken && chain.offset > 0) {
      // The "k" line is made durable with the next group of fsyncs, not here: the segment it closes is durable
      // already (beforeCheckpoint), and a crash before the line is on disk only makes the next open see a
      // segment without its "k": the old log, if still live, continues it; a restarted log breaks the chain and
      // a new generation starts from the file, which holds every commit. Nothing committed is lost either way.
      this.append(chain, { t: "k", i: chain.walIndex, at: this.o.clock.now() });
      this.scheduleFlush();
      chain.wal?.close();
      chain.wal = undefined;
      chain.prev = { salt: chain.header!.salt, end: chain.offset };
      chain.walIndex++;
      chain.offset = 0;
      chain.header = undefined;
    }
    const reason = chain?.broken ? "chain-break" : this.pending.get(name);
    if (reason) {
      this.pending.delete(name);
      this.startGeneration(name, reason);
      return;
    }
    if (!chain) return;
    if (chain.snapshotWanted) this.snapshot(chain);
    else if (!chain.job && this.o.clock.now() - this.lastSnapshotAt(chain) >= this.snapshotIntervalMs) this.startSnapshot(chain);
  }

  /**
   * A protector change rewraps the same DEK: the generation goes on with a new key epoch, and a snapshot is
   * taken at the boundary so a restore after it needs only the new key (a restore before it still needs the
   * old one: "old backups are not updated", pitr-fog.md §2.1).
   */
  private rewrapped(name: string, record: BootRecord): void {
    if (this.excluded.has(name)) return;
    const chain = this.chains.get(name);
    const latest = chain ? undefined : this.latestOnDisk(name);
    const paths = chain?.paths ?? latest?.paths;
    const meta = chain?.meta ?? latest?.meta;
    if (!paths || !meta || meta.closedAt !== undefined) return;
    const last = meta.keyEpochs[meta.keyEpochs.length - 1];
    if (last && last.kid === record.dek.protector.kid && last.wrapped.value === record.dek.value) return;
    meta.keyEpochs.push(epochOf(record, this.o.clock.now()));
    writeMeta(paths, meta);
    if (!chain) return;
    chain.snapshotWanted = true;
    if (this.o.engine.isOpen(name)) this.o.engine.checkpoint(name);
    else if (sizeOf(`${this.o.engine.fileOf(name)}-wal`) === 0) this.snapshot(chain);
  }

  /** A drop: the final frames are archived and the generation closed; the archive stays for a restore. */
  private finish(name: string): void {
    const chain = this.chains.get(name);
    if (!chain) return;
    if (!chain.broken) this.syncChain(chain);
    this.closeChain(chain);
  }

  // ---- chain ----------------------------------------------------------------------------------------

  private lastSnapshotAt(chain: Chain): number {
    return chain.meta.snapshots[chain.meta.snapshots.length - 1]?.at ?? chain.meta.startedAt;
  }

  private reader(name: string): number | undefined {
    let fd = this.readers.get(name);
    if (fd !== undefined) return fd;
    try {
      fd = fs.openSync(`${this.o.engine.fileOf(name)}-wal`, "r");
    } catch {
      return undefined;
    }
    this.readers.set(name, fd);
    return fd;
  }

  /**
   * The reader descriptors stay open across owned checkpoints (RESTART keeps both files): closing the `-shm`
   * one would also drop every POSIX lock SQLite holds on that file in this process (fcntl locks belong to the
   * process and go with any close), and reopening both cost two opens per checkpoint. They are dropped only
   * once SQLite has deleted the files (the last handle closed), so the next read opens the new ones.
   */
  private dropStaleReaders(name: string): void {
    for (const map of [this.readers, this.indexReaders]) {
      const fd = map.get(name);
      if (fd === undefined) continue;
      let gone = true;
      try {
        gone = fs.fstatSync(fd).nlink === 0;
      } catch {
        // unreadable: reopen
      }
      if (!gone) continue;
      map.delete(name);
      fs.closeSync(fd);
    }
  }

  private dropReader(name: string): void {
    for (const map of [this.readers, this.indexReaders]) {
      const fd = map.get(name);
      if (fd === undefined) continue;
      map.delete(name);
      fs.closeSync(fd);
    }
  }

  /** Reads into the reused buffer (valid until the next read); a large commit gets its own. */
  private read(fd: number, position: number, length: number): Buffer {
    if (length > this.scratch.length) {
      const grown = Buffer.allocUnsafeSlow(length);
      if (length <= MAX_SCRATCH_BYTES) this.scratch = grown;
      return readInto(fd, grown, position, length);
    }
    return readInto(fd, this.scratch, position, length);
  }

  /** The live log's committed end and salts, from the wal-index header (`-shm`). */
  private walIndex(name: string): WalIndexHeader | undefined {
    let fd = this.indexReaders.get(name);
    if (fd === undefined) {
      try {
        fd = fs.openSync(`${this.o.engine.fileOf(name)}-shm`, "r");
      } catch {
        return undefined;
      }
      this.indexReaders.set(name, fd);
    }
    const n = fs.readSync(fd, this.indexBuf, 0, 96, 0);
    return n === 96 ? parseWalIndexHeader(this.indexBuf) : undefined;
  }

  /**
   * Copies committed frames from the live WAL. Litestream's checks (pitr-fog.md §3.1): the header's salts
   * and the last archived frame's checksum must still be there, else the WAL was reset or overwritten
   * behind tdekv's back and the chain is broken; only frames up to the last verified commit frame are copied.
   */
  /**
   * Copies newly committed frames from the live WAL. The wal-index header says where the committed log ends
   * and which salts it has; Litestream's checks (pitr-fog.md §3.1) follow from it: the same salts and an end
   * at or past the archived one mean the same log, grown; other salts mean a restarted log, which is
   * expected only after tdekv's own checkpoint, else the chain is broken. Returns the log's committed size.
   */
  private syncChain(chain: Chain): number | undefined {
    const name = chain.name;
    const idx = this.walIndex(name);
    if (!idx) return undefined;
    const fb = frameBytes(idx.pageSize);
    const end = idx.mxFrame === 0 ? 0 : WAL_HEADER_BYTES + idx.mxFrame * fb;
    let header: WalHeader;
    let buf: Buffer;
    let headBytes: Buffer | undefined;
    let start: number;
    if (chain.offset > 0) {
      if (idx.salt !== chain.header!.salt) return this.breakChain(chain, "the WAL was reset behind tdekv's back");
      if (end < chain.offset) return this.breakChain(chain, "the WAL shrank behind tdekv's back");
      if (end === chain.offset) return end;
      header = chain.header!;
      const fd = this.reader(name);
      if (fd === undefined) return this.breakChain(chain, "the WAL vanished behind tdekv's back");
      buf = this.read(fd, chain.offset, end - chain.offset);
      start = chain.offset;
    } else {
      if (end === 0) return 0;
      if (chain.prev && idx.salt === chain.prev.salt) {
        // The log has not restarted since tdekv's checkpoint: nothing new, unless it grew on (a reader kept
        // it from restarting), which would splice two segments.
        return end > chain.prev.end ? this.breakChain(chain, "the WAL grew on past a checkpoint instead of restarting") : 0;
      }
      const fd = this.reader(name);
      if (fd === undefined) return 0;
      const bytes = this.read(fd, 0, end);
      try {
        header = parseWalHeader(bytes);
      } catch (err) {
        return this.breakChain(chain, (err as Error).message);
      }
      if (header.salt !== idx.salt) return this.breakChain(chain, "the WAL header and its index disagree");
      headBytes = bytes.subarray(0, WAL_HEADER_BYTES);
      buf = bytes.subarray(WAL_HEADER_BYTES);
      start = WAL_HEADER_BYTES;
    }
    // SQLite has just committed these frames: their stored checksums are trusted here (restores and
    // recovery verify the chain), which keeps the writer's path free of a checksum pass over every page.
    const { commits } = scanCommittedFrames(buf, start, header);
    if (!commits.length) return end;
    const last = commits[commits.length - 1]!;
    if (!chain.wal) {
      chain.header = header;
      chain.wal = ArchiveFd.open(chain.paths.wal(chain.walIndex), "w+", this.regroup);
      writeAt(chain.wal.fd, headBytes!, 0);
    }
    writeAt(chain.wal.fd, buf.subarray(0, last.end - start), start);
    chain.wal.written(last.end - start);
    if (chain.wal.dirtyBytes >= EAGER_SYNC_BYTES) chain.wal.syncSoon();
    const at = this.o.clock.now();
    let lines = "";
    for (const c of commits) {
      chain.txid++;
      lines += `{"t":"c","x":${chain.txid},"at":${at},"i":${chain.walIndex},"e":${c.end},"p":${c.pages}}\n`;
    }
    fs.writeSync(chain.commits.fd, lines);
    chain.commits.written(lines.length);
    chain.offset = last.end;
    chain.checksum = last.checksum;
    chain.lastCommitAt = at;
    chain.prev = undefined;
    this.scheduleFlush();
    for (const l of this.listeners) l(name);
    return end;
  }

  private breakChain(chain: Chain, why: string): undefined {
    if (chain.broken) return undefined;
    chain.broken = true;
    this.o.log.warn({ database: chain.name, generation: chain.meta.genId, why }, "archive chain broken: a new generation starts");
    return undefined;
  }

  private append(chain: Chain, line: IndexLine): void {
    const text = encodeLine(line);
    fs.writeSync(chain.commits.fd, text);
    chain.commits.written(text.length);
  }

  /** An fsync returned with more written meanwhile: the next one waits for the group window. */
  private readonly regroup = (): void => this.scheduleFlush();

  private scheduleFlush(): void {
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      for (const c of this.chains.values()) {
        c.wal?.syncSoon();
        c.commits.syncSoon();
      }
    }, this.groupMs);
    this.flushTimer.unref();
  }

  private closeChain(chain: Chain): void {
    this.abandonSnapshot(chain);
    chain.wal?.close();
    chain.commits.close();
    chain.meta.closedAt = this.o.clock.now();
    writeMeta(chain.paths, chain.meta);
    this.chains.delete(chain.name);
  }

  /**
   * Starts a generation from the database file as it is now. The caller guarantees the WAL is empty
   * (called right after a resetting checkpoint or with the database closed), so the byte copy is the state
   * at the start of WAL index 0.
   */
  private startGeneration(name: string, reason: GenerationReason): void {
    const old = this.chains.get(name);
    const txid = old?.txid ?? this.lastTxidOnDisk(name);
    if (old) this.closeChain(old);
    const boot = this.o.engine.bootRecord(name);
    const genId = nextGenerationId(this.o.root, name, newHexId(4));
    const paths = generationPaths(this.o.root, name, genId);
    fs.mkdirSync(`${paths.dir}/snapshots`, { recursive: true, mode: 0o700 });
    fs.mkdirSync(`${paths.dir}/wal`, { recursive: true, mode: 0o700 });
    const now = this.o.clock.now();
    copyFileAtomic(this.o.engine.fileOf(name), paths.snapshot(0));
    const meta: GenerationMeta = { format: 1, genId, databaseId: name, startedAt: now, reason, dekId: boot.dekId, keyEpochs: [epochOf(boot, now)], snapshots: [{ index: 0, at: now }] };
    writeMeta(paths, meta);
    const chain: Chain = {
      name,
      paths,
      meta,
      walIndex: 0,
      offset: 0,
      header: undefined,
      checksum: [0, 0],
      wal: undefined,
      commits: ArchiveFd.open(paths.commits, "a+", this.regroup),
      txid,
      lastCommitAt: now,
      broken: false,
      snapshotWanted: false,
      prev: undefined,
      job: undefined,
    };
    // The live log (if any) is fully written back, so it is in the snapshot: only a restarted log is new.
    const idx = this.walIndex(name);
    if (idx && idx.mxFrame > 0) chain.prev = { salt: idx.salt, end: WAL_HEADER_BYTES + idx.mxFrame * frameBytes(idx.pageSize) };
    this.chains.set(name, chain);
    for (const l of this.listeners) l(name);
  }

  private startFromClosedFile(name: string, reason: GenerationReason): void {
    if (!this.o.engine.exists(name) || sizeOf(`${this.o.engine.fileOf(name)}-wal`) > 0) return;
    this.pending.delete(name);
    this.startGeneration(name, reason);
  }

  /**
   * Starts a periodic snapshot (SnapshotJob): the first slice now, the rest one per turn of the event loop,
   * so a large file never holds a commit for the whole copy.
   */
  private startSnapshot(chain: Chain): void {
    const last = chain.meta.snapshots[chain.meta.snapshots.length - 1];
    if (last && last.index === chain.walIndex) {
      // Nothing was written since the last snapshot: it already is this state; just restamp its time.
      last.at = this.o.clock.now();
      writeMeta(chain.paths, chain.meta);
      return;
    }
    const tmp = `${chain.paths.snapshot(chain.walIndex)}.tmp`;
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    const src = fs.openSync(this.o.engine.fileOf(chain.name), "r");
    let out: number;
    try {
      out = fs.openSync(tmp, "w", 0o600);
    } catch (err) {
      fs.closeSync(src);
      throw err;
    }
    chain.job = { from: chain.walIndex, src, tmp, out, offset: 0, spoiled: false, done, resolve };
    this.snapshotSlice(chain, chain.job);
  }

  private snapshotSlice(chain: Chain, job: SnapshotJob): void {
    if (chain.job !== job) return;
    try {
      if (job.spoiled) {
        this.abandonSnapshot(chain);
        return;
      }
      const size = fs.fstatSync(job.src).size;
      if (job.offset < size) {
        const n = Math.min(this.sliceBytes, size - job.offset);
        const buf = readAt(job.src, job.offset, n, true);
        writeAt(job.out, buf, job.offset);
        job.offset += buf.length;
        if (job.offset < fs.fstatSync(job.src).size) {
          setImmediate(() => this.snapshotSlice(chain, job));
          return;
        }
      }
      this.finishSnapshot(chain, job);
    } catch (err) {
      this.o.log.error({ err: (err as Error).message, database: chain.name }, "snapshot copy failed: retried at a later commit");
      this.abandonSnapshot(chain);
    }
  }

  /** The copy is whole: redo the sealed segments since `from`, then name it snapshot `chain.walIndex`. */
  private finishSnapshot(chain: Chain, job: SnapshotJob): void {
    const index = chain.walIndex;
    let dbPages: number | undefined;
    let pageSize: number | undefined;
    for (let i = job.from; i < index; i++) {
      let bytes: Buffer;
      try {
        bytes = fs.readFileSync(chain.paths.wal(i));
      } catch {
        continue; // an index without commits has no segment
      }
      if (bytes.length <= WAL_HEADER_BYTES) continue;
      const header = parseWalHeader(bytes);
      pageSize = header.pageSize;
      for (const f of framesOf(bytes.subarray(WAL_HEADER_BYTES), header.pageSize)) {
        writeAt(job.out, f.page, (f.pgno - 1) * header.pageSize);
        if (f.commit !== 0) dbPages = f.commit;
      }
    }
    if (dbPages !== undefined && pageSize !== undefined) fs.ftruncateSync(job.out, dbPages * pageSize);
    fs.fsyncSync(job.out);
    this.endJob(chain, job);
    const dest = chain.paths.snapshot(index);
    fs.renameSync(job.tmp, dest);
    fsyncDir(`${chain.paths.dir}/snapshots`);
    chain.meta.snapshots.push({ index, at: this.o.clock.now() });
    writeMeta(chain.paths, chain.meta);
  }

  private endJob(chain: Chain, job: SnapshotJob): void {
    fs.closeSync(job.src);
    fs.closeSync(job.out);
    chain.job = undefined;
    job.resolve();
  }

  private abandonSnapshot(chain: Chain): void {
    const job = chain.job;
    if (!job) return;
    this.endJob(chain, job);
    fs.rmSync(job.tmp, { force: true });
  }

  /** A snapshot of the file as it is at the start of the current WAL index (the WAL is empty). */
  private snapshot(chain: Chain): void {
    chain.snapshotWanted = false;
    this.abandonSnapshot(chain);
    const at = this.o.clock.now();
    const last = chain.meta.snapshots[chain.meta.snapshots.length - 1];
    if (last && last.index === chain.walIndex) {
      // Nothing was written since the last snapshot: it already is this state; just restamp its time.
      last.at = at;
    } else {
      copyFileAtomic(this.o.engine.fileOf(chain.name), chain.paths.snapshot(chain.walIndex));
      chain.meta.snapshots.push({ index: chain.walIndex, at });
    }
    writeMeta(chain.paths, chain.meta);
  }

  private latestOnDisk(name: string): { paths: GenerationPaths; meta: GenerationMeta } | undefined {
    const ids = listGenerationIds(this.o.root, name);
    const id = ids[ids.length - 1];
    if (!id) return undefined;
    const paths = generationPaths(this.o.root, name, id);
    return { paths, meta: readMeta(paths) };
  }

  private lastTxidOnDisk(name: string): number {
    const ids = listGenerationIds(this.o.root, name);
    for (let i = ids.length - 1; i >= 0; i--) {
      const lines = readIndex(generationPaths(this.o.root, name, ids[i]!)).filter((l): l is CommitLine => l.t === "c");
      if (lines.length) return lines[lines.length - 1]!.x;
    }
    return 0;
  }

  /**
   * Resumes the latest generation after a restart: the last segment is verified (a torn tail after a crash is
   * cut at its last whole commit) and compared with the live WAL. Returns undefined when there is none to
   * resume, or a chain marked broken when the live WAL does not continue it.
   */
  private attach(name: string): Chain | undefined {
    const latest = this.latestOnDisk(name);
    if (!latest || latest.meta.closedAt !== undefined) return undefined;
    const { paths, meta } = latest;
    let lines = readIndex(paths);
    const commits = lines.filter((l): l is CommitLine => l.t === "c");
    const checkpointed = new Set(lines.filter((l) => l.t === "k").map((l) => l.i));
    const walFiles = fs.existsSync(`${paths.dir}/wal`)
      ? fs
          .readdirSync(`${paths.dir}/wal`)
          .filter((f) => /^[0-9a-f]{8}\.wal$/.test(f))
          .map((f) => Number.parseInt(f.slice(0, 8), 16))
      : [];
    const fileIdx = walFiles.length ? Math.max(...walFiles) : -1;
    const snapMax = Math.max(...meta.snapshots.map((s) => s.index));
    const chain: Chain = {
      name,
      paths,
      meta,
      walIndex: Math.max(snapMax, fileIdx < 0 ? 0 : checkpointed.has(fileIdx) ? fileIdx + 1 : fileIdx),
      offset: 0,
      header: undefined,
      checksum: [0, 0],
      wal: undefined,
      commits: ArchiveFd.open(paths.commits, "a+", this.regroup),
      txid: commits.length ? commits[commits.length - 1]!.x : this.lastTxidOnDisk(name),
      lastCommitAt: commits.length ? commits[commits.length - 1]!.at : meta.startedAt,
      broken: false,
      snapshotWanted: false,
      prev: undefined,
      job: undefined,
    };
    this.chains.set(name, chain);
    if (fileIdx < 0 || checkpointed.has(fileIdx) || fileIdx < chain.walIndex) {
      // The last segment was closed by an owned checkpoint: a live log with its salts is that old log.
      if (fileIdx >= 0) {
        try {
          const fd = fs.openSync(paths.wal(fileIdx), "r");
          try {
            chain.prev = { salt: parseWalHeader(readAt(fd, 0, WAL_HEADER_BYTES)).salt, end: sizeOf(paths.wal(fileIdx)) };
          } finally {
            fs.closeSync(fd);
          }
        } catch {
          // An empty or damaged closed segment: restores refuse it; the live log starts a new index anyway.
        }
      }
      return chain;
    }
    // The last segment is open: verify it and continue it from the live WAL if that still holds it.
    const file = paths.wal(fileIdx);
    const bytes = fs.readFileSync(file);
    let header: WalHeader;
    try {
      header = parseWalHeader(bytes);
    } catch (err) {
      if (!(err instanceof WalFormatError)) throw err;
      fs.truncateSync(file, 0);
      chain.broken = true;
      return chain;
    }
    const scanned = scanFrames(bytes.subarray(WAL_HEADER_BYTES), WAL_HEADER_BYTES, header, header.checksum).commits;
    const lastLine = commits.filter((c) => c.i === fileIdx).pop();
    const verified = scanned.filter((c) => c.end <= (lastLine?.e ?? 0)).pop();
    if (lastLine && (!verified || verified.end !== lastLine.e)) {
      // Lines beyond the verified frames (a crash before their frames were durable): drop them.
      const keepTo = verified?.end ?? 0;
      lines = lines.filter((l) => !(l.t === "c" && l.i === fileIdx && l.e > keepTo));
      fs.writeFileSync(paths.commits, lines.map(encodeLine).join(""));
      const kept = lines.filter((l): l is CommitLine => l.t === "c");
      chain.txid = kept.length ? kept[kept.length - 1]!.x : chain.txid;
    }
    chain.walIndex = fileIdx;
    chain.header = header;
    chain.offset = verified ? verified.end : 0;
    chain.checksum = verified ? verified.checksum : header.checksum;
    if (chain.offset === 0) {
      fs.truncateSync(file, 0);
      fs.rmSync(file);
    } else {
      fs.truncateSync(file, chain.offset);
      chain.wal = ArchiveFd.open(file, "r+", this.regroup);
    }
    // The live log must be the one this segment was copied from (same salts in the wal-index, which SQLite
    // rebuilt from the WAL when it opened), still holding the last archived frame.
    if (chain.offset === 0) return chain;
    const idx = this.walIndex(name);
    const fd = this.reader(name);
    const liveEnd = idx && idx.mxFrame ? WAL_HEADER_BYTES + idx.mxFrame * frameBytes(idx.pageSize) : 0;
    if (!idx || fd === undefined || idx.salt !== header.salt || liveEnd < chain.offset) {
      chain.broken = true;
      return chain;
    }
    const lastFrame = frameChecksumAt(readAt(fd, chain.offset - frameBytes(header.pageSize), 24));
    if (lastFrame[0] !== chain.checksum[0] || lastFrame[1] !== chain.checksum[1]) chain.broken = true;
    return chain;
  }
}

function readInto(fd: number, buf: Buffer, position: number, length: number): Buffer {
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buf, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return buf.subarray(0, done);
}

export function epochOf(record: BootRecord, from: number): KeyEpoch {
  const p = record.dek.protector;
  return { from, kid: p.kid, thumbprint: p.thumbprint, kind: p.kind, wrapped: record.dek };
}

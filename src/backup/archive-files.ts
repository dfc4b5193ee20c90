import fs from "node:fs";
import path from "node:path";

/** Small durable-file helpers for the archive: every metadata write is temp + fsync + rename + fsync(dir). */

export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export function writeFileAtomic(file: string, data: string | Buffer): void {
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, "w", 0o600);
  try {
    fs.writeSync(fd, typeof data === "string" ? Buffer.from(data) : data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  fsyncDir(path.dirname(file));
}

/** A byte copy (never VACUUM INTO or the backup API: pitr-fog.md §3.2), durable before it gets its name. */
export function copyFileAtomic(src: string, dest: string): void {
  const tmp = `${dest}.tmp`;
  fs.copyFileSync(src, tmp);
  const fd = fs.openSync(tmp, "r+");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, dest);
  fsyncDir(path.dirname(dest));
}

/** Reads `length` bytes at `position`; `unsafe` skips zero-filling a buffer that is overwritten anyway. */
export function readAt(fd: number, position: number, length: number, unsafe = false): Buffer {
  // allocUnsafeSlow: never a slice of the shared pool, so word-aligned for the checksum's Uint32Array view.
  const buf = unsafe ? Buffer.allocUnsafeSlow(length) : Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buf, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done === length ? buf : buf.subarray(0, done);
}

export function writeAt(fd: number, data: Buffer, position: number): void {
  let done = 0;
  while (done < data.length) done += fs.writeSync(fd, data, done, data.length - done, position + done);
}

export function sizeOf(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/**
 * An archive file with grouped fsyncs: at most one fsync runs on the thread pool at a time, and whatever
 * was written meanwhile is covered by the next one (group commit). That next one is not started the moment
 * the running one returns (back to back, a steady writer kept an fsync, i.e. a journal commit, always in
 * flight on each archive file, competing with SQLite's own commit fsyncs for the journal and for the two
 * cores: bench/archive-overhead), but handed to `regroup`, which starts it after the group window.
 * Closing waits for a running fsync, so a descriptor number is never fsynced after being reused.
 */
export class ArchiveFd {
  private inflight = false;
  private closeRequested = false;
  /** Bytes written since the last fsync started. */
  dirtyBytes = 0;
  constructor(
    readonly fd: number,
    private readonly regroup?: () => void,
  ) {}

  /** `regroup` is called when an fsync returns with bytes written meanwhile (the caller schedules the next). */
  static open(file: string, flags = "a+", regroup?: () => void): ArchiveFd {
    return new ArchiveFd(fs.openSync(file, flags, 0o600), regroup);
  }

  get dirty(): boolean {
    return this.dirtyBytes > 0;
  }

  written(bytes: number): void {
    this.dirtyBytes += bytes;
  }

  /** Starts an fsync on the thread pool now, unless one is running (its return regroups what is left). */
  syncSoon(): void {
    if (this.closeRequested || this.inflight || this.dirtyBytes === 0) return;
    this.inflight = true;
    this.dirtyBytes = 0;
    fs.fsync(this.fd, () => {
      this.inflight = false;
      if (this.closeRequested) fs.close(this.fd, () => {});
      else if (this.dirtyBytes > 0) (this.regroup ?? (() => this.syncSoon()))();
    });
  }

  /** Durable now: also when an fsync started on the thread pool has not finished yet. */
  fsyncNow(): void {
    if (this.closeRequested || (this.dirtyBytes === 0 && !this.inflight)) return;
    this.dirtyBytes = 0;
    fs.fsyncSync(this.fd);
  }

  close(): void {
    if (this.closeRequested) return;
    this.fsyncNow();
    this.closeRequested = true;
    if (!this.inflight) fs.closeSync(this.fd);
  }
}

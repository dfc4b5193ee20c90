import { randomBytes } from "node:crypto";

/**
 * SQLite's WAL format, read and written without the key (sqlite src/wal.c header comment; pitr-fog.md §3.2,
 * measured on SQLite3MC 2.3.5 + aegis): the 32-byte header and the 24-byte frame headers are plaintext, the
 * page images are ciphertext, and the cumulative checksums are computed over the ciphertext. So the archive
 * can verify a chain, find commit frames, and rebuild a standalone WAL from frames, all without a DEK.
 */
export const WAL_HEADER_BYTES = 32;
export const FRAME_HEADER_BYTES = 24;
const MAGIC_LE = 0x377f0682;
const MAGIC_BE = 0x377f0683;
const WAL_VERSION = 3007000;
const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export interface WalHeader {
  pageSize: number;
  /** Checksum words are little-endian (magic 0x377f0682) or big-endian (0x377f0683). */
  littleEndian: boolean;
  /** The 8 salt bytes, hex: every frame of this WAL carries the same. */
  salt: string;
  /** The header's own checksum: the seed of the first frame's cumulative checksum. */
  checksum: [number, number];
}

export type Checksum = [number, number];

export class WalFormatError extends Error {}

/** Cumulative checksum over `data` (length a multiple of 8), seeded with `seed` (sqlite walChecksumBytes). */
export function walChecksum(data: Buffer, littleEndian: boolean, seed: Checksum): Checksum {
  let s1 = seed[0];
  let s2 = seed[1];
  if (littleEndian === HOST_LE && data.byteOffset % 4 === 0) {
    const w = new Uint32Array(data.buffer, data.byteOffset, data.length >>> 2);
    const n = w.length;
    for (let i = 0; i < n; i += 2) {
      s1 = (s1 + w[i]! + s2) >>> 0;
      s2 = (s2 + w[i + 1]! + s1) >>> 0;
    }
  } else {
    for (let i = 0; i < data.length; i += 8) {
      const a = littleEndian ? data.readUInt32LE(i) : data.readUInt32BE(i);
      const b = littleEndian ? data.readUInt32LE(i + 4) : data.readUInt32BE(i + 4);
      s1 = (s1 + a + s2) >>> 0;
      s2 = (s2 + b + s1) >>> 0;
    }
  }
  return [s1, s2];
}

/** Parses and verifies a WAL header. */
export function parseWalHeader(buf: Buffer): WalHeader {
  if (buf.length < WAL_HEADER_BYTES) throw new WalFormatError("the WAL header is truncated");
  const magic = buf.readUInt32BE(0);
  if (magic !== MAGIC_LE && magic !== MAGIC_BE) throw new WalFormatError("not a SQLite WAL (bad magic)");
  if (buf.readUInt32BE(4) !== WAL_VERSION) throw new WalFormatError("unsupported WAL version");
  const pageSize = buf.readUInt32BE(8);
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) throw new WalFormatError(`bad WAL page size ${pageSize}`);
  const littleEndian = magic === MAGIC_LE;
  const sum = walChecksum(buf.subarray(0, 24), littleEndian, [0, 0]);
  if (sum[0] !== buf.readUInt32BE(24) || sum[1] !== buf.readUInt32BE(28)) throw new WalFormatError("the WAL header checksum does not match");
  return { pageSize, littleEndian, salt: buf.subarray(16, 24).toString("hex"), checksum: sum };
}

export const frameBytes = (pageSize: number): number => FRAME_HEADER_BYTES + pageSize;

export interface ScannedCommit {
  /** Offset just past the commit frame, counted from the start of the WAL file. */
  end: number;
  /** The database size in pages after this commit (the commit frame's field). */
  pages: number;
  /** The cumulative checksum after the commit frame. */
  checksum: Checksum;
}

/**
 * Walks frames in `buf`, which holds the WAL bytes from file offset `start` (a frame boundary), verifying the
 * salt and the cumulative checksum chain from `seed` (the checksum of the frame before `start`, or the header's).
 * Stops at the first frame that breaks the chain (a torn tail, a stale frame from an earlier log, a foreign
 * write). Returns every commit frame found, in order: only bytes up to the last one are committed.
 */
export function scanFrames(buf: Buffer, start: number, header: WalHeader, seed: Checksum): { commits: ScannedCommit[]; validEnd: number } {
  const fb = frameBytes(header.pageSize);
  const commits: ScannedCommit[] = [];
  let sum = seed;
  let pos = 0;
  const salt = Buffer.from(header.salt, "hex");
  while (pos + fb <= buf.length) {
    if (!buf.subarray(pos + 8, pos + 16).equals(salt)) break;
    let next = walChecksum(buf.subarray(pos, pos + 8), header.littleEndian, sum);
    next = walChecksum(buf.subarray(pos + FRAME_HEADER_BYTES, pos + fb), header.littleEndian, next);
    if (next[0] !== buf.readUInt32BE(pos + 16) || next[1] !== buf.readUInt32BE(pos + 20)) break;
    sum = next;
    const pages = buf.readUInt32BE(pos + 4);
    pos += fb;
    if (pages !== 0) commits.push({ end: start + pos, pages, checksum: sum });
  }
  return { commits, validEnd: start + pos };
}

/**
 * The writer's fast path: frames SQLite has just committed, walked by header only (salt, commit field) and
 * taking each commit frame's stored checksum. Frames after the last commit (a rolled-back transaction's
 * spill) never carry a commit field, so they are not copied. Integrity is verified where it matters: at
 * recovery and before every replay (scanFrames).
 */
export function scanCommittedFrames(buf: Buffer, start: number, header: WalHeader): { commits: ScannedCommit[]; validEnd: number } {
  const fb = frameBytes(header.pageSize);
  const commits: ScannedCommit[] = [];
  const salt = Buffer.from(header.salt, "hex");
  let pos = 0;
  while (pos + fb <= buf.length) {
    if (buf.compare(salt, 0, 8, pos + 8, pos + 16) !== 0) break;
    const pages = buf.readUInt32BE(pos + 4);
    pos += fb;
    if (pages !== 0) commits.push({ end: start + pos, pages, checksum: [buf.readUInt32BE(pos - fb + 16), buf.readUInt32BE(pos - fb + 20)] });
  }
  return { commits, validEnd: start + pos };
}

export interface WalIndexHeader {
  /** The last committed frame (1-based; 0: the log is empty). */
  mxFrame: number;
  pageSize: number;
  /** The salts of the current log, as the WAL header holds them (hex). */
  salt: string;
  /** The cumulative checksum after frame mxFrame. */
  lastChecksum: Checksum;
}

/**
 * The wal-index header at the start of `-shm` (sqlite src/wal.c "WAL-INDEX FORMAT"): two copies of a
 * 48-byte WalIndexHdr in native byte order, written by the writer before its commit returns. It is the
 * authoritative end of the committed log: with RESTART checkpoints the WAL file keeps stale frames past
 * it, so the file size is no position. Returns undefined while uninitialised or the copies differ.
 */
export function parseWalIndexHeader(buf: Buffer): WalIndexHeader | undefined {
  if (buf.length < 96 || buf.compare(buf, 0, 48, 48, 96) !== 0 || buf[12] !== 1) return undefined;
  const u32 = (o: number) => (HOST_LE ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const sz = HOST_LE ? buf.readUInt16LE(14) : buf.readUInt16BE(14);
  return { mxFrame: u32(16), pageSize: sz === 1 ? 65536 : sz, salt: buf.subarray(32, 40).toString("hex"), lastChecksum: [u32(24), u32(28)] };
}

/** The checksum stored in the frame header that ends at `frameEnd` within `buf` (a frame's own bytes). */
export function frameChecksumAt(frameHeader: Buffer): Checksum {
  return [frameHeader.readUInt32BE(16), frameHeader.readUInt32BE(20)];
}

/** One frame as shipped: page number, commit field, the page image (ciphertext). */
export interface Frame {
  pgno: number;
  commit: number;
  page: Buffer;
}

/** Splits verified WAL bytes (frame-aligned, starting at a frame boundary) into frames. */
export function framesOf(buf: Buffer, pageSize: number): Frame[] {
  const fb = frameBytes(pageSize);
  const out: Frame[] = [];
  for (let pos = 0; pos + fb <= buf.length; pos += fb) {
    out.push({ pgno: buf.readUInt32BE(pos), commit: buf.readUInt32BE(pos + 4), page: buf.subarray(pos + FRAME_HEADER_BYTES, pos + fb) });
  }
  return out;
}

/**
 * A standalone WAL holding `frames` under fresh salts, every checksum recomputed over the ciphertext (no key
 * needed; measured in pitr-fog.md §3.2: applied to a copy at c2, frames (c2,c4] give the state at c4). This
 * is what a geo-secondary replays: only the new frames, never the whole log again.
 */
export function buildWal(frames: Frame[], pageSize: number, littleEndian = HOST_LE): Buffer {
  const fb = frameBytes(pageSize);
  const out = Buffer.alloc(WAL_HEADER_BYTES + frames.length * fb);
  out.writeUInt32BE(littleEndian ? MAGIC_LE : MAGIC_BE, 0);
  out.writeUInt32BE(WAL_VERSION, 4);
  out.writeUInt32BE(pageSize, 8);
  out.writeUInt32BE(0, 12);
  randomBytes(8).copy(out, 16);
  let sum = walChecksum(out.subarray(0, 24), littleEndian, [0, 0]);
  out.writeUInt32BE(sum[0], 24);
  out.writeUInt32BE(sum[1], 28);
  let pos = WAL_HEADER_BYTES;
  for (const f of frames) {
    if (f.page.length !== pageSize) throw new WalFormatError("frame page size mismatch");
    out.writeUInt32BE(f.pgno, pos);
    out.writeUInt32BE(f.commit, pos + 4);
    out.copy(out, pos + 8, 16, 24);
    f.page.copy(out, pos + FRAME_HEADER_BYTES);
    sum = walChecksum(out.subarray(pos, pos + 8), littleEndian, sum);
    sum = walChecksum(out.subarray(pos + FRAME_HEADER_BYTES, pos + fb), littleEndian, sum);
    out.writeUInt32BE(sum[0], pos + 16);
    out.writeUInt32BE(sum[1], pos + 20);
    pos += fb;
  }
  return out;
}

import fs from "node:fs";
import path from "node:path";
import { connectEncrypted } from "../tde/index.js";
import { DomainError, newGuid } from "../platform/index.js";
import { type GenerationView, type RestorePoint, baseSnapshot } from "./catalog.js";
import { WAL_HEADER_BYTES, WalFormatError, parseWalHeader, scanFrames } from "./wal-format.js";

/** The archive cannot give the requested state back (a segment is missing, truncated or damaged). */
export class ArchiveDamagedError extends DomainError {
  readonly kind = "archive-damaged";
}

/**
 * Builds a database file at `point` in `stagingDir`, under the DEK it was written with (pitr-fog.md §3.3):
 * the base snapshot's bytes, then each WAL segment up to the point replayed by SQLite itself
 * (`wal_checkpoint(TRUNCATE)` with the key), then `integrity_check`. Every segment's checksum chain is
 * verified first, so a truncated or damaged one is refused with a clear error and never applied.
 * Returns the staged file's path; the caller installs it (TdeEngine.install) or removes it.
 */
export function buildAt(g: GenerationView, point: RestorePoint, dek: Buffer, stagingDir: string): string {
  fs.mkdirSync(stagingDir, { recursive: true, mode: 0o700 });
  const file = path.join(stagingDir, `${newGuid()}.db`);
  const base = baseSnapshot(g, point.walIndex);
  try {
    fs.copyFileSync(g.paths.snapshot(base), file);
    for (let i = base; i <= point.walIndex; i++) {
      const cut = i === point.walIndex ? point.end : (g.segmentEnds.get(i) ?? 0);
      if (cut === 0) continue;
      const wal = readSegment(g, i, cut);
      fs.writeFileSync(`${file}-wal`, wal, { mode: 0o600 });
      const db = connectEncrypted(file, dek);
      try {
        const row = (db.pragma("wal_checkpoint(TRUNCATE)") as { busy: number; log: number; checkpointed: number }[])[0]!;
        if (row.busy !== 0 || row.log !== row.checkpointed) throw new ArchiveDamagedError(`WAL segment ${i} of generation ${g.meta.genId} did not replay completely`);
      } finally {
        db.close();
      }
    }
    const db = connectEncrypted(file, dek);
    try {
      const check = db.pragma("integrity_check") as { integrity_check: string }[];
      if (check[0]?.integrity_check !== "ok") throw new ArchiveDamagedError(`the restored database failed its integrity check: ${check[0]?.integrity_check}`);
      db.pragma("wal_checkpoint(TRUNCATE)");
    } finally {
      db.close();
    }
    for (const s of ["-wal", "-shm"]) fs.rmSync(file + s, { force: true });
    return file;
  } catch (err) {
    for (const s of ["", "-wal", "-shm"]) fs.rmSync(file + s, { force: true });
    throw err;
  }
}

/** Reads segment `i` up to `cut` and verifies it ends exactly at a commit frame of an unbroken chain. */
export function readSegment(g: GenerationView, i: number, cut: number): Buffer {
  const file = g.paths.wal(i);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch {
    throw new ArchiveDamagedError(`WAL segment ${i} of generation ${g.meta.genId} is missing`);
  }
  if (bytes.length < cut) throw new ArchiveDamagedError(`WAL segment ${i} of generation ${g.meta.genId} is truncated: ${bytes.length} bytes, the commit index needs ${cut}`);
  const wal = bytes.subarray(0, cut);
  try {
    const header = parseWalHeader(wal);
    const { commits } = scanFrames(wal.subarray(WAL_HEADER_BYTES), WAL_HEADER_BYTES, header, header.checksum);
    if (commits[commits.length - 1]?.end !== cut) throw new ArchiveDamagedError(`WAL segment ${i} of generation ${g.meta.genId} is damaged: its checksum chain breaks before offset ${cut}`);
  } catch (err) {
    if (err instanceof WalFormatError) throw new ArchiveDamagedError(`WAL segment ${i} of generation ${g.meta.genId} is damaged: ${err.message}`);
    throw err;
  }
  return Buffer.from(wal);
}

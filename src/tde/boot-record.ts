import fs from "node:fs";
import path from "node:path";
import type { WrappedDek } from "./protector.js";

/**
 * A database's boot record: the wrapped DEK, the protector that wrapped it, and the cipher settings, which
 * must be persisted because a wrong cipher looks exactly like a wrong key (SQLITE_NOTADB: peers-perf.md §2.3).
 * During a DEK rotation it also holds the pending DEK, so a crash at any point leaves one of the two keys
 * able to open the file (the rekey runs under a rollback journal; see tde-engine.ts).
 */
export interface BootRecord {
  format: 1;
  cipher: "aegis";
  algorithm: "aegis-256";
  dekId: string;
  dek: WrappedDek;
  pending?: { dekId: string; dek: WrappedDek };
  createdAt: number;
  updatedAt: number;
}

export const bootPath = (dbFile: string): string => `${dbFile}.boot.json`;

/**
 * Replaces the boot record atomically and durably: write a temp file, fsync it, rename over the old one,
 * fsync the directory. A reader (or a restart after a crash) sees the old record or the new one, whole.
 */
export function writeBootRecord(dbFile: string, record: BootRecord): void {
  const target = bootPath(dbFile);
  const tmp = `${target}.tmp`;
  const fd = fs.openSync(tmp, "w", 0o600);
  try {
    fs.writeSync(fd, JSON.stringify(record, null, 2) + "\n");
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, target);
  const dir = fs.openSync(path.dirname(target), "r");
  try {
    fs.fsyncSync(dir);
  } finally {
    fs.closeSync(dir);
  }
}

export function readBootRecord(dbFile: string): BootRecord {
  const raw = JSON.parse(fs.readFileSync(bootPath(dbFile), "utf8")) as BootRecord;
  if (raw.format !== 1 || raw.cipher !== "aegis" || !raw.dek?.value) throw new Error(`unsupported boot record for ${path.basename(dbFile)}`);
  return raw;
}

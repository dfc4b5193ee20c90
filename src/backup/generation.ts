import fs from "node:fs";
import path from "node:path";
import type { WrappedDek } from "../tde/index.js";
import { writeFileAtomic } from "./archive-files.js";

/**
 * The archive's on-disk shape, per database (Litestream v0.3 style, pitr-fog.md §3.3):
 *
 *   <root>/<databaseId>/generations/<genId>/
 *     meta.json        GenerationMeta: the wrapped DEK under each protector it lived under (key epochs), snapshots
 *     snapshots/<i>.db byte copy of the database file at the start of WAL index i (ciphertext)
 *     wal/<i>.wal      the WAL of index i: header + frames up to the last archived commit (ciphertext)
 *     commits.jsonl    one line per commit, stamped by tdekv's clock, and one per owned checkpoint
 *
 * A generation is one DEK and one unbroken chain of WAL frames. Only wrapped DEKs are stored, each with its
 * protector's kid and thumbprint; the archive never holds a key that opens it.
 */

export type GenerationReason = "created" | "opened" | "chain-break" | "dek-rotated" | "history-reset" | "promoted" | "restored";

export interface KeyEpoch {
  /** Clock time from which this wrapping was the boot record's. */
  from: number;
  kid: string;
  thumbprint: string;
  kind: "ServiceManaged" | "AzureKeyVault";
  wrapped: WrappedDek;
}

export interface SnapshotRef {
  index: number;
  at: number;
}

export interface GenerationMeta {
  format: 1;
  genId: string;
  databaseId: string;
  startedAt: number;
  reason: GenerationReason;
  dekId: string;
  keyEpochs: KeyEpoch[];
  snapshots: SnapshotRef[];
  /** Set when the next generation started or the database was dropped: nothing is appended after it. */
  closedAt?: number;
}

/** A commit: txid counts every commit of the database across generations; `end` is an offset in wal/<i>.wal. */
export interface CommitLine {
  t: "c";
  x: number;
  at: number;
  i: number;
  e: number;
  p: number;
}

/** An owned checkpoint: WAL index `i` is complete, the next commit starts index i+1. */
export interface CheckpointLine {
  t: "k";
  i: number;
  at: number;
}

export type IndexLine = CommitLine | CheckpointLine;

export const indexName = (i: number): string => i.toString(16).padStart(8, "0");

export class GenerationPaths {
  constructor(readonly dir: string) {}
  get meta() {
    return path.join(this.dir, "meta.json");
  }
  get commits() {
    return path.join(this.dir, "commits.jsonl");
  }
  snapshot(i: number) {
    return path.join(this.dir, "snapshots", `${indexName(i)}.db`);
  }
  wal(i: number) {
    return path.join(this.dir, "wal", `${indexName(i)}.wal`);
  }
}

export function databaseDir(root: string, databaseId: string): string {
  return path.join(root, databaseId);
}

/** Generation ids sort in creation order: a sequence number, then random hex against collisions. */
export function nextGenerationId(root: string, databaseId: string, random: string): string {
  const existing = listGenerationIds(root, databaseId);
  const last = existing.length ? Number.parseInt(existing[existing.length - 1]!.slice(0, 8), 16) : 0;
  return `${(last + 1).toString(16).padStart(8, "0")}${random.slice(0, 8)}`;
}

export function listGenerationIds(root: string, databaseId: string): string[] {
  const dir = path.join(databaseDir(root, databaseId), "generations");
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((d) => /^[0-9a-f]{16}$/.test(d) && fs.existsSync(path.join(dir, d, "meta.json")))
    .sort();
}

export function generationPaths(root: string, databaseId: string, genId: string): GenerationPaths {
  return new GenerationPaths(path.join(databaseDir(root, databaseId), "generations", genId));
}

export function readMeta(p: GenerationPaths): GenerationMeta {
  const meta = JSON.parse(fs.readFileSync(p.meta, "utf8")) as GenerationMeta;
  if (meta.format !== 1) throw new Error(`unsupported archive generation format in ${p.dir}`);
  return meta;
}

export function writeMeta(p: GenerationPaths, meta: GenerationMeta): void {
  writeFileAtomic(p.meta, JSON.stringify(meta, null, 1) + "\n");
}

/** Reads the commit index; a torn last line (a crash mid-append) is ignored. */
export function readIndex(p: GenerationPaths): IndexLine[] {
  let text: string;
  try {
    text = fs.readFileSync(p.commits, "utf8");
  } catch {
    return [];
  }
  const out: IndexLine[] = [];
  for (const line of text.split("\n")) {
    if (!line) continue;
    try {
      const v = JSON.parse(line) as IndexLine;
      if (v.t === "c" || v.t === "k") out.push(v);
    } catch {
      break;
    }
  }
  return out;
}

export const encodeLine = (line: IndexLine): string => JSON.stringify(line) + "\n";

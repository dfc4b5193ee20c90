import { type CommitLine, type GenerationMeta, type GenerationPaths, type KeyEpoch, generationPaths, listGenerationIds, readIndex, readMeta } from "./generation.js";

/** One generation as a restore sees it. */
export interface GenerationView {
  paths: GenerationPaths;
  meta: GenerationMeta;
  commits: CommitLine[];
  /** Last commit end per WAL index (the length of each complete segment). */
  segmentEnds: Map<number, number>;
}

/**
 * A state a database can be restored to: the start of a generation (its first snapshot) or a commit.
 * `end` 0 means "the snapshot of walIndex as is".
 */
export interface RestorePoint {
  genId: string;
  walIndex: number;
  end: number;
  at: number;
  txid: number;
}

export function readGenerations(root: string, databaseId: string): GenerationView[] {
  return listGenerationIds(root, databaseId).map((id) => {
    const paths = generationPaths(root, databaseId, id);
    const meta = readMeta(paths);
    const commits = readIndex(paths).filter((l): l is CommitLine => l.t === "c");
    const segmentEnds = new Map<number, number>();
    for (const c of commits) segmentEnds.set(c.i, Math.max(segmentEnds.get(c.i) ?? 0, c.e));
    return { paths, meta, commits, segmentEnds };
  });
}

/** The earliest state the archive holds (the first generation's start), or undefined when there is none. */
export function firstPointAt(gens: GenerationView[]): number | undefined {
  return gens[0]?.meta.startedAt;
}

/** The latest commit (or generation start) stamped at or before `at`, across generations. */
export function pointAt(gens: GenerationView[], at: number): RestorePoint | undefined {
  let best: RestorePoint | undefined;
  let txidBefore = 0;
  for (const g of gens) {
    const first = g.meta.snapshots[0];
    if (first && g.meta.startedAt <= at) {
      best = { genId: g.meta.genId, walIndex: first.index, end: 0, at: g.meta.startedAt, txid: txidBefore };
    }
    for (const c of g.commits) {
      if (c.at > at) break;
      best = { genId: g.meta.genId, walIndex: c.i, end: c.e, at: c.at, txid: c.x };
    }
    if (g.commits.length) txidBefore = g.commits[g.commits.length - 1]!.x;
  }
  return best;
}

/** The last point of all (a copy, a restore of a dropped database at its deletion). */
export function latestPoint(gens: GenerationView[]): RestorePoint | undefined {
  return pointAt(gens, Number.MAX_SAFE_INTEGER);
}

/**
 * The key epochs a restore to `point` needs: every protector the DEK was wrapped under between the base
 * snapshot and the point (pitr-fog.md §2.1: "At restore time, both keys will be needed").
 */
export function epochsFor(g: GenerationView, point: RestorePoint): { base: number; epochs: KeyEpoch[] } {
  const base = baseSnapshot(g, point.walIndex);
  const from = g.meta.snapshots.find((s) => s.index === base)?.at ?? g.meta.startedAt;
  const epochs = g.meta.keyEpochs.filter((e, i) => {
    const next = g.meta.keyEpochs[i + 1];
    return e.from <= point.at && (next === undefined || next.from > from);
  });
  return { base, epochs: epochs.length ? epochs : g.meta.keyEpochs.slice(0, 1) };
}

/** The newest snapshot index at or before `walIndex`. */
export function baseSnapshot(g: GenerationView, walIndex: number): number {
  let base = -1;
  for (const s of g.meta.snapshots) if (s.index <= walIndex && s.index > base) base = s.index;
  if (base < 0) throw new Error(`generation ${g.meta.genId} has no snapshot at or before WAL index ${walIndex}`);
  return base;
}

import fs from "node:fs";
import path from "node:path";
import { newGuid } from "../../platform/index.js";
import { readAt, sizeOf } from "../archive-files.js";
import type { AppliedPosition, LinkRecord } from "../backup-store.js";
import { type GenerationView, baseSnapshot, readGenerations } from "../catalog.js";
import { type BackupContext, getServer } from "../context.js";
import { generationPaths } from "../generation.js";
import { wrappedForPartner } from "../key-binding.js";
import { WAL_HEADER_BYTES, buildWal, framesOf, parseWalHeader } from "../wal-format.js";

/**
 * Geo-replication by WAL-frame shipping (pitr-fog.md §3.4, what Azure does: the same encrypted log under the
 * same DEK). Each archived commit is shipped to the secondary as a standalone WAL of only the new frames,
 * rebuilt with fresh salts and checksums and no key, and replayed there by SQLite in a short exclusive window.
 * No plaintext leaves the primary's file; the secondary opens with the shared DEK, wrapped under the primary
 * protector's key material and unwrapped by the secondary server's own identity through its own server key.
 * Every geo operation runs one at a time (exclusive).
 */
export class Replicator {
  private readonly links = new Map<string, LinkRecord>();
  private readonly scheduled = new Set<string>();
  private chain: Promise<unknown> = Promise.resolve();
  private stopped = false;
  /** Commit-to-apply lag samples (ms, tdekv's clock is not used: this is wall time), for bench/replication-lag. */
  readonly lagListeners = new Set<(file: string) => void>();

  constructor(private readonly ctx: BackupContext) {
    ctx.archiver.onAppend((name) => this.onAppend(name));
  }

  /** Loads the links and marks every secondary read-only and unarchived, before any database is opened. */
  async init(): Promise<void> {
    for (const l of await this.ctx.store.links()) this.track(l);
  }

  stop(): Promise<unknown> {
    this.stopped = true;
    return this.chain;
  }

  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  all(): LinkRecord[] {
    return [...this.links.values()];
  }

  get(linkId: string): LinkRecord | undefined {
    return this.links.get(linkId);
  }

  /** Starts tracking a link: its secondary is read-only and has no archive of its own. */
  track(l: LinkRecord): void {
    this.links.set(l.linkId, l);
    this.ctx.archiver.exclude(l.secondary.file, true);
    this.ctx.engine.setReadOnly(l.secondary.file, true);
  }

  async save(l: LinkRecord): Promise<void> {
    if (this.links.has(l.linkId)) await this.ctx.store.putLink(l);
  }

  async forget(l: LinkRecord): Promise<void> {
    this.links.delete(l.linkId);
    await this.ctx.store.removeLink(l.linkId);
  }

  private onAppend(name: string): void {
    if (this.stopped || this.scheduled.has(name)) return;
    if (![...this.links.values()].some((l) => l.primary.file === name && !l.paused)) return;
    this.scheduled.add(name);
    setImmediate(() => {
      this.scheduled.delete(name);
      void this.exclusive(async () => {
        for (const l of [...this.links.values()]) {
          if (l.primary.file !== name || l.paused) continue;
          try {
            await this.ship(l);
          } catch (err) {
            this.ctx.log.warn({ link: l.linkId, err: (err as Error).message }, "geo-replication shipping failed");
          }
        }
      });
    });
  }

  /**
   * Brings the secondary to the primary's archived position: reseeds when it has no position in the current
   * generation (new link, DEK rotation, forced failover), then ships the rest of each finished WAL index and
   * the current one. Call inside exclusive().
   */
  async ship(l: LinkRecord): Promise<void> {
    const pos = this.ctx.archiver.position(l.primary.file);
    if (!pos) return;
    if (!l.applied || l.applied.genId !== pos.genId) await this.reseed(l, pos.genId, pos.walIndex);
    const a = l.applied!;
    const paths = generationPaths(this.ctx.archiver.root, l.primary.file, pos.genId);
    let moved = false;
    while (a.walIndex < pos.walIndex) {
      // A finished segment holds exactly its committed frames: its size is its last commit's end.
      const end = sizeOf(paths.wal(a.walIndex));
      if (end > Math.max(a.offset, WAL_HEADER_BYTES)) await this.apply(l, paths.wal(a.walIndex), a.offset, end);
      a.walIndex++;
      a.offset = 0;
      moved = true;
    }
    if (pos.offset > Math.max(a.offset, WAL_HEADER_BYTES)) {
      await this.apply(l, paths.wal(pos.walIndex), a.offset, pos.offset);
      a.offset = pos.offset;
      moved = true;
    }
    a.txid = pos.txid;
    if (moved || l.state !== "CATCH_UP") {
      l.state = "CATCH_UP";
      await this.save(l);
    }
    for (const f of this.lagListeners) f(l.primary.file);
  }

  /** True when the secondary has applied everything the primary archived. */
  caughtUp(l: LinkRecord): boolean {
    const pos = this.ctx.archiver.position(l.primary.file);
    if (!pos) return true;
    return !!l.applied && l.applied.genId === pos.genId && l.applied.walIndex === pos.walIndex && (l.applied.offset >= pos.offset || pos.offset <= WAL_HEADER_BYTES);
  }

  private async apply(l: LinkRecord, segment: string, from: number, to: number): Promise<void> {
    const fd = fs.openSync(segment, "r");
    let wal: Buffer;
    try {
      const header = parseWalHeader(readAt(fd, 0, WAL_HEADER_BYTES));
      const start = Math.max(from, WAL_HEADER_BYTES);
      wal = buildWal(framesOf(readAt(fd, start, to - start), header.pageSize), header.pageSize, header.littleEndian);
    } finally {
      fs.closeSync(fd);
    }
    await this.ensureOpen(l);
    this.ctx.engine.applyWal(l.secondary.file, wal);
  }

  private async ensureOpen(l: LinkRecord): Promise<void> {
    if (this.ctx.engine.isOpen(l.secondary.file)) return;
    const server = await getServer(this.ctx, l.secondary.serverId);
    if (!server) throw new Error(`secondary server ${l.secondary.serverId} is gone`);
    try {
      await this.ctx.engine.open(l.secondary.file, this.ctx.sql.unwrapper(server));
    } catch (err) {
      if (l.state !== "SUSPENDED") {
        l.state = "SUSPENDED";
        await this.save(l);
      }
      throw err;
    }
  }

  /**
   * Seeding (pitr-fog.md §3.4): the secondary gets the newest snapshot of the primary's current generation
   * and the DEK wrapped under the primary protector's material, relabeled to its own server key with that
   * material; then the segments after the snapshot are shipped. Throws SameKeyMaterialNotFoundOnRemoteServer
   * when the partner lacks the material.
   */
  async reseed(l: LinkRecord, genId: string, walIndex: number): Promise<void> {
    const gens: GenerationView[] = readGenerations(this.ctx.archiver.root, l.primary.file);
    const g = gens.find((x) => x.meta.genId === genId);
    if (!g) throw new Error(`generation ${genId} of ${l.primary.file} is missing`);
    const base = baseSnapshot(g, walIndex);
    const partner = await getServer(this.ctx, l.secondary.serverId);
    if (!partner) throw new Error(`secondary server ${l.secondary.serverId} is gone`);
    const boot = this.ctx.engine.bootRecord(l.primary.file);
    let wrapped;
    try {
      wrapped = await wrappedForPartner(this.ctx, partner, boot.dek);
    } catch (err) {
      l.state = "SUSPENDED";
      await this.save(l);
      throw err;
    }
    fs.mkdirSync(this.ctx.stagingDir, { recursive: true, mode: 0o700 });
    const staged = path.join(this.ctx.stagingDir, `${newGuid()}.db`);
    fs.copyFileSync(g.paths.snapshot(base), staged);
    this.ctx.archiver.exclude(l.secondary.file, true);
    this.ctx.engine.setReadOnly(l.secondary.file, true);
    this.ctx.engine.close(l.secondary.file);
    const now = this.ctx.clock.now();
    this.ctx.engine.install(l.secondary.file, staged, { ...boot, pending: undefined, dek: wrapped, createdAt: now, updatedAt: now });
    l.applied = { genId, walIndex: base, offset: 0, txid: 0 } satisfies AppliedPosition;
    l.state = "SEEDING";
    await this.save(l);
    await this.ensureOpen(l);
  }
}

import { ArmError } from "../../arm/index.js";
import { newGuid } from "../../platform/index.js";
import type { FailoverReport, FogRecord, LinkEnd, LinkRecord } from "../backup-store.js";
import { readGenerations } from "../catalog.js";
import { type BackupContext, getServer, serverIdOf } from "../context.js";
import { backupErrors } from "../domain/errors.js";
import { automaticFailoverDue } from "../domain/failover-rules.js";
import { wrappedForPartner } from "../key-binding.js";
import type { DatabaseLike, ServerLike } from "../ports.js";
import { putDatabase } from "../restores.js";
import type { Replicator } from "./replicator.js";

export const dbNameOf = (dbId: string): string => dbId.slice(dbId.lastIndexOf("/") + 1);

function endOf(db: DatabaseLike, server: ServerLike): LinkEnd {
  return { dbId: db.id, serverId: server.id, serverName: server.name, location: server.location, file: db.properties.databaseId };
}

/**
 * Geo-replication links and failover groups on top of the replicator: creating secondaries, planned and
 * forced failover, termination, the Automatic policy's grace period on tdekv's clock, and the seed's loss
 * rule for links and groups.
 */
export class GeoService {
  /** Servers an operator declared down (`tdekv geo outage`): the Automatic policy counts them as unreachable. */
  readonly outages = new Set<string>();

  constructor(
    private readonly ctx: BackupContext,
    readonly replicator: Replicator,
  ) {}

  linksOf(dbId: string): LinkRecord[] {
    const key = dbId.toLowerCase();
    return this.replicator.all().filter((l) => l.primary.dbId.toLowerCase() === key || l.secondary.dbId.toLowerCase() === key);
  }

  isSecondary(dbId: string): LinkRecord | undefined {
    return this.replicator.all().find((l) => l.secondary.dbId.toLowerCase() === dbId.toLowerCase());
  }

  /**
   * The CMK precondition (pitr-fog.md §2.2): the partner must hold the key material of the primary's
   * protector. Checked before any secondary is created, so the error answers with Azure's code and text.
   */
  async checkKeyMaterial(primary: DatabaseLike, partner: ServerLike): Promise<void> {
    await wrappedForPartner(this.ctx, partner, this.ctx.engine.bootRecord(primary.properties.databaseId).dek);
  }

  /** Validates `createMode: Secondary` of `primary` as `name` on `partner`. */
  async checkSecondary(primary: DatabaseLike | undefined, sourceId: string, partner: ServerLike, name: string): Promise<DatabaseLike> {
    if (!primary) throw backupErrors.invalidSourceDatabaseId(sourceId);
    if (dbNameOf(primary.id).toLowerCase() !== name.toLowerCase()) throw backupErrors.sameName();
    if (serverIdOf(primary.id).toLowerCase() === partner.id.toLowerCase()) throw backupErrors.differentServers();
    if (this.isSecondary(primary.id)) throw backupErrors.geoChain();
    if (primary.properties.status === "Inaccessible") throw new ArmError(400, "DatabaseInaccessible", `Database '${primary.name}' is inaccessible because its server lost access to its Azure Key Vault key.`);
    await this.checkKeyMaterial(primary, partner);
    return primary;
  }

  /** Creates the secondary database `db` (its body built by the provider) of `primary` on `partner`, seeded and caught up. */
  async createSecondary(primary: DatabaseLike, partner: ServerLike, db: DatabaseLike, secondaryType: "Geo" | "Named", failoverGroup?: string): Promise<LinkRecord> {
    const primaryServer = (await getServer(this.ctx, serverIdOf(primary.id)))!;
    const body: DatabaseLike = { ...db, sku: primary.sku ?? db.sku, properties: { ...db.properties, status: "Online", secondaryType, maxSizeBytes: primary.properties.maxSizeBytes ?? db.properties.maxSizeBytes } };
    delete body.properties.earliestRestoreDate;
    const link: LinkRecord = {
      linkId: newGuid(),
      primary: endOf(primary, primaryServer),
      secondary: endOf(body, partner),
      startTime: this.ctx.clock.now(),
      secondaryType,
      state: "SEEDING",
      applied: null,
      paused: false,
      ...(failoverGroup ? { failoverGroup } : {}),
    };
    return this.replicator.exclusive(async () => {
      this.replicator.track(link);
      await this.ctx.store.putLink(link);
      try {
        this.ctx.archiver.sync(primary.properties.databaseId);
        await this.replicator.ship(link);
      } catch (err) {
        await this.replicator.forget(link);
        this.ctx.engine.drop(body.properties.databaseId);
        throw err;
      }
      await putDatabase(this.ctx, body);
      return link;
    });
  }

  /** Commits the primary archived that the secondary never applied (what a forced failover loses). */
  unshipped(l: LinkRecord): { count: number; txids: [number, number] | null } {
    const a = l.applied;
    const gens = readGenerations(this.ctx.archiver.root, l.primary.file);
    const after = a ? gens.findIndex((g) => g.meta.genId === a.genId) : -1;
    const lost: number[] = [];
    gens.forEach((g, gi) => {
      if (a && gi < after) return;
      for (const c of g.commits) {
        if (a && gi === after && (c.i < a.walIndex || (c.i === a.walIndex && c.e <= a.offset))) continue;
        lost.push(c.x);
      }
    });
    return { count: lost.length, txids: lost.length ? [lost[0]!, lost[lost.length - 1]!] : null };
  }

  /**
   * Fails a link over. Planned: the primary's last commit is shipped and applied first, so nothing is lost.
   * Forced: the secondary is promoted at the position it has; the old primary's unshipped tail is reported
   * and never merged: the old primary is reseeded from the new one (pitr-fog.md §3.4). Either way the new
   * primary rewraps the DEK under its own protector and starts its own backup generation. Call inside exclusive().
   */
  async failoverLink(l: LinkRecord, kind: FailoverReport["kind"]): Promise<{ lostTransactions: number; lostTxids: [number, number] | null }> {
    const P = l.primary;
    const S = l.secondary;
    let lost = { count: 0, txids: null as [number, number] | null };
    if (kind === "Planned") {
      this.ctx.archiver.sync(P.file);
      await this.replicator.ship(l);
      if (!this.replicator.caughtUp(l)) throw new ArmError(409, "PlannedFailoverTimedOut", "The planned failover could not synchronize the secondary with the primary. Use forced failover to accept data loss.");
    } else {
      lost = this.unshipped(l);
    }
    // Promote S.
    this.ctx.engine.setReadOnly(S.file, false);
    this.ctx.archiver.exclude(S.file, false);
    const sServer = await getServer(this.ctx, S.serverId);
    if (sServer && this.ctx.engine.isOpen(S.file)) {
      try {
        await this.ctx.engine.rewrap(S.file, this.ctx.sql.unwrapper(sServer), await this.ctx.sql.currentProtector(sServer));
      } catch (err) {
        this.ctx.log.warn({ database: S.dbId, err: (err as Error).message }, "the new primary could not rewrap its DEK under its own protector");
      }
    }
    this.ctx.archiver.restart(S.file, "promoted");
    // Demote P.
    this.ctx.archiver.exclude(P.file, true);
    this.ctx.engine.setReadOnly(P.file, true);
    l.primary = S;
    l.secondary = P;
    const pos = this.ctx.archiver.position(S.file);
    l.applied = kind === "Planned" && pos ? { genId: pos.genId, walIndex: pos.walIndex, offset: pos.offset, txid: pos.txid } : null;
    l.state = kind === "Planned" ? "CATCH_UP" : "SEEDING";
    l.paused = false;
    await this.replicator.save(l);
    try {
      await this.replicator.ship(l);
    } catch (err) {
      this.ctx.log.warn({ link: l.linkId, err: (err as Error).message }, "the old primary could not be reseeded yet");
    }
    return { lostTransactions: lost.count, lostTxids: lost.txids };
  }

  /** Ends a link: the secondary becomes a standalone read-write database with its own backups. Call inside exclusive(). */
  async terminate(l: LinkRecord): Promise<void> {
    await this.replicator.forget(l);
    this.ctx.engine.setReadOnly(l.secondary.file, false);
    this.ctx.archiver.exclude(l.secondary.file, false);
    if (this.ctx.engine.exists(l.secondary.file)) this.ctx.archiver.restart(l.secondary.file, "promoted");
    const stored = await this.ctx.arm.store.get<DatabaseLike>(l.secondary.dbId);
    if (stored) {
      const body = { ...stored.body, properties: { ...stored.body.properties } };
      delete body.properties.secondaryType;
      await putDatabase(this.ctx, body);
    }
  }

  // ---- failover groups --------------------------------------------------------------------------------

  fogLink(fog: FogRecord, name: string): LinkRecord | undefined {
    const p = `${fog.primaryServerId}/databases/${name}`.toLowerCase();
    const s = `${fog.secondaryServerId}/databases/${name}`.toLowerCase();
    return this.replicator.all().find((l) => l.primary.dbId.toLowerCase() === p && l.secondary.dbId.toLowerCase() === s);
  }

  /** Fails a whole group over and swaps its roles on both servers. */
  async failoverGroup(fog: FogRecord, kind: FailoverReport["kind"]): Promise<FogRecord> {
    return this.replicator.exclusive(async () => {
      const report: FailoverReport = { at: this.ctx.clock.now(), kind, lostTransactions: 0, lostTxids: null, databases: [] };
      for (const name of fog.databases) {
        const l = this.fogLink(fog, name);
        if (!l) continue;
        const r = await this.failoverLink(l, kind);
        report.lostTransactions += r.lostTransactions;
        if (r.lostTxids) report.lostTxids = report.lostTxids ? [Math.min(report.lostTxids[0], r.lostTxids[0]), Math.max(report.lostTxids[1], r.lostTxids[1])] : r.lostTxids;
        report.databases.push({ name, lostTransactions: r.lostTransactions });
      }
      const next: FogRecord = {
        ...fog,
        primaryServerId: fog.secondaryServerId,
        secondaryServerId: fog.primaryServerId,
        primaryLocation: fog.secondaryLocation,
        secondaryLocation: fog.primaryLocation,
        lastFailover: report,
      };
      delete next.downSince;
      await this.ctx.store.putFog(next, fog.lastFailover?.at ?? report.at);
      if (report.lostTransactions) this.ctx.log.warn({ failoverGroup: fog.name, lost: report.lostTransactions, txids: report.lostTxids }, "forced failover lost the unshipped transactions");
      return next;
    });
  }

  /** Is the group's primary down: declared out, or one of its databases Inaccessible (its key is lost)? */
  private async primaryDown(fog: FogRecord): Promise<boolean> {
    if (this.outages.has(fog.primaryServerId.toLowerCase())) return true;
    for (const name of fog.databases) {
      const db = await this.ctx.arm.store.get<DatabaseLike>(`${fog.primaryServerId}/databases/${name}`);
      if (db?.body.properties.status === "Inaccessible") return true;
    }
    return false;
  }

  /** One pass of the Automatic policy: the grace period runs on tdekv's clock from the first pass that saw the primary down. */
  async automaticPass(): Promise<string[] > {
    const failed: string[] = [];
    const now = this.ctx.clock.now();
    for (const fog of await this.ctx.store.fogs()) {
      if (fog.readWriteEndpoint.failoverPolicy !== "Automatic") continue;
      const down = await this.primaryDown(fog);
      if (down && fog.downSince === undefined) {
        await this.ctx.store.putFog({ ...fog, downSince: now }, now);
        continue;
      }
      if (!down) {
        if (fog.downSince !== undefined) {
          const next = { ...fog };
          delete next.downSince;
          await this.ctx.store.putFog(next, now);
        }
        continue;
      }
      if (automaticFailoverDue(fog.readWriteEndpoint, fog.downSince, now)) {
        await this.failoverGroup(fog, "Automatic");
        failed.push(fog.name);
      }
    }
    return failed;
  }

  /**
   * The seed's loss rule for geo (pitr-fog.md §3.6): after a late revalidation the database leaves every
   * failover group on both servers and its links end (the partner copy becomes a standalone read-write
   * database). A group left without databases is deleted with its configuration.
   */
  async dropGeoSettings(db: DatabaseLike): Promise<void> {
    await this.replicator.exclusive(async () => {
      for (const l of this.linksOf(db.id)) await this.terminate(l);
    });
    await this.leaveGroups(db);
  }

  async leaveGroups(db: DatabaseLike): Promise<void> {
    const serverId = serverIdOf(db.id);
    for (const fog of await this.ctx.store.fogsOf(serverId)) {
      const name = fog.databases.find((n) => n.toLowerCase() === db.name.toLowerCase());
      if (!name) continue;
      const databases = fog.databases.filter((n) => n !== name);
      if (!databases.length) await this.ctx.store.removeFog(fog.name);
      else await this.ctx.store.putFog({ ...fog, databases }, this.ctx.clock.now());
    }
  }
}

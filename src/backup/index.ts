import fs from "node:fs";
import path from "node:path";
import type { ArmServices } from "../arm/index.js";
import type { Clock, Logger } from "../platform/index.js";
import type { Db } from "../storage/index.js";
import type { TdeEngine } from "../tde/index.js";
import { backupAdminRoutes, resolveListenerId } from "./admin-routes.js";
import { Archiver } from "./archiver.js";
import { BackupStore } from "./backup-store.js";
import { type BackupContext, serverIdOf } from "./context.js";
import { backupErrors } from "./domain/errors.js";
import { purgeServer, recordDropped, retentionPass } from "./dropped.js";
import { listGenerationIds } from "./generation.js";
import { GeoService } from "./geo/geo-service.js";
import { Replicator } from "./geo/replicator.js";
import { failoverGroupHandler } from "./http/failover-groups.js";
import { replicationLinkHandlers } from "./http/replication-links.js";
import { restorableDroppedHandler } from "./http/restorable-dropped.js";
import { retentionPolicyHandler } from "./http/retention-policies.js";
import type { BackupHooks, DatabaseLike, SqlPort } from "./ports.js";
import { copyDatabase, liveDatabase, lro, pointInTimeRestore, restoreDropped } from "./restores.js";
import { earliestRestoreIso } from "./windows.js";

export { Archiver, DEFAULT_SNAPSHOT_INTERVAL_MS, GROUP_COMMIT_MS, type ArchivePosition } from "./archiver.js";
export { readGenerations, pointAt, latestPoint, epochsFor, type GenerationView, type RestorePoint } from "./catalog.js";
export { buildAt, readSegment, ArchiveDamagedError } from "./restorer.js";
export { buildWal, framesOf, parseWalHeader, scanFrames, walChecksum, WAL_HEADER_BYTES } from "./wal-format.js";
export { generationPaths, listGenerationIds, readMeta, readIndex, type GenerationMeta, type KeyEpoch } from "./generation.js";
export { toFiletime, fromFiletime } from "./domain/filetime.js";
export { earliestRestoreDate, prunePlan, validatePolicy } from "./domain/retention.js";
export { automaticFailoverDue } from "./domain/failover-rules.js";
export { type BackupHooks, type SqlPort, type ServerLike, type DatabaseLike, noBackup } from "./ports.js";

export interface BackupDeps {
  arm: ArmServices;
  db: Db;
  clock: Clock;
  log: Logger;
  engine: TdeEngine;
  dataDir: string;
  sql: SqlPort;
  /** How often retention and the Automatic failover policy are evaluated (real time). */
  passIntervalMs?: number;
  snapshotIntervalMs?: number;
}

/**
 * Backups, point-in-time restore and geo-replication under the customer-managed key (issue 10). The
 * archive runs as the TDE engine's hooks; Microsoft.Sql calls `hooks` (create modes, decorations, drops, the
 * seed's loss rule) and serves `hooks.routes` under its namespace.
 */
export function createBackup(deps: BackupDeps) {
  const archiver = new Archiver({ root: path.join(deps.dataDir, "archive"), engine: deps.engine, clock: deps.clock, log: deps.log, ...(deps.snapshotIntervalMs ? { snapshotIntervalMs: deps.snapshotIntervalMs } : {}) });
  deps.engine.setHooks(archiver.hooks());
  const store = new BackupStore(deps.db);
  const ctx: BackupContext = { arm: deps.arm, db: deps.db, engine: deps.engine, archiver, store, sql: deps.sql, clock: deps.clock, log: deps.log, stagingDir: path.join(deps.dataDir, "databases", ".staging") };
  const replicator = new Replicator(ctx);
  const geo = new GeoService(ctx, replicator);
  const links = replicationLinkHandlers(ctx, geo);

  const hooks: BackupHooks = {
    async createDatabase(call, server, db, createMode, props) {
      const exists = !!(await ctx.arm.store.get(db.id));
      switch (createMode.toLowerCase()) {
        case "pointintimerestore":
          if (exists) throw backupErrors.databaseExists(db.name);
          return pointInTimeRestore(ctx, call, server, db, props);
        case "restore":
          if (exists) throw backupErrors.databaseExists(db.name);
          return restoreDropped(ctx, call, server, db, props);
        case "copy":
          if (exists) throw backupErrors.databaseExists(db.name);
          return copyDatabase(ctx, call, server, db, props);
        case "secondary":
        case "onlinesecondary": {
          if (exists) throw backupErrors.remoteDatabaseExists(db.name, server.name);
          const sourceId = typeof props.sourceDatabaseId === "string" ? props.sourceDatabaseId : "";
          if (!sourceId) throw backupErrors.missingSourceDatabaseId(createMode);
          const primary = await geo.checkSecondary(await liveDatabase(ctx, sourceId), sourceId, server, db.name);
          const type = String(props.secondaryType ?? "Geo").toLowerCase() === "named" ? "Named" : "Geo";
          return lro(ctx, call, server, "database", async () => {
            await geo.createSecondary(primary, server, db, type);
            return { resultResourceKey: db.id.toLowerCase() };
          });
        }
        default:
          throw backupErrors.unsupportedCreateMode(createMode);
      }
    },
    async decorate(db) {
      const props = { ...db.properties };
      const link = geo.isSecondary(db.id);
      if (link) {
        props.secondaryType = link.secondaryType;
        delete props.earliestRestoreDate;
      } else {
        props.earliestRestoreDate = await earliestRestoreIso(ctx, db);
      }
      const serverId = serverIdOf(db.id);
      const fog = (await store.fogsOf(serverId)).find((f) => f.databases.some((n) => n.toLowerCase() === db.name.toLowerCase()));
      if (fog) props.failoverGroupId = `${serverId}/failoverGroups/${fog.name}`;
      else delete props.failoverGroupId;
      return { ...db, properties: props };
    },
    async databaseDeleted(db, removed) {
      await replicator.exclusive(async () => {
        for (const l of geo.linksOf(db.id)) {
          if (l.primary.dbId.toLowerCase() === db.id.toLowerCase()) await geo.terminate(l);
          else await replicator.forget(l);
        }
      });
      await geo.leaveGroups(db);
      await recordDropped(ctx, db, removed);
    },
    async serverDeleted(serverId) {
      await purgeServer(ctx, serverId);
      for (const fog of await store.fogsOf(serverId)) {
        for (const l of replicator.all()) {
          if (l.failoverGroup?.toLowerCase() !== fog.name.toLowerCase()) continue;
          delete l.failoverGroup;
          await replicator.save(l);
        }
        await store.removeFog(fog.name);
      }
    },
    async settingsLost(db: DatabaseLike) {
      // Seed: "failover group, PITR history, and any tags will be lost" (tags: lifecycle-port.ts).
      await geo.dropGeoSettings(db);
      const file = db.properties.databaseId;
      const old = listGenerationIds(archiver.root, file);
      await store.setHistoryReset(file, deps.clock.now());
      archiver.restart(file, "history-reset");
      archiver.dropGenerations(file, old);
    },
    routes: new Map([
      ["servers/databases/backupShortTermRetentionPolicies", retentionPolicyHandler(ctx)],
      ["servers/restorableDroppedDatabases", restorableDroppedHandler(ctx)],
      ["servers/failoverGroups", failoverGroupHandler(ctx, geo)],
      ["servers/databases/replicationLinks", links.perDatabase],
      ["servers/replicationLinks", links.perServer],
    ]),
    async resolveListener(host: string) {
      const id = await resolveListenerId(ctx, host);
      return id?.slice(id.lastIndexOf("/") + 1);
    },
  };

  let timer: NodeJS.Timeout | undefined;
  let passing: Promise<unknown> | undefined;
  async function pass() {
    const retention = await retentionPass(ctx);
    const failedOver = await geo.automaticPass();
    return { ...retention, failedOver };
  }

  return {
    hooks,
    archiver,
    geo,
    replicator,
    store,
    /** Loads links (secondaries read-only, unarchived) and clears half-built restores; before any database opens. */
    async init() {
      fs.rmSync(ctx.stagingDir, { recursive: true, force: true });
      await replicator.init();
    },
    /** Retention and the Automatic failover policy, once. */
    pass,
    start() {
      timer = setInterval(() => {
        passing ??= pass()
          .catch((err: Error) => deps.log.error({ err: err.message }, "backup pass failed"))
          .finally(() => (passing = undefined));
      }, deps.passIntervalMs ?? 60_000);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      await passing;
      await replicator.stop();
    },
    /** Closes the archive's files (after the engine closed its databases, which archives their last frames). */
    close() {
      archiver.close();
    },
    adminRoutes: (authorize: Parameters<typeof backupAdminRoutes>[1]["authorize"]) => backupAdminRoutes(ctx, { geo, pass, authorize }),
  };
}

export type Backup = ReturnType<typeof createBackup>;

import { ArmError, type ProviderCall, armResponses, parseResourceId } from "../arm/index.js";
import type { SurfaceResponse } from "../platform/index.js";
import type { BootRecord } from "../tde/index.js";
import { type GenerationView, type RestorePoint, epochsFor, latestPoint, pointAt, readGenerations } from "./catalog.js";
import { type BackupContext, DATABASES_TYPE, getServer, iso, resourceGroupOf, serverIdOf, subscriptionOf } from "./context.js";
import { backupErrors } from "./domain/errors.js";
import { parseDroppedName } from "./domain/filetime.js";
import { checkPointInTime, parseTime } from "./domain/retention.js";
import { unwrapForRestore } from "./key-binding.js";
import type { DatabaseLike, ServerLike } from "./ports.js";
import { ArchiveDamagedError, buildAt } from "./restorer.js";
import { earliestRestoreIso, restoreWindow } from "./windows.js";

/** Runs `work` as a Microsoft.Sql long-running operation (202 + both poll URLs); a failure answers at once. */
export async function lro(ctx: BackupContext, call: ProviderCall, server: ServerLike, kind: string, work: () => Promise<{ resultResourceKey?: string } | void>): Promise<SurfaceResponse> {
  const op = await ctx.arm.operations.run(call.subscription.id, work);
  if (op.status === "Failed" && op.error) throw new ArmError(op.errorStatus ?? 400, op.error.code, op.error.message);
  return armResponses.accepted(op, armResponses.operationUrls(call.req.origin, op, call.apiVersion, { namespace: "Microsoft.Sql", location: server.location, kind }));
}

export async function putDatabase(ctx: BackupContext, body: DatabaseLike): Promise<void> {
  await ctx.arm.store.put({ id: body.id, subscriptionId: subscriptionOf(body.id), resourceGroup: resourceGroupOf(body.id), typeKey: DATABASES_TYPE, name: body.name, body });
}

/** A live database by id, on a logical server. */
export async function liveDatabase(ctx: BackupContext, id: string): Promise<DatabaseLike | undefined> {
  const ref = parseResourceId(id);
  if (!ref || ref.namespace.toLowerCase() !== "microsoft.sql" || ref.types.length !== 2 || ref.types[0]!.toLowerCase() !== "servers" || ref.types[1]!.toLowerCase() !== "databases") return undefined;
  return (await ctx.arm.store.get<DatabaseLike>(id))?.body;
}

/**
 * Builds `point` of `g` into a new database `db` on `target`, under the same DEK (the choice recorded in
 * docs/designs/2026-11-28-backup.md: a restore keeps the source DEK, rewrapped under the target server's
 * current protector, as Azure's restored backups keep their encryption). The key check runs before the
 * operation starts, so its errors answer synchronously with their codes.
 */
async function restoreInto(
  ctx: BackupContext,
  call: ProviderCall,
  target: ServerLike,
  db: DatabaseLike,
  g: GenerationView,
  point: RestorePoint,
  keyServer: ServerLike,
  sourceName: string,
): Promise<SurfaceResponse> {
  const { epochs } = epochsFor(g, point);
  const dek = await unwrapForRestore(ctx, keyServer, epochs, sourceName, { from: g.meta.startedAt, to: point.at });
  try {
    const protector = await ctx.sql.currentProtector(target);
    let wrapped;
    try {
      wrapped = await protector.wrap(dek);
    } catch (err) {
      throw ctx.sql.keyAccessError(target.name, err, protector.ref.kid) ?? err;
    }
    const file = db.properties.databaseId;
    const now = ctx.clock.now();
    const record: BootRecord = { format: 1, cipher: "aegis", algorithm: "aegis-256", dekId: g.meta.dekId, dek: wrapped, createdAt: now, updatedAt: now };
    return await lro(ctx, call, target, "database", async () => {
      let staged: string;
      try {
        staged = buildAt(g, point, dek, ctx.stagingDir);
      } catch (err) {
        if (err instanceof ArchiveDamagedError) throw backupErrors.archiveDamaged(err.message);
        throw err;
      }
      ctx.engine.install(file, staged, record);
      await ctx.engine.open(file, ctx.sql.unwrapper(target));
      const body: DatabaseLike = { ...db, properties: { ...db.properties, status: "Online", earliestRestoreDate: iso(ctx.clock.now()) } };
      await putDatabase(ctx, body);
      return { resultResourceKey: body.id.toLowerCase() };
    });
  } finally {
    dek.fill(0);
  }
}

/** `createMode: PointInTimeRestore` (pitr-fog.md §1.2): a new database at `restorePointInTime` of a live one. */
export async function pointInTimeRestore(ctx: BackupContext, call: ProviderCall, target: ServerLike, db: DatabaseLike, props: Record<string, unknown>): Promise<SurfaceResponse> {
  const mode = "PointInTimeRestore";
  if (typeof props.sourceDatabaseId !== "string" || !props.sourceDatabaseId) throw backupErrors.missingSourceDatabaseId(mode);
  if (props.restorePointInTime === undefined || props.restorePointInTime === null) throw backupErrors.missingRestorePointInTime(mode);
  const t = parseTime(props.restorePointInTime);
  if (t === undefined) throw backupErrors.invalidPointInTime();
  const source = await liveDatabase(ctx, props.sourceDatabaseId);
  if (!source) {
    if (!parseResourceId(props.sourceDatabaseId)) throw backupErrors.invalidSourceDatabaseId(props.sourceDatabaseId);
    throw backupErrors.invalidLiveDatabase();
  }
  if ((await ctx.store.linksOf(source.id)).some((l) => l.secondary.dbId.toLowerCase() === source.id.toLowerCase())) throw backupErrors.restoreOnGeoSecondary();
  const window = await restoreWindow(ctx, source);
  checkPointInTime(t, window.earliest, window.latest);
  ctx.archiver.sync(source.properties.databaseId);
  const gens = readGenerations(ctx.archiver.root, source.properties.databaseId);
  const point = pointAt(gens, t);
  if (!point) throw backupErrors.invalidPointInTime();
  // The target server must hold every key the backup was taken under (pitr-fog.md §2.4).
  return restoreInto(ctx, call, target, db, gens.find((g) => g.meta.genId === point.genId)!, point, target, source.name);
}

/**
 * `createMode: Restore` of a dropped database, named by its restorable-dropped id or by its original id plus
 * `sourceDatabaseDeletionDate`; `restorePointInTime` defaults to the deletion (the final log backup).
 */
export async function restoreDropped(ctx: BackupContext, call: ProviderCall, target: ServerLike, db: DatabaseLike, props: Record<string, unknown>): Promise<SurfaceResponse> {
  const mode = "Restore";
  const sourceId = typeof props.restorableDroppedDatabaseId === "string" ? props.restorableDroppedDatabaseId : typeof props.sourceDatabaseId === "string" ? props.sourceDatabaseId : undefined;
  if (!sourceId) throw backupErrors.missingSourceDatabaseId(mode);
  const ref = parseResourceId(sourceId);
  if (!ref || ref.namespace.toLowerCase() !== "microsoft.sql" || ref.types[0]?.toLowerCase() !== "servers" || ref.types.length !== 2) throw backupErrors.invalidSourceDatabaseId(sourceId);
  const serverId = sourceId.slice(0, sourceId.toLowerCase().lastIndexOf(`/${ref.types[1]!.toLowerCase()}/`));
  let dropped;
  if (ref.types[1]!.toLowerCase() === "restorabledroppeddatabases") {
    dropped = await ctx.store.droppedById(sourceId);
    if (!dropped && !parseDroppedName(ref.names[1]!)) throw backupErrors.invalidSourceDatabaseId(sourceId);
  } else {
    const deletion = props.sourceDatabaseDeletionDate;
    if (deletion === undefined || deletion === null) {
      if (await liveDatabase(ctx, sourceId)) throw backupErrors.missingDeletionDate();
      throw backupErrors.missingDeletionDate();
    }
    const at = parseTime(deletion);
    if (at === undefined) throw backupErrors.invalidDroppedDatabase();
    // az sends the deletion time to the second (pitr-fog.md §1.7); FILETIME keeps 100 ns.
    const matches = (await ctx.store.dropped(serverId)).filter((d) => d.databaseName.toLowerCase() === ref.names[1]!.toLowerCase() && Math.abs(d.deletedAt - at) < 1000);
    if (matches.length > 1) throw backupErrors.multipleDropped();
    dropped = matches[0];
  }
  if (!dropped) throw backupErrors.invalidDroppedDatabase();
  const t = props.restorePointInTime === undefined || props.restorePointInTime === null ? dropped.deletedAt : parseTime(props.restorePointInTime);
  if (t === undefined) throw backupErrors.invalidPointInTime();
  checkPointInTime(t, Date.parse(String(dropped.body.properties.earliestRestoreDate)), dropped.deletedAt);
  const gens = readGenerations(ctx.archiver.root, dropped.databaseId);
  const point = pointAt(gens, t);
  if (!point) throw backupErrors.invalidPointInTime();
  return restoreInto(ctx, call, target, db, gens.find((g) => g.meta.genId === point.genId)!, point, target, dropped.databaseName);
}

/**
 * `createMode: Copy`: a transactionally consistent copy at the source's last commit. Its DEK is unwrapped by
 * the source's server (which holds that key) and wrapped by the target's protector.
 */
export async function copyDatabase(ctx: BackupContext, call: ProviderCall, target: ServerLike, db: DatabaseLike, props: Record<string, unknown>): Promise<SurfaceResponse> {
  if (typeof props.sourceDatabaseId !== "string" || !props.sourceDatabaseId) throw backupErrors.missingSourceDatabaseId("Copy");
  const source = await liveDatabase(ctx, props.sourceDatabaseId);
  if (!source) throw backupErrors.invalidSourceDatabaseId(props.sourceDatabaseId);
  const sourceServer = (await getServer(ctx, serverIdOf(source.id)))!;
  ctx.archiver.sync(source.properties.databaseId);
  const gens = readGenerations(ctx.archiver.root, source.properties.databaseId);
  const point = latestPoint(gens);
  if (!point) throw backupErrors.invalidLiveDatabase();
  return restoreInto(ctx, call, target, db, gens.find((g) => g.meta.genId === point.genId)!, point, sourceServer, source.name);
}

export { earliestRestoreIso };

import { armErrors, armResponses, tracked, type ProviderCall } from "../../arm/index.js";
import { type SurfaceResponse, newGuid } from "../../platform/index.js";
import type { FogRecord } from "../backup-store.js";
import { type BackupContext, getServer, subscriptionOf } from "../context.js";
import { backupErrors } from "../domain/errors.js";
import { validateReadOnly, validateReadWrite } from "../domain/failover-rules.js";
import type { GeoService } from "../geo/geo-service.js";
import type { DatabaseLike, ServerLike } from "../ports.js";
import { lro } from "../restores.js";

/**
 * `servers/{s}/failoverGroups[/{fg}]` and its `failover`, `forceFailoverAllowDataLoss` and
 * `tryPlannedBeforeForcedFailover` actions (pitr-fog.md §1.5). One group is visible from both servers with
 * mirrored roles; writes go to the primary, failovers to the secondary. Database ids are matched
 * case-insensitively (az lower-cases them).
 */
export function fogBody(fog: FogRecord, as: ServerLike) {
  const primary = fog.primaryServerId.toLowerCase() === as.id.toLowerCase();
  const partnerId = primary ? fog.secondaryServerId : fog.primaryServerId;
  return {
    id: `${as.id}/failoverGroups/${fog.name}`,
    name: fog.name,
    type: "Microsoft.Sql/servers/failoverGroups",
    location: as.location,
    tags: fog.tags,
    properties: {
      readWriteEndpoint: fog.readWriteEndpoint,
      readOnlyEndpoint: fog.readOnlyEndpoint,
      replicationRole: primary ? "Primary" : "Secondary",
      replicationState: "CATCH_UP",
      partnerServers: [{ id: partnerId, location: primary ? fog.secondaryLocation : fog.primaryLocation, replicationRole: primary ? "Secondary" : "Primary" }],
      databases: fog.databases.map((n) => `${as.id}/databases/${n}`),
      // tdekv extension: what the last failover lost (a forced one reports its unshipped window).
      ...(fog.lastFailover ? { tdekvLastFailover: { ...fog.lastFailover, at: new Date(fog.lastFailover.at).toISOString() } } : {}),
    },
  };
}

export function failoverGroupHandler(ctx: BackupContext, geo: GeoService) {
  const notFound = (call: ProviderCall) => armErrors.resourceNotFound("Microsoft.Sql/servers/failoverGroups", `${call.ref.names[0]}/${call.ref.names[1]}`, call.ref.resourceGroup);

  /** Resolves `databases` (ids under `server`) to names of existing databases not in another group. */
  async function databaseNames(raw: unknown, server: ServerLike, fogName: string): Promise<string[]> {
    if (raw === undefined || raw === null) return [];
    if (!Array.isArray(raw) || raw.some((x) => typeof x !== "string")) throw armErrors.invalidRequestContent("databases must be an array of database resource ids");
    const names: string[] = [];
    const others = (await ctx.store.fogs()).filter((f) => f.name.toLowerCase() !== fogName.toLowerCase());
    for (const id of raw as string[]) {
      const prefix = `${server.id}/databases/`.toLowerCase();
      if (!id.toLowerCase().startsWith(prefix)) throw backupErrors.fogDatabaseNotFound(id);
      const db = await ctx.arm.store.get<DatabaseLike>(id);
      if (!db) throw backupErrors.fogDatabaseNotFound(id);
      const other = others.find((f) => (f.primaryServerId.toLowerCase() === server.id.toLowerCase() || f.secondaryServerId.toLowerCase() === server.id.toLowerCase()) && f.databases.some((n) => n.toLowerCase() === db.name.toLowerCase()));
      if (other) throw backupErrors.fogDatabaseInOther(db.name, other.name);
      if (!names.some((n) => n.toLowerCase() === db.name.toLowerCase())) names.push(db.name);
    }
    return names;
  }

  async function upsert(call: ProviderCall, server: ServerLike, existing: FogRecord | undefined, patch: boolean): Promise<SurfaceResponse> {
    const name = call.ref.names[1]!;
    const body = tracked.requireObjectBody(call.body);
    const props = (tracked.isObject(body.properties) ? body.properties : {}) as Record<string, unknown>;
    let partner: ServerLike;
    if (existing) {
      partner = (await getServer(ctx, existing.secondaryServerId))!;
    } else {
      const partners = props.partnerServers;
      if (!Array.isArray(partners) || partners.length !== 1) throw backupErrors.fogPartnerCount();
      const pid = (partners[0] as { id?: unknown })?.id;
      if (typeof pid !== "string") throw backupErrors.fogPartnerCount();
      const found = await getServer(ctx, pid);
      if (!found) throw backupErrors.fogPartnerInvalid(pid);
      if (subscriptionOf(found.id) !== subscriptionOf(server.id)) throw backupErrors.fogPartnerSubscription();
      if (found.id.toLowerCase() === server.id.toLowerCase() || found.location === server.location) throw backupErrors.fogRegion();
      partner = found;
    }
    const rw = props.readWriteEndpoint === undefined && existing ? existing.readWriteEndpoint : validateReadWrite(props.readWriteEndpoint);
    const ro = props.readOnlyEndpoint === undefined && existing ? existing.readOnlyEndpoint : validateReadOnly(props.readOnlyEndpoint);
    const names = patch && props.databases === undefined && existing ? existing.databases : await databaseNames(props.databases, server, name);
    const tags = tracked.readTags(body.tags) ?? existing?.tags ?? {};
    // Each database added gets its geo-secondary on the partner unless a link exists: the CMK precondition is
    // checked for all of them before anything starts.
    const adds: { db: DatabaseLike; hasLink: boolean }[] = [];
    for (const n of names) {
      if (existing?.databases.some((x) => x.toLowerCase() === n.toLowerCase())) continue;
      const db = (await ctx.arm.store.get<DatabaseLike>(`${server.id}/databases/${n}`))!.body;
      const link = geo.linksOf(db.id).find((l) => l.primary.dbId.toLowerCase() === db.id.toLowerCase() && l.secondary.serverId.toLowerCase() === partner.id.toLowerCase());
      if (!link) {
        if (await ctx.arm.store.get(`${partner.id}/databases/${n}`)) throw backupErrors.remoteDatabaseExists(n, partner.name);
        await geo.checkKeyMaterial(db, partner);
      }
      adds.push({ db, hasLink: !!link });
    }
    const fog: FogRecord = {
      name: existing?.name ?? name,
      primaryServerId: server.id,
      secondaryServerId: partner.id,
      primaryLocation: server.location,
      secondaryLocation: partner.location,
      readWriteEndpoint: rw,
      readOnlyEndpoint: ro,
      tags,
      databases: names,
      ...(existing?.lastFailover ? { lastFailover: existing.lastFailover } : {}),
    };
    return lro(ctx, call, server, "failoverGroup", async () => {
      for (const a of adds) {
        if (a.hasLink) continue;
        const now = new Date(ctx.clock.now()).toISOString();
        const secondary: DatabaseLike = {
          ...a.db,
          id: `${partner.id}/databases/${a.db.name}`,
          location: partner.location,
          properties: { ...a.db.properties, databaseId: newGuid(), creationDate: now, status: "Online" },
        };
        delete secondary.tags;
        await geo.createSecondary(a.db, partner, secondary, "Geo", fog.name);
      }
      for (const l of geo.replicator.all()) {
        const inGroup = fog.databases.some((n) => `${fog.primaryServerId}/databases/${n}`.toLowerCase() === l.primary.dbId.toLowerCase()) && l.secondary.serverId.toLowerCase() === partner.id.toLowerCase();
        if (inGroup && l.failoverGroup !== fog.name) {
          l.failoverGroup = fog.name;
          await geo.replicator.save(l);
        } else if (!inGroup && l.failoverGroup?.toLowerCase() === fog.name.toLowerCase()) {
          delete l.failoverGroup;
          await geo.replicator.save(l);
        }
      }
      await ctx.store.putFog(fog, ctx.clock.now());
    });
  }

  return async (call: ProviderCall, requireServer: (c: ProviderCall) => Promise<ServerLike>): Promise<SurfaceResponse> => {
    const server = await requireServer(call);
    const serverKey = server.id.toLowerCase();
    if (call.kind === "collection") {
      if (call.method !== "GET") throw armErrors.methodNotAllowed(call.method, call.req.path);
      return armResponses.list((await ctx.store.fogsOf(server.id)).map((f) => fogBody(f, server)));
    }
    const existing = await ctx.store.fog(call.ref.names[1]!);
    const mine = existing && (existing.primaryServerId.toLowerCase() === serverKey || existing.secondaryServerId.toLowerCase() === serverKey) ? existing : undefined;
    const isPrimary = mine?.primaryServerId.toLowerCase() === serverKey;
    if (call.kind === "action") {
      if (!mine) throw notFound(call);
      const action = call.action!.toLowerCase();
      if (!["failover", "forcefailoverallowdataloss", "tryplannedbeforeforcedfailover"].includes(action)) throw armErrors.pathNotFound(call.req.path);
      if (isPrimary) throw backupErrors.fogFailoverOnPrimary();
      return lro(ctx, call, server, "failoverGroup", async () => {
        if (action === "failover") await geo.failoverGroup(mine, "Planned");
        else if (action === "forcefailoverallowdataloss") await geo.failoverGroup(mine, "Forced");
        else {
          try {
            await geo.failoverGroup(mine, "Planned");
          } catch {
            await geo.failoverGroup((await ctx.store.fog(mine.name))!, "Forced");
          }
        }
      });
    }
    switch (call.method) {
      case "GET":
        if (!mine) throw notFound(call);
        return armResponses.ok(fogBody(mine, server));
      case "PUT":
      case "PATCH":
        if (existing && !mine) throw backupErrors.fogExists(existing.name);
        if (mine && !isPrimary) throw backupErrors.fogOnSecondary();
        if (!mine && call.method === "PATCH") throw notFound(call);
        return upsert(call, server, mine, call.method === "PATCH");
      case "DELETE":
        if (!mine) return armResponses.noContent();
        if (!isPrimary) throw backupErrors.fogOnSecondary();
        return lro(ctx, call, server, "failoverGroup", async () => {
          for (const l of geo.replicator.all()) {
            if (l.failoverGroup?.toLowerCase() !== mine.name.toLowerCase()) continue;
            delete l.failoverGroup;
            await geo.replicator.save(l);
          }
          await ctx.store.removeFog(mine.name);
        });
      default:
        throw armErrors.methodNotAllowed(call.method, call.req.path);
    }
  };
}

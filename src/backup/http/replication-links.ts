import { armErrors, armResponses, type ProviderCall } from "../../arm/index.js";
import { type SurfaceResponse, isGuid } from "../../platform/index.js";
import type { LinkRecord } from "../backup-store.js";
import { type BackupContext, iso } from "../context.js";
import { backupErrors } from "../domain/errors.js";
import { type GeoService, dbNameOf } from "../geo/geo-service.js";
import type { DatabaseLike, ServerLike } from "../ports.js";
import { lro } from "../restores.js";

/**
 * `servers/{s}/databases/{db}/replicationLinks[/{linkId}]` with `failover` and `forceFailoverAllowDataLoss`,
 * and `servers/{s}/replicationLinks` (pitr-fog.md §1.6). The same link id is seen from both ends, each with
 * its own role.
 */
export function linkBody(l: LinkRecord, asDbId: string) {
  const mine = l.primary.dbId.toLowerCase() === asDbId.toLowerCase() ? l.primary : l.secondary;
  const partner = mine === l.primary ? l.secondary : l.primary;
  const role = mine === l.primary ? "Primary" : "Secondary";
  return {
    id: `${mine.dbId}/replicationLinks/${l.linkId}`,
    name: l.linkId,
    type: "Microsoft.Sql/servers/databases/replicationLinks",
    properties: {
      partnerServer: partner.serverName,
      partnerDatabase: dbNameOf(partner.dbId),
      partnerDatabaseId: partner.dbId,
      partnerLocation: partner.location,
      role,
      partnerRole: role === "Primary" ? "Secondary" : "Primary",
      replicationMode: "ASYNC",
      startTime: iso(l.startTime),
      percentComplete: l.state === "SEEDING" ? 0 : 100,
      replicationState: l.state,
      isTerminationAllowed: true,
      linkType: "GEO",
    },
  };
}

export function replicationLinkHandlers(ctx: BackupContext, geo: GeoService) {
  const dbNotFound = (call: ProviderCall) => armErrors.resourceNotFound("Microsoft.Sql/servers/databases", `${call.ref.names[0]}/${call.ref.names[1]}`, call.ref.resourceGroup);

  async function perDatabase(call: ProviderCall, requireServer: (c: ProviderCall) => Promise<ServerLike>): Promise<SurfaceResponse> {
    const server = await requireServer(call);
    const db = (await ctx.arm.store.get<DatabaseLike>(`${server.id}/databases/${call.ref.names[1]}`))?.body;
    if (!db) throw dbNotFound(call);
    if (call.kind === "collection") {
      if (call.method !== "GET") throw armErrors.methodNotAllowed(call.method, call.req.path);
      return armResponses.list(geo.linksOf(db.id).map((l) => linkBody(l, db.id)));
    }
    const linkId = call.ref.names[2]!;
    if (!isGuid(linkId)) throw backupErrors.linkNameInvalid(linkId);
    const l = geo.linksOf(db.id).find((x) => x.linkId.toLowerCase() === linkId.toLowerCase());
    const notFound = () => armErrors.resourceNotFound("Microsoft.Sql/servers/databases/replicationLinks", `${server.name}/${db.name}/${linkId}`, call.ref.resourceGroup);
    if (call.kind === "action") {
      const action = call.action!.toLowerCase();
      if (action !== "failover" && action !== "forcefailoverallowdataloss") throw armErrors.pathNotFound(call.req.path);
      if (!l) throw notFound();
      if (l.failoverGroup) throw backupErrors.linkInFailoverGroup();
      if (l.primary.dbId.toLowerCase() === db.id.toLowerCase()) throw backupErrors.linkFailoverOnPrimary();
      return lro(ctx, call, server, "replicationLink", async () => {
        await geo.replicator.exclusive(() => geo.failoverLink(l, action === "failover" ? "Planned" : "Forced"));
      });
    }
    switch (call.method) {
      case "GET":
        if (!l) throw notFound();
        return armResponses.ok(linkBody(l, db.id));
      case "DELETE":
        if (!l) return armResponses.noContent();
        if (l.failoverGroup) throw backupErrors.linkInFailoverGroup();
        return lro(ctx, call, server, "replicationLink", async () => {
          await geo.replicator.exclusive(() => geo.terminate(l));
        });
      default:
        throw armErrors.methodNotAllowed(call.method, call.req.path);
    }
  }

  async function perServer(call: ProviderCall, requireServer: (c: ProviderCall) => Promise<ServerLike>): Promise<SurfaceResponse> {
    const server = await requireServer(call);
    if (call.kind !== "collection" || call.method !== "GET") throw armErrors.methodNotAllowed(call.method, call.req.path);
    const prefix = `${server.id}/databases/`.toLowerCase();
    const out = [];
    for (const l of geo.replicator.all()) {
      for (const end of [l.primary, l.secondary]) if (end.dbId.toLowerCase().startsWith(prefix)) out.push(linkBody(l, end.dbId));
    }
    return armResponses.list(out);
  }

  return { perDatabase, perServer };
}

import { ArmError, armErrors, armResponses } from "../arm/index.js";
import type { SurfaceRequest, SurfaceResponse } from "../platform/index.js";
import { type BackupContext, SERVERS_TYPE } from "./context.js";
import type { GeoService } from "./geo/geo-service.js";

/**
 * tdekv's own geo and backup controls for drills and tests (bootstrap-tenant principals only):
 * `POST /_tdekv/backup/pass` runs retention and the Automatic failover policy now;
 * `POST /_tdekv/geo/pause|resume` {server?} stops or restarts shipping from a primary server (the unshipped
 * window a forced failover loses); `PUT|DELETE /_tdekv/geo/outage/{server}` declares a server down for the
 * Automatic policy; `GET /_tdekv/geo/links` shows each link's position; `GET /_tdekv/geo/resolve?host=`
 * resolves a failover group listener (`<fg>.database.windows.net`, `<fg>.secondary.database.windows.net`).
 */
const LISTENER = /^([a-z0-9-]+)(\.secondary)?\.database\.windows\.net$/;

/** The server id a failover group listener points at now (read-write: the primary), else undefined. */
export async function resolveListenerId(ctx: BackupContext, host: string): Promise<string | undefined> {
  const m = LISTENER.exec(host.toLowerCase());
  if (!m) return undefined;
  const fog = (await ctx.store.fogs()).find((f) => f.name.toLowerCase() === m[1]);
  if (!fog) return undefined;
  return m[2] ? fog.secondaryServerId : fog.primaryServerId;
}

export function backupAdminRoutes(ctx: BackupContext, deps: { geo: GeoService; pass: () => Promise<unknown>; authorize(req: SurfaceRequest): Promise<void> }) {
  const { geo } = deps;
  const body = (req: SurfaceRequest): Record<string, unknown> => {
    try {
      const v = JSON.parse(req.body.toString("utf8") || "{}");
      return typeof v === "object" && v ? v : {};
    } catch {
      throw armErrors.invalidRequestContent("invalid JSON");
    }
  };
  async function serverId(name: string): Promise<string> {
    const row = await ctx.db.selectFrom("resources").select("id").where("type_key", "=", SERVERS_TYPE).where("name", "=", name.toLowerCase()).executeTakeFirst();
    if (!row) throw new ArmError(404, "ResourceNotFound", `The server '${name}' was not found.`);
    return row.id;
  }
  return async function admin(req: SurfaceRequest): Promise<SurfaceResponse | undefined> {
    const p = req.path.replace(/\/+$/, "").toLowerCase();
    if (!p.startsWith("/_tdekv/geo") && !p.startsWith("/_tdekv/backup")) return undefined;
    try {
      await deps.authorize(req);
      if (p === "/_tdekv/backup/pass" && req.method === "POST") return armResponses.ok(await deps.pass());
      if ((p === "/_tdekv/geo/pause" || p === "/_tdekv/geo/resume") && req.method === "POST") {
        const b = body(req);
        const only = typeof b.server === "string" ? (await serverId(b.server)).toLowerCase() : undefined;
        const paused = p.endsWith("pause");
        const changed: string[] = [];
        await geo.replicator.exclusive(async () => {
          for (const l of geo.replicator.all()) {
            if (only && l.primary.serverId.toLowerCase() !== only) continue;
            l.paused = paused;
            await geo.replicator.save(l);
            if (!paused) {
              ctx.archiver.sync(l.primary.file);
              await geo.replicator.ship(l).catch((err: Error) => ctx.log.warn({ link: l.linkId, err: err.message }, "shipping failed"));
            }
            changed.push(l.linkId);
          }
        });
        return armResponses.ok({ links: changed, paused });
      }
      const outage = /^\/_tdekv\/geo\/outage\/([a-z0-9-]{1,63})$/.exec(p);
      if (outage && (req.method === "PUT" || req.method === "DELETE")) {
        const id = (await serverId(outage[1]!)).toLowerCase();
        if (req.method === "PUT") geo.outages.add(id);
        else geo.outages.delete(id);
        return armResponses.ok({ outages: [...geo.outages] });
      }
      if (p === "/_tdekv/geo/links" && req.method === "GET") {
        return armResponses.ok({
          value: geo.replicator.all().map((l) => ({ ...l, primaryPosition: ctx.archiver.position(l.primary.file) ?? null, unshipped: geo.unshipped(l).count })),
        });
      }
      if (p === "/_tdekv/geo/resolve" && req.method === "GET") {
        const host = (req.query.get("host") ?? "").toLowerCase();
        if (!LISTENER.test(host)) throw armErrors.invalidParameter("'host' must be <failover group>.database.windows.net or <failover group>.secondary.database.windows.net.", "host");
        const id = await resolveListenerId(ctx, host);
        if (!id) throw new ArmError(404, "ResourceNotFound", `No failover group listener '${host}'.`);
        return armResponses.ok({ host, server: id.slice(id.lastIndexOf("/") + 1), serverId: id });
      }
      throw armErrors.pathNotFound(req.path);
    } catch (err) {
      if (err instanceof ArmError) return armResponses.armErrorResponse(err);
      throw err;
    }
  };
}

import { ArmError, armResponses } from "../arm/index.js";
import type { SurfaceRequest, SurfaceResponse } from "../platform/index.js";
import type { DataAccess, DatabaseRoute } from "./data-access.js";
import { FORWARDED, OwnerUnreachable, forward } from "./forward.js";

/** `…/providers/Microsoft.Sql/servers/{server}/databases/{database}` and anything under it. */
const DATABASE_PATH = /^(\/subscriptions\/[^/]+\/resourcegroups\/[^/]+\/providers\/microsoft\.sql\/servers\/[^/]+)\/databases\/([^/]+)(\/.*)?$/i;
/** Where a restore, copy or secondary reads from: the source's owner holds its archive (issue 10). */
const SOURCE_PROPERTIES = ["sourceDatabaseId", "restorableDroppedDatabaseId", "recoverableDatabaseId"] as const;

/**
 * ARM writes for a database whose file another node holds (issue 11 §3, local-disk mode) go to that node:
 * dropping it, changing it, its TDE operations, a restore or copy from it. Reads are answered anywhere (they
 * come from the shared store). A database that does not exist yet is created on the node that received the
 * PUT, which then holds it, unless the PUT restores or copies one held elsewhere: then the source's owner
 * makes it, since only it has the archive. While the owner is down the write is refused with Azure's 40613
 * text (503), as connections are; reads still work.
 */
export function createArmForward(access: DataAccess, self: () => string = () => "") {
  return async function armForward(req: SurfaceRequest): Promise<SurfaceResponse | undefined> {
    if (req.method === "GET" || req.method === "HEAD" || req.headers[FORWARDED] !== undefined) return undefined;
    const m = DATABASE_PATH.exec(req.path.replace(/\/+$/, ""));
    if (!m) return undefined;
    const serverId = m[1]!;
    const database = decodeURIComponent(m[2]!);
    let route = await access.routeById(serverId, database);
    let subject = { serverId, database };
    if (route.kind === "here" && req.method === "PUT" && !m[3]) {
      const source = sourceOf(req.body);
      const sm = source && DATABASE_PATH.exec(source.replace(/\/+$/, ""));
      if (sm && !sm[3]) {
        subject = { serverId: sm[1]!, database: decodeURIComponent(sm[2]!) };
        route = await access.routeById(subject.serverId, subject.database);
      }
    }
    return routed(route, req, subject, self());
  };

  async function routed(route: DatabaseRoute, req: SurfaceRequest, subject: { serverId: string; database: string }, me: string): Promise<SurfaceResponse | undefined> {
    if (route.kind === "here") return undefined;
    if (route.kind === "remote") {
      try {
        return await forward(req, route.node, me);
      } catch (err) {
        if (!(err instanceof OwnerUnreachable)) throw err;
      }
    }
    const refusal = await access.ownerUnavailableById(subject.serverId, subject.database, req.requestId);
    return armResponses.armErrorResponse(new ArmError(refusal.number === 40613 ? 503 : 404, String(refusal.number), refusal.message));
  }
}

function sourceOf(body: Buffer): string | undefined {
  try {
    const props = (JSON.parse(body.toString("utf8") || "{}") as { properties?: Record<string, unknown> }).properties ?? {};
    for (const k of SOURCE_PROPERTIES) if (typeof props[k] === "string") return props[k] as string;
  } catch {
    /* not JSON: the ARM surface answers it as it would anyway */
  }
  return undefined;
}

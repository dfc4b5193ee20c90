import { ArmError, armErrors, armResponses } from "../arm/index.js";
import { authenticateArm } from "../arm/auth.js";
import type { TokenService } from "../identity/index.js";
import type { SurfaceRequest, SurfaceResponse } from "../platform/index.js";
import { TdeError } from "../tde/index.js";
import { type DataAccess, DataAccessError, accessErrors } from "./data-access.js";
import { FORWARDED, OwnerUnreachable, forward } from "./forward.js";

/** HTTP statuses for the access refusals this route renders as ARM errors (the code is Azure's number). */
const STATUS: Record<number, number> = { 40532: 404, 4060: 404, 40613: 503, 33109: 400 };

/**
 * `POST /_tdekv/sql/query` — what `tdekv sql query` calls (issue 4 §7). It is authenticated like ARM (a
 * bearer token of the server's tenant) and reaches data only through the open, decrypted database, by the
 * same data-access path as the TDS endpoint; an inaccessible database answers Azure's 40613.
 */
export function createQueryRoute(access: DataAccess, tokens: TokenService, audiences: () => string[], self: () => string = () => "") {
  return async function query(req: SurfaceRequest): Promise<SurfaceResponse | undefined> {
    if (req.path.replace(/\/+$/, "").toLowerCase() !== "/_tdekv/sql/query") return undefined;
    try {
      if (req.method !== "POST") throw armErrors.methodNotAllowed(req.method, req.path);
      const caller = await authenticateArm(req, tokens, audiences());
      let body: { server?: unknown; database?: unknown; sql?: unknown; params?: unknown };
      try {
        body = JSON.parse(req.body.toString("utf8") || "{}");
      } catch {
        throw armErrors.invalidRequestContent("invalid JSON");
      }
      if (typeof body.server !== "string" || typeof body.database !== "string" || typeof body.sql !== "string") {
        throw armErrors.invalidParameter("server, database and sql are required strings.");
      }
      const params = Array.isArray(body.params) ? body.params : [];
      const server = await access.findServer(body.server);
      if (!server || server.tenantId !== caller.tid) throw accessErrors.serverNotFound(body.server.replace(/\.database\.windows\.net$/i, "").toLowerCase());
      // A database held by another live node (issue 11 §3): its owner answers, unless this request was
      // forwarded already (then it is served here as it stands, never bounced on). An owner that is down is
      // open()'s to refuse, as for TDS logins.
      if (req.headers[FORWARDED] === undefined) {
        const route = await access.route(server, body.database);
        if (route.kind === "remote") {
          try {
            return await forward(req, route.node, self());
          } catch (err) {
            if (!(err instanceof OwnerUnreachable)) throw err;
            throw await access.ownerUnavailable(server, body.database, req.requestId);
          }
        }
      }
      const db = await access.open(server, body.database, req.requestId);
      try {
        return armResponses.ok(await access.run(db, body.sql, params));
      } catch (err) {
        if (err instanceof TdeError) throw new ArmError(400, "SqlError", err.message);
        throw err;
      }
    } catch (err) {
      if (err instanceof DataAccessError) return armResponses.armErrorResponse(new ArmError(STATUS[err.number] ?? 400, String(err.number), err.message));
      if (err instanceof ArmError) return armResponses.armErrorResponse(err);
      throw err;
    }
  };
}

import https from "node:https";
import { ArmError, armErrors, armResponses } from "../arm/index.js";
import { authenticateArm } from "../arm/auth.js";
import type { TokenService } from "../identity/index.js";
import type { SurfaceRequest, SurfaceResponse } from "../platform/index.js";
import { TdeError } from "../tde/index.js";
import { type DataAccess, DataAccessError, type RemoteOwner, accessErrors } from "./data-access.js";

/** Marks a request one node forwarded to another: the owner serves it itself, never forwards it again. */
const FORWARDED = "x-tdekv-forwarded-by";
/** The owner must answer a forwarded query within this (the query route's own work is bounded alike). */
const FORWARD_TIMEOUT_MS = 120_000;
/** A forwarded answer larger than this is refused rather than buffered. */
const MAX_FORWARDED_ANSWER = 256 * 1024 * 1024;

class OwnerUnreachable extends Error {}

/**
 * Sends the request unchanged (method, path, body, Authorization) to the owner's front door, verifying its
 * certificate against the owner's CA only, and returns its answer as it is.
 */
function forward(req: SurfaceRequest, owner: RemoteOwner, self: string): Promise<SurfaceResponse> {
  return new Promise((resolve, reject) => {
    const url = new URL(req.path, owner.httpsUrl);
    const headers: Record<string, string> = { "content-type": "application/json", "content-length": String(req.body.length), [FORWARDED]: self || "node" };
    const auth = req.headers.authorization;
    if (typeof auth === "string") headers.authorization = auth;
    for (const h of ["x-ms-client-request-id", "x-ms-correlation-request-id"]) {
      const v = req.headers[h];
      if (typeof v === "string") headers[h] = v;
    }
    const r = https.request(url, { method: req.method, headers, ca: owner.caPem, timeout: FORWARD_TIMEOUT_MS }, (res) => {
      const parts: Buffer[] = [];
      let size = 0;
      res.on("data", (d: Buffer) => {
        size += d.length;
        if (size > MAX_FORWARDED_ANSWER) return res.destroy(new Error("the owner's answer is too large"));
        parts.push(d);
      });
      res.on("error", (err) => reject(new OwnerUnreachable(err.message)));
      res.on("end", () => {
        const out: Record<string, string> = {};
        const type = res.headers["content-type"];
        if (type) out["content-type"] = type;
        resolve({ status: res.statusCode ?? 502, headers: out, body: Buffer.concat(parts) });
      });
    });
    r.on("timeout", () => r.destroy(new Error("the owner did not answer in time")));
    r.on("error", (err) => reject(new OwnerUnreachable(err.message)));
    r.end(req.body);
  });
}

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
      // A database held by another node (issue 11 §3): its owner answers, unless this request was forwarded
      // already (then it is served here as it stands, never bounced on).
      if (req.headers[FORWARDED] === undefined) {
        const route = await access.route(server, body.database);
        if (route.kind === "down") throw await access.ownerUnavailable(server, body.database, req.requestId);
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

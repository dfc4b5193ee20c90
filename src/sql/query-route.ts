import { ArmError, armErrors, armResponses } from "../arm/index.js";
import { authenticateArm } from "../arm/auth.js";
import type { TokenService } from "../identity/index.js";
import type { SurfaceRequest, SurfaceResponse } from "../platform/index.js";
import { TdeError } from "../tde/index.js";
import type { DatabaseBody, ServerBody, SqlContext } from "./sql-context.js";
import { openDatabase } from "./startup.js";
import { DM_ENCRYPTION_KEYS, REGENERATE, type DekRegenerations } from "./dek-regeneration.js";
import { KeyAccessError } from "./key-access.js";
import { outcomeOf } from "./lifecycle-port.js";

/**
 * `POST /_tdekv/sql/query` — what `tdekv sql query` calls until the TDS endpoint exists (issue 4 §7). It is
 * authenticated like ARM (a bearer token of the server's tenant) and reaches data only through the open,
 * decrypted database; an inaccessible database answers Azure's 40613.
 */
export function createQueryRoute(ctx: SqlContext, tokens: TokenService, audiences: () => string[], regenerations: DekRegenerations) {
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
      const serverName = body.server.replace(/\.database\.windows\.net$/i, "").toLowerCase();
      const rows = await ctx.db
        .selectFrom("resources")
        .select(["id", "subscription_id"])
        .where("type_key", "in", ["microsoft.sql/servers", "microsoft.sql/managedinstances"])
        .where("name", "=", serverName)
        .execute();
      const row = rows[0];
      const sub = row && (await ctx.directory.getSubscription(row.subscription_id));
      if (!row || !sub || sub.tenantId !== caller.tid) throw new ArmError(404, "40532", `Cannot open server "${serverName}" requested by the login. The login failed.`);
      const server = (await ctx.arm.store.get<ServerBody>(row.id))!.body;
      const db = await ctx.arm.store.get<DatabaseBody>(`${server.id}/databases/${body.database}`);
      if (!db) throw new ArmError(404, "4060", `Cannot open database "${body.database}" requested by the login. The login failed.`);
      const refuse40613 = () =>
        new ArmError(
          503,
          "40613",
          `Database '${db.name}' on server '${server.name}' is not currently available. Please retry the connection later. If the problem persists, contact customer support, and provide them the session tracing ID of '${req.requestId}'.`,
        );
      if (db.body.properties.status === "Inaccessible") {
        await ctx.lifecycle.denied(server.id, db.body);
        throw refuse40613();
      }
      const file = db.body.properties.databaseId;
      try {
        await openDatabase(ctx, server, db.body);
      } catch (err) {
        if (!(err instanceof KeyAccessError)) throw err;
        // The key is out of reach: this open was a probe, and the connection is refused as Azure does.
        await ctx.lifecycle.openFailed(server.id, outcomeOf(server.name, err, ""));
        throw refuse40613();
      }
      if (REGENERATE.test(body.sql)) {
        if (regenerations.isRunning(file)) throw new ArmError(400, "33109", "Cannot change the database encryption key while an encryption, decryption, or key change scan is in progress.");
        regenerations.start(server, db.body);
        return armResponses.ok({ columns: [], rows: [], changes: 0 });
      }
      if (DM_ENCRYPTION_KEYS.test(body.sql)) {
        const row = regenerations.row(db.body, ctx.tde.engine.bootRecord(file));
        return armResponses.ok({ columns: Object.keys(row), rows: [row], changes: 0 });
      }
      try {
        const result = ctx.tde.engine.query(file, body.sql, params);
        return armResponses.ok(result);
      } catch (err) {
        if (err instanceof TdeError) throw new ArmError(400, "SqlError", err.message);
        throw err;
      }
    } catch (err) {
      if (err instanceof ArmError) return armResponses.armErrorResponse(err);
      throw err;
    }
  };
}

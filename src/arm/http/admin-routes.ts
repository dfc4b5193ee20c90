import { type SurfaceRequest, type SurfaceResponse } from "../../platform/index.js";
import type { Directory, TokenService } from "../../identity/index.js";
import { ArmError, armErrors } from "../domain/errors.js";
import { authenticateArm } from "../auth.js";
import { armErrorResponse, ok, created } from "./responses.js";
import { isObject } from "../providers/tracked.js";

/**
 * tdekv's own administration, beside ARM: tenants and subscriptions have no public ARM API that a local
 * cloud could honour, yet the seed's "moved to a different subscription/tenant" needs a second of each.
 * Only principals of the bootstrap tenant may call it. `GET /_tdekv/health` is open, for readiness checks.
 */
/** Admits only principals of the bootstrap tenant (tdekv's own administration endpoints). */
export async function authorizeAdmin(req: SurfaceRequest, deps: { tokens: TokenService; audiences: () => string[]; adminTenantId: () => string }): Promise<void> {
  const caller = await authenticateArm(req, deps.tokens, deps.audiences());
  if (caller.tid !== deps.adminTenantId()) throw new ArmError(403, "AuthorizationFailed", `The client '${caller.oid}' does not have authorization to administer tdekv: only principals of the bootstrap tenant may.`);
}

export function createAdminRoutes(deps: { directory: Directory; tokens: TokenService; audiences: () => string[]; adminTenantId: () => string }) {
  return async function admin(req: SurfaceRequest): Promise<SurfaceResponse | undefined> {
    const path = req.path.replace(/\/+$/, "").toLowerCase();
    if (!path.startsWith("/_tdekv/")) return undefined;
    try {
      if (path === "/_tdekv/health" && req.method === "GET") return ok({ status: "ok" });
      await authorizeAdmin(req, deps);
      let body: unknown = {};
      if (req.body.length) {
        try {
          body = JSON.parse(req.body.toString("utf8"));
        } catch {
          throw armErrors.invalidRequestContent("invalid JSON");
        }
      }
      const b = isObject(body) ? body : {};
      const name = typeof b.displayName === "string" && b.displayName ? b.displayName : undefined;
      if (path === "/_tdekv/tenants" && req.method === "POST") {
        const { tenant, credentials } = await deps.directory.createTenant(name ?? "tdekv tenant");
        return created({ tenantId: tenant.id, displayName: tenant.displayName, defaultDomain: tenant.defaultDomain, clientId: credentials.clientId, clientSecret: credentials.clientSecret, objectId: credentials.objectId });
      }
      if (path === "/_tdekv/tenants" && req.method === "GET") return ok({ value: await deps.directory.listTenants() });
      if (path === "/_tdekv/subscriptions" && req.method === "POST") {
        const tenantId = typeof b.tenantId === "string" ? b.tenantId : deps.adminTenantId();
        const tenant = await deps.directory.getTenant(tenantId);
        if (!tenant) throw new ArmError(404, "TenantNotFound", `The tenant '${tenantId}' could not be found.`);
        const sub = await deps.directory.createSubscription(tenant.id, name ?? "tdekv subscription");
        return created(sub);
      }
      const move = /^\/_tdekv\/subscriptions\/([^/]+)\/tenant$/.exec(path);
      if (move && req.method === "PUT") {
        const sub = await deps.directory.getSubscription(move[1]!);
        if (!sub) throw armErrors.subscriptionNotFound(move[1]!);
        const tenant = typeof b.tenantId === "string" ? await deps.directory.getTenant(b.tenantId) : undefined;
        if (!tenant) throw new ArmError(404, "TenantNotFound", `The tenant '${String(b.tenantId)}' could not be found.`);
        await deps.directory.moveSubscription(sub.id, tenant.id);
        return ok({ ...sub, tenantId: tenant.id });
      }
      throw armErrors.pathNotFound(req.path);
    } catch (err) {
      if (err instanceof ArmError) return armErrorResponse(err);
      throw err;
    }
  };
}

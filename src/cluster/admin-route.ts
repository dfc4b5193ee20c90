import { ArmError, armErrors, armResponses } from "../arm/index.js";
import type { SurfaceRequest, SurfaceResponse } from "../platform/index.js";
import type { ClusterView } from "./cluster.js";

/**
 * `GET /_tdekv/cluster` (issue 11 §4, `tdekv nodes`): members, their leases and the database files they hold.
 * Bootstrap-tenant principals only, like every other /_tdekv admin route.
 */
export function createClusterAdminRoute(deps: { view(): Promise<ClusterView>; authorize(req: SurfaceRequest): Promise<void> }) {
  return async function cluster(req: SurfaceRequest): Promise<SurfaceResponse | undefined> {
    const path = req.path.replace(/\/+$/, "").toLowerCase();
    if (path !== "/_tdekv/cluster") return undefined;
    try {
      await deps.authorize(req);
      if (req.method !== "GET") throw armErrors.methodNotAllowed(req.method, req.path);
      return armResponses.ok(await deps.view());
    } catch (err) {
      if (err instanceof ArmError) return armResponses.armErrorResponse(err);
      throw err;
    }
  };
}

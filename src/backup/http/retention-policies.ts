import { armErrors, armResponses, tracked, type ProviderCall } from "../../arm/index.js";
import type { SurfaceResponse } from "../../platform/index.js";
import { type BackupContext, resourceGroupOf, subscriptionOf } from "../context.js";
import { backupErrors } from "../domain/errors.js";
import { validatePolicy } from "../domain/retention.js";
import type { DatabaseLike, ServerLike } from "../ports.js";
import { lro } from "../restores.js";
import { POLICY_TYPE, policyId, policyOf } from "../windows.js";

/**
 * `servers/{s}/databases/{db}/backupShortTermRetentionPolicies[/default]` (pitr-fog.md §1.4): GET, list, and
 * PUT/PATCH as long-running operations. The policy is stored as a child resource of the database, so the
 * operation's Location poll and a delete of the database see it.
 */
export function retentionPolicyHandler(ctx: BackupContext) {
  const body = (db: DatabaseLike, p: { retentionDays: number; diffBackupIntervalInHours: number }) => ({
    id: policyId(db.id),
    name: "default",
    type: "Microsoft.Sql/servers/databases/backupShortTermRetentionPolicies",
    properties: { retentionDays: p.retentionDays, diffBackupIntervalInHours: p.diffBackupIntervalInHours },
  });
  return async (call: ProviderCall, requireServer: (c: ProviderCall) => Promise<ServerLike>): Promise<SurfaceResponse> => {
    const server = await requireServer(call);
    const db = (await ctx.arm.store.get<DatabaseLike>(`${server.id}/databases/${call.ref.names[1]}`))?.body;
    if (!db) throw armErrors.resourceNotFound("Microsoft.Sql/servers/databases", `${call.ref.names[0]}/${call.ref.names[1]}`, call.ref.resourceGroup);
    if (call.kind === "collection") {
      if (call.method !== "GET") throw armErrors.methodNotAllowed(call.method, call.req.path);
      return armResponses.list([body(db, await policyOf(ctx, db.id))]);
    }
    if (call.kind === "action") throw armErrors.pathNotFound(call.req.path);
    if (call.ref.names[2]!.toLowerCase() !== "default") throw backupErrors.invalidPolicyName();
    if (call.method === "GET") return armResponses.ok(body(db, await policyOf(ctx, db.id)));
    if (call.method !== "PUT" && call.method !== "PATCH") throw armErrors.methodNotAllowed(call.method, call.req.path);
    const req = tracked.requireObjectBody(call.body);
    const props = (tracked.isObject(req.properties) ? req.properties : {}) as Record<string, unknown>;
    const next = validatePolicy(props, await policyOf(ctx, db.id), typeof db.sku?.tier === "string" ? db.sku.tier : undefined);
    const b = body(db, next);
    return lro(ctx, call, server, "shortTermRetentionPolicy", async () => {
      await ctx.arm.store.put({ id: b.id, subscriptionId: subscriptionOf(db.id), resourceGroup: resourceGroupOf(db.id), typeKey: POLICY_TYPE, name: "default", body: b });
      return { resultResourceKey: b.id.toLowerCase() };
    });
  };
}

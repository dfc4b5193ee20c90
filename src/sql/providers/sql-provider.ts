import { armErrors, parseResourceId, type ProviderCall, type ResourceProvider } from "../../arm/index.js";
import { LOGICAL_SERVER, MANAGED_INSTANCE } from "../domain/flavor.js";
import type { Logins } from "../logins.js";
import type { DatabaseBody, ServerBody, SqlContext } from "../sql-context.js";
import { databaseHandlers } from "./databases.js";
import { keyAndProtectorHandlers } from "./keys-and-protector.js";
import { serverHandlers } from "./servers.js";

/**
 * The Microsoft.Sql resource provider: logical servers and managed instances, each with keys, encryption
 * protector, databases and TDE state. Both flavors run the same handlers (issue 4 §5).
 */
export function sqlProvider(ctx: SqlContext, logins: Logins): ResourceProvider {
  const routes = new Map<string, (call: ProviderCall) => Promise<import("../../platform/index.js").SurfaceResponse>>();
  for (const flavor of [LOGICAL_SERVER, MANAGED_INSTANCE]) {
    const requireServer = async (call: ProviderCall): Promise<ServerBody> => {
      if (call.ref.scope !== "resourceGroup") throw armErrors.pathNotFound(call.req.path);
      const id = `/subscriptions/${call.subscription.id}/resourceGroups/${call.ref.resourceGroup}/providers/Microsoft.Sql/${flavor.parentType}/${call.ref.names[0]}`;
      const server = await ctx.arm.store.get<ServerBody>(id);
      if (!server) throw armErrors.resourceNotFound(flavor.fullType, call.ref.names[0]!, call.ref.resourceGroup);
      return server.body;
    };
    const servers = serverHandlers(ctx, flavor, logins);
    const kp = keyAndProtectorHandlers(ctx, flavor, requireServer);
    const dbs = databaseHandlers(ctx, flavor, requireServer);
    const p = flavor.parentType;
    routes.set(p, servers.handle);
    routes.set(`${p}/keys`, kp.keys);
    routes.set(`${p}/encryptionProtector`, kp.protector);
    routes.set(`${p}/databases`, dbs.databases);
    routes.set(`${p}/databases/transparentDataEncryption`, dbs.transparentDataEncryption);
    routes.set(`${p}/databases/encryptionProtector`, kp.databaseProtector);
    routes.set(`${p}/${flavor === LOGICAL_SERVER ? "inaccessibleDatabases" : "inaccessibleManagedDatabases"}`, dbs.inaccessible);
    // Backups, restorable dropped databases, failover groups and replication links (issue 10; logical servers).
    if (flavor === LOGICAL_SERVER) for (const [type, handler] of ctx.backup.routes) routes.set(type, (call) => handler(call, requireServer));
  }

  return {
    namespace: "Microsoft.Sql",
    types: [...routes.keys()],
    handle(call) {
      return routes.get(call.type)!(call);
    },
    async onDeleted(_ids, removed) {
      for (const r of removed) {
        const ref = parseResourceId(r.id);
        if (!ref || ref.namespace.toLowerCase() !== "microsoft.sql") continue;
        if (ref.types.length === 1) {
          await ctx.backup.serverDeleted(r.id);
          await ctx.directory.deleteManagedIdentity("SystemAssigned", r.id);
          await logins.remove(r.id);
          await ctx.lifecycle.forgetServer(r.id);
        } else if (ref.types.length === 2 && ref.types[1]!.toLowerCase() === "databases") {
          const db = r.body as unknown as DatabaseBody;
          if (db.properties?.databaseId) {
            // The final log backup and the restorable dropped record come first (issue 10).
            if (ref.types[0]!.toLowerCase() === "servers") await ctx.backup.databaseDeleted(db, removed);
            ctx.tde.engine.drop(db.properties.databaseId);
            await ctx.lifecycle.forgetDatabase(db.properties.databaseId);
          }
        }
      }
    },
    async onMoved(oldId, newId) {
      const ref = parseResourceId(newId);
      if (!ref || ref.namespace.toLowerCase() !== "microsoft.sql" || ref.types.length !== 1) return;
      await logins.move(oldId, newId);
      await ctx.lifecycle.serverMoved(oldId, newId);
      // Seed: "The server was moved to a different subscription. A new managed identity must be assigned":
      // the system-assigned identity does not survive a change of subscription.
      const oldSub = oldId.split("/")[2]!.toLowerCase();
      if (oldSub !== ref.subscriptionId) await ctx.directory.deleteManagedIdentity("SystemAssigned", newId);
    },
  };
}

import { armErrors, armResponses, type ProviderCall } from "../../arm/index.js";
import type { SurfaceResponse } from "../../platform/index.js";
import type { BackupContext } from "../context.js";
import type { ServerLike } from "../ports.js";

/** `servers/{s}/restorableDroppedDatabases[/{name},{filetime}]` (pitr-fog.md §1.3): read-only. */
export function restorableDroppedHandler(ctx: BackupContext) {
  return async (call: ProviderCall, requireServer: (c: ProviderCall) => Promise<ServerLike>): Promise<SurfaceResponse> => {
    const server = await requireServer(call);
    if (call.method !== "GET" || call.kind === "action") throw armErrors.methodNotAllowed(call.method, call.req.path);
    if (call.kind === "collection") return armResponses.list((await ctx.store.dropped(server.id)).map((d) => d.body));
    const d = await ctx.store.droppedById(`${server.id}/restorableDroppedDatabases/${call.ref.names[1]}`);
    if (!d) throw armErrors.resourceNotFound("Microsoft.Sql/servers/restorableDroppedDatabases", `${server.name}/${call.ref.names[1]}`, call.ref.resourceGroup);
    return armResponses.ok(d.body);
  };
}

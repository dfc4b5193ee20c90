import type { Logger } from "../platform/index.js";
import { LOGICAL_SERVER, MANAGED_INSTANCE } from "./domain/flavor.js";
import { parseKeyUri } from "./domain/key-uri.js";
import { KeyAccessError } from "./key-access.js";
import { registerKey, switchProtector } from "./protector-ops.js";
import { type ProtectorBody, type ServerBody, type SqlContext, protectorTypeKey, serverIdentity } from "./sql-context.js";

/**
 * Auto-rotation (azure-sql-tde.md §3): "the server will continuously check the key vault for any new versions
 * of the key … If a new version of the key is detected … the TDE protector on the server will be
 * automatically rotated to the latest key version." One pass looks at every protector with
 * autoRotationEnabled; the worker in index.ts runs a pass every check interval.
 */
export async function autoRotationPass(ctx: SqlContext, log: Logger): Promise<number> {
  let rotated = 0;
  for (const flavor of [LOGICAL_SERVER, MANAGED_INSTANCE]) {
    const rows = await ctx.db.selectFrom("resources").select(["id", "body"]).where("type_key", "=", protectorTypeKey(flavor)).execute();
    for (const row of rows) {
      const protector = JSON.parse(row.body) as ProtectorBody;
      if (!protector.properties.autoRotationEnabled || protector.properties.serverKeyType !== "AzureKeyVault" || !protector.properties.uri) continue;
      const key = parseKeyUri(protector.properties.uri);
      if (!key) continue;
      const server = (await ctx.arm.store.get<ServerBody>(row.id.slice(0, row.id.toLowerCase().lastIndexOf("/encryptionprotector/"))))?.body;
      if (!server) continue;
      try {
        const identity = await serverIdentity(ctx, server);
        if (!identity) continue;
        const versionless = key.kid.slice(0, key.kid.lastIndexOf("/"));
        const latest = await ctx.vault.getKey(identity, versionless);
        if (latest.kid.split("/").pop() === key.version) continue;
        const newKey = await registerKey(ctx, flavor, server, `${versionless}/${latest.kid.split("/").pop()}`);
        await switchProtector(ctx, flavor, server, newKey, true);
        rotated++;
        log.info({ server: server.id, from: key.version, to: newKey.name }, "TDE protector auto-rotated to the key's latest version");
      } catch (err) {
        // Key access problems are the probe's business (issue 5); rotation simply waits for the next pass.
        if (!(err instanceof KeyAccessError) && !(err as { code?: string }).code) throw err;
        log.warn({ server: server.id, err: (err as Error).message }, "auto-rotation check failed");
      }
    }
  }
  return rotated;
}

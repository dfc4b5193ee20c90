import type { Kysely } from "kysely";
import { SERVICE_MANAGED_KID } from "../tde/index.js";
import { LOGICAL_SERVER, MANAGED_INSTANCE } from "./domain/flavor.js";
import { currentProtector, subscriptionOf, unwrapperForServer } from "./protector-ops.js";
import { type ProtectorBody, type ServerBody, type SqlContext, listDatabases, protectorTypeKey } from "./sql-context.js";

interface ResourceRows {
  resources: { id: string; type_key: string; body: string };
}

const FLAVORS = [LOGICAL_SERVER, MANAGED_INSTANCE];

/**
 * Follows protector changes made on other nodes (issue 11 §3, local-disk mode). A protector change rewraps the
 * DEKs of the files on the node that runs it (protector-ops `switchProtector`); a server's databases may be held
 * by several nodes, so every owner rewraps its own: this pass compares each server's current protector with
 * what it saw last, and for a server whose protector changed (every server on the first pass, which also
 * catches a change made while this node was down) rewraps the files held here whose boot record names
 * another key. A file that is open is rewrapped from its DEK in memory (no old key needed); a closed one is
 * left to the lifecycle, which reopens it under the current protector. Returns the files rewrapped.
 */
export class ProtectorFollower {
  private readonly seen = new Map<string, string>();

  constructor(private readonly ctx: SqlContext) {}

  async pass(): Promise<number> {
    const { ctx } = this;
    const db = ctx.db as unknown as Kysely<ResourceRows>;
    const rows = await db.selectFrom("resources").select(["id", "body"]).where("type_key", "in", FLAVORS.map((f) => protectorTypeKey(f).toLowerCase())).execute();
    let rewrapped = 0;
    for (const row of rows) {
      const serverId = row.id.replace(/\/encryptionProtector\/current$/i, "");
      const p = JSON.parse(row.body) as ProtectorBody;
      const want = p.properties.serverKeyType === "AzureKeyVault" && p.properties.uri ? p.properties.uri : SERVICE_MANAGED_KID;
      if (this.seen.get(serverId.toLowerCase()) === want) continue;
      const done = await this.follow(serverId, want);
      if (done !== undefined) {
        rewrapped += done;
        this.seen.set(serverId.toLowerCase(), want);
      }
    }
    return rewrapped;
  }

  /** Rewraps this node's open files of one server; undefined when it must be tried again (a key not reachable). */
  private async follow(serverId: string, wantKid: string): Promise<number | undefined> {
    const { ctx } = this;
    const server = await ctx.arm.store.get<ServerBody>(serverId);
    if (!server) return 0;
    const flavor = FLAVORS.find((f) => serverId.toLowerCase().includes(`/providers/microsoft.sql/${f.parentType.toLowerCase()}/`)) ?? LOGICAL_SERVER;
    let n = 0;
    for (const d of await listDatabases(ctx, flavor, server, subscriptionOf(serverId))) {
      const file = d.body.properties.databaseId;
      if (!file || !ctx.tde.engine.isOpen(file)) continue;
      if (ctx.tde.engine.bootRecord(file).dek.protector.kid === wantKid) continue;
      try {
        await ctx.tde.engine.rewrap(file, unwrapperForServer(ctx, server.body), await currentProtector(ctx, server.body));
        n++;
        ctx.log.info({ database: d.id, kid: wantKid }, "protector changed on another node: DEK rewrapped here");
      } catch (err) {
        ctx.log.warn({ database: d.id, err: (err as Error).message }, "could not rewrap a DEK for a protector changed on another node; will retry");
        return undefined;
      }
    }
    return n;
  }
}

import type { DatabaseRef, LifecyclePort, ProbeOutcome, ProbeTarget } from "../health/index.js";
import { LOGICAL_SERVER, MANAGED_INSTANCE, type SqlFlavor } from "./domain/flavor.js";
import { KeyAccessError, validateKey, type KeyAccessCause } from "./key-access.js";
import { keyAccessToArm, resourceGroupOf, subscriptionOf } from "./protector-ops.js";
import { type DatabaseBody, type ProtectorBody, type ServerBody, type SqlContext, databasesTypeKey, getProtector, listDatabases, protectorTypeKey, serverIdentity } from "./sql-context.js";
import { openDatabase } from "./startup.js";
import { sqlErrors } from "./domain/errors.js";

/** Causes where the vault did not answer: a blip until proven otherwise (health/domain/rules.ts). */
const TRANSIENT: ReadonlySet<KeyAccessCause> = new Set(["network-error", "vault-unavailable", "timeout", "unknown"]);

/** The pause before the one retry inside a probe. */
const RETRY_DELAY_MS = 200;

export function outcomeOf(server: string, err: unknown, kid: string): ProbeOutcome {
  if (!(err instanceof KeyAccessError)) return { ok: false, cause: "unknown", transient: true, code: "AzureKeyVaultGenericConnectionError", status: 503, message: (err as Error).message };
  // Probe-time "Missing key" is the seed's 404 ServerKeyNotFound (configuration time says AzureKeyVaultKeyNameNotFound).
  const arm = err.failure === "key-not-found" ? sqlErrors.serverKeyNotFound() : keyAccessToArm(server, err, kid);
  return { ok: false, cause: err.failure, transient: TRANSIENT.has(err.failure), code: arm.code, status: arm.status, message: arm.message };
}

const flavorOf = (serverId: string): SqlFlavor => (/\/providers\/microsoft\.sql\/managedinstances\//i.test(serverId) ? MANAGED_INSTANCE : LOGICAL_SERVER);

/**
 * Microsoft.Sql's side of the lifecycle: it acts, health/ decides. `closed` hears of every file the
 * lifecycle closes, so open TDS sessions on it end (issue 8 §4).
 */
export function lifecyclePort(ctx: SqlContext, closed: (file: string) => void = () => {}): LifecyclePort {
  async function targetFor(server: ServerBody, protector: ProtectorBody | undefined): Promise<ProbeTarget> {
    const sub = await ctx.directory.getSubscription(subscriptionOf(server.id));
    return {
      serverId: server.id,
      serverKey: server.id.toLowerCase(),
      serverName: server.name,
      managed: flavorOf(server.id) === MANAGED_INSTANCE,
      subscriptionId: subscriptionOf(server.id),
      tenantId: sub?.tenantId ?? "",
      kid: protector?.properties.serverKeyType === "AzureKeyVault" ? protector.properties.uri : undefined,
    };
  }

  async function serverOf(serverId: string): Promise<ServerBody | undefined> {
    return (await ctx.arm.store.get<ServerBody>(serverId))?.body;
  }

  return {
    async targets() {
      const out: ProbeTarget[] = [];
      for (const flavor of [LOGICAL_SERVER, MANAGED_INSTANCE]) {
        const rows = await ctx.db.selectFrom("resources").select(["id", "body"]).where("type_key", "=", protectorTypeKey(flavor)).execute();
        for (const row of rows) {
          const protector = JSON.parse(row.body) as ProtectorBody;
          if (protector.properties.serverKeyType !== "AzureKeyVault") continue;
          const server = await serverOf(row.id.slice(0, row.id.toLowerCase().lastIndexOf("/encryptionprotector/")));
          if (server) out.push(await targetFor(server, protector));
        }
      }
      return out;
    },
    // The same targets as targets(), as keys only, in one query: the lease loop and every probe pass ask for
    // them, and a fleet of 1,000 servers must not cost 3,000 queries each time (issue 11 slice 2).
    async targetKeys() {
      const out: string[] = [];
      for (const flavor of [LOGICAL_SERVER, MANAGED_INSTANCE]) {
        const rows = await ctx.db.selectFrom("resources").select(["id", "body"]).where("type_key", "=", protectorTypeKey(flavor)).execute();
        for (const row of rows) {
          if ((JSON.parse(row.body) as ProtectorBody).properties.serverKeyType !== "AzureKeyVault") continue;
          out.push(row.id.slice(0, row.id.toLowerCase().lastIndexOf("/encryptionprotector/")).toLowerCase());
        }
      }
      return out;
    },
    async target(serverId) {
      const server = await serverOf(serverId);
      return server ? targetFor(server, (await getProtector(ctx, server.id))?.body) : undefined;
    },
    async probe(t) {
      const server = await serverOf(t.serverId);
      if (!server || !t.kid) return { ok: true };
      const attempt = async (): Promise<ProbeOutcome> => {
        try {
          const identity = await serverIdentity(ctx, server);
          if (!identity) throw new KeyAccessError("no-identity", "the server has no managed identity");
          await validateKey(ctx.vault, identity, t.kid!, ctx.clock);
          return { ok: true };
        } catch (err) {
          return outcomeOf(server.name, err, t.kid!);
        }
      };
      const first = await attempt();
      if (first.ok || !first.transient) return first;
      // One retry inside the probe absorbs a single blip; a probe fails only if both attempts do.
      await new Promise((r) => setTimeout(r, RETRY_DELAY_MS));
      return attempt();
    },
    async databases(t) {
      const flavor = flavorOf(t.serverId);
      const rows = await listDatabases(ctx, flavor, { id: t.serverId }, t.subscriptionId);
      return rows.map((r) => ({ id: r.id, name: r.name, databaseId: r.body.properties.databaseId, location: r.body.location }));
    },
    // The file is here, or no other node holds it (a lone node holds every file, even one gone missing).
    async holds(db) {
      return ctx.tde.engine.exists(db.databaseId) || !(await ctx.placement.heldElsewhere(db.databaseId));
    },
    close(db) {
      ctx.tde.engine.close(db.databaseId);
      closed(db.databaseId);
    },
    async open(t, db) {
      const server = await serverOf(t.serverId);
      const body = (await ctx.arm.store.get<DatabaseBody>(db.id))?.body;
      if (!server || !body) return { ok: false, cause: "unknown", transient: false, code: "ResourceNotFound", status: 404, message: "gone" };
      try {
        await openDatabase(ctx, server, body);
        return { ok: true };
      } catch (err) {
        return outcomeOf(server.name, err, t.kid ?? "");
      }
    },
    async setStatus(db: DatabaseRef, status, opts = {}) {
      const stored = await ctx.arm.store.get<DatabaseBody>(db.id);
      if (!stored) return;
      const body: DatabaseBody = { ...stored.body, properties: { ...stored.body.properties, status } };
      // Seed: after a late recovery "previously configured settings such as failover group, PITR history,
      // and any tags will be lost".
      if (opts.loseSettings) delete body.tags;
      await ctx.arm.store.put({ id: stored.id, subscriptionId: subscriptionOf(stored.id), resourceGroup: resourceGroupOf(stored.id), typeKey: databasesTypeKey(flavorOf(stored.id)), name: stored.name, body });
      // ... and the PITR history and failover group membership and links go too (issue 10, src/backup).
      if (opts.loseSettings && flavorOf(stored.id) === LOGICAL_SERVER) await ctx.backup.settingsLost(body);
    },
  };
}

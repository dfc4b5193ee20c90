import type { ArmError } from "../arm/index.js";
import type { KeyProtector } from "../tde/index.js";
import { sqlErrors } from "./domain/errors.js";
import type { SqlFlavor } from "./domain/flavor.js";
import { type KeyUri, parseKeyUri, serverKeyName, SERVICE_MANAGED } from "./domain/key-uri.js";
import { KeyAccessError, thumbprintOf, validateKey } from "./key-access.js";
import { type DatabaseBody, type ProtectorBody, type ServerBody, type ServerKeyBody, type SqlContext, getProtector, keysTypeKey, listDatabases, protectorTypeKey, serverIdentity } from "./sql-context.js";

/** Configuration-time key errors, each the seed's code for its cause (seed "Identify and resolve common errors"). */
export function keyAccessToArm(server: string, err: KeyAccessError, kid: string): ArmError {
  switch (err.failure) {
    case "no-identity":
    case "identity-deleted":
    case "wrong-tenant":
      return sqlErrors.noServerIdentity(server);
    case "vault-unreachable":
    case "network-error":
    case "vault-unavailable":
    case "timeout":
    case "firewall":
    case "unknown":
      return sqlErrors.connectionFailed(server, err.failure === "firewall" ? "The key vault's firewall denied the request and does not allow trusted Microsoft services." : "");
    case "key-not-found":
      return sqlErrors.keyNameNotFound(kid);
    case "key-disabled":
      return sqlErrors.keyDisabled();
    case "key-expired":
    case "key-not-yet-valid":
      return sqlErrors.invalidExpiration();
    case "missing-permissions":
      return sqlErrors.missingPermissions(server, err.missing);
    case "unsupported-key":
      return sqlErrors.rsaKeyNotSupported();
    case "recovery-level":
      return sqlErrors.invalidRecoveryLevel(kid);
  }
}

/** Validates a customer key as the server's identity; returns its thumbprint. Throws the seed's ArmError. */
export async function checkKeyAccess(ctx: SqlContext, server: ServerBody, key: KeyUri): Promise<{ thumbprint: string }> {
  const identity = await serverIdentity(ctx, server);
  if (!identity) throw sqlErrors.noServerIdentity(server.name);
  try {
    const info = await validateKey(ctx.vault, identity, key.kid, ctx.clock);
    return { thumbprint: thumbprintOf(info) };
  } catch (err) {
    if (err instanceof KeyAccessError) throw keyAccessToArm(server.name, err, key.kid);
    throw err;
  }
}

export function keyBody(flavor: SqlFlavor, server: ServerBody, name: string, key: KeyUri | undefined, thumbprint: string | undefined, created: string): ServerKeyBody {
  return {
    id: `${server.id}/keys/${name}`,
    name,
    type: flavor.keysType,
    kind: key ? "azurekeyvault" : "servicemanaged",
    location: server.location,
    properties: key
      ? { serverKeyType: "AzureKeyVault", uri: key.kid, thumbprint, creationDate: created, autoRotationEnabled: false }
      : { serverKeyType: "ServiceManaged", autoRotationEnabled: false },
  };
}

/** Adds (or re-validates) a server key after checking it through the vault. */
export async function registerKey(ctx: SqlContext, flavor: SqlFlavor, server: ServerBody, uri: string, requestedName?: string): Promise<ServerKeyBody> {
  const key = parseKeyUri(uri);
  if (!key) throw sqlErrors.malformedVaultUri();
  const name = serverKeyName(key);
  if (requestedName !== undefined && requestedName.toLowerCase() !== name.toLowerCase()) throw sqlErrors.invalidKeyName();
  const { thumbprint } = await checkKeyAccess(ctx, server, key);
  const existing = await ctx.arm.store.get<ServerKeyBody>(`${server.id}/keys/${name}`);
  const body = keyBody(flavor, server, existing?.name ?? name, key, thumbprint, existing?.body.properties.creationDate ?? new Date(ctx.clock.now()).toISOString());
  await ctx.arm.store.put({ id: body.id, subscriptionId: subscriptionOf(server.id), resourceGroup: resourceGroupOf(server.id), typeKey: keysTypeKey(flavor), name: body.name, body });
  return body;
}

/** The protector that wraps new DEKs for a server, as its current encryption protector says. */
export async function currentProtector(ctx: SqlContext, server: ServerBody): Promise<KeyProtector> {
  const p = await getProtector(ctx, server.id);
  if (!p || p.body.properties.serverKeyType === "ServiceManaged" || !p.body.properties.uri) return ctx.tde.serviceManagedProtector();
  const identity = await serverIdentity(ctx, server);
  if (!identity) throw sqlErrors.noServerIdentity(server.name);
  return ctx.tde.vaultProtector(identity, p.body.properties.uri, p.body.properties.thumbprint ?? "");
}

export const unwrapperForServer = (ctx: SqlContext, server: ServerBody) => ctx.tde.unwrapperFor(() => serverIdentity(ctx, server));

export function protectorBody(flavor: SqlFlavor, server: ServerBody, key: ServerKeyBody | undefined, autoRotationEnabled: boolean): ProtectorBody {
  return {
    id: `${server.id}/encryptionProtector/current`,
    name: "current",
    type: flavor.protectorType,
    kind: key ? "azurekeyvault" : "servicemanaged",
    location: server.location,
    properties: key
      ? { serverKeyName: key.name, serverKeyType: "AzureKeyVault", uri: key.properties.uri, thumbprint: key.properties.thumbprint, autoRotationEnabled }
      : { serverKeyName: SERVICE_MANAGED, serverKeyType: "ServiceManaged", autoRotationEnabled: false },
  };
}

/**
 * Makes `key` (undefined: service-managed) the server's protector: every database's DEK is rewrapped by
 * the new protector (no page is re-encrypted), then the protector resource is replaced. A database that
 * is closed is rewrapped from its boot record, so this needs the old protector to be reachable too.
 */
export async function switchProtector(ctx: SqlContext, flavor: SqlFlavor, server: ServerBody, key: ServerKeyBody | undefined, autoRotationEnabled: boolean): Promise<ProtectorBody> {
  const body = protectorBody(flavor, server, key, autoRotationEnabled);
  let protector: KeyProtector;
  if (key) {
    const identity = await serverIdentity(ctx, server);
    if (!identity) throw sqlErrors.noServerIdentity(server.name);
    protector = ctx.tde.vaultProtector(identity, key.properties.uri!, key.properties.thumbprint ?? "");
  } else {
    protector = ctx.tde.serviceManagedProtector();
  }
  const unwrapper = unwrapperForServer(ctx, server);
  for (const db of await listDatabases(ctx, flavor, server, subscriptionOf(server.id))) {
    const file = db.body.properties.databaseId;
    if (!ctx.tde.engine.exists(file)) continue;
    try {
      await ctx.tde.engine.rewrap(file, unwrapper, protector);
    } catch (err) {
      if (err instanceof KeyAccessError) throw keyAccessToArm(server.name, err, key?.properties.uri ?? "");
      throw err;
    }
  }
  await ctx.arm.store.put({ id: body.id, subscriptionId: subscriptionOf(server.id), resourceGroup: resourceGroupOf(server.id), typeKey: protectorTypeKey(flavor), name: "current", body });
  return body;
}

/** Creates a database's encrypted file under the server's current protector. */
export async function createDatabaseFile(ctx: SqlContext, server: ServerBody, db: DatabaseBody): Promise<void> {
  const protector = await currentProtector(ctx, server);
  try {
    await ctx.tde.engine.create(db.properties.databaseId, protector);
  } catch (err) {
    if (err instanceof KeyAccessError) throw keyAccessToArm(server.name, err, protector.ref.kid);
    throw err;
  }
  // The file is on this node's disk: it is the owner (local-disk mode, scale-out.md §3.4).
  await ctx.placement.holds(db.properties.databaseId);
}

export const subscriptionOf = (id: string): string => id.split("/")[2]!.toLowerCase();
export const resourceGroupOf = (id: string): string => id.split("/")[4]!;

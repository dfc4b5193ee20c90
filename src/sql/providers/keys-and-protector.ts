import { ArmError, armErrors, armResponses, tracked, type ProviderCall } from "../../arm/index.js";
import type { SurfaceResponse } from "../../platform/index.js";
import { sqlErrors } from "../domain/errors.js";
import type { SqlFlavor } from "../domain/flavor.js";
import { SERVICE_MANAGED, parseKeyUri } from "../domain/key-uri.js";
import { checkKeyAccess, registerKey, switchProtector } from "../protector-ops.js";
import { type DatabaseBody, type ProtectorBody, type ServerBody, type ServerKeyBody, type SqlContext, getProtector, keysTypeKey, listDatabases } from "../sql-context.js";

const { ok, list, noContent, accepted, operationUrls } = armResponses;

/**
 * Server keys (`servers/{s}/keys/{vault}_{key}_{version}`) and the encryption protector
 * (`servers/{s}/encryptionProtector/current`). Validation failures answer synchronously with the seed's
 * code (the SDKs keep `.code` only then: sdk-compat.md §4.3); accepted work answers 202 with both poll URLs,
 * as Microsoft.Sql does (azure-sql-tde.md §1.3).
 */
export function keyAndProtectorHandlers(ctx: SqlContext, flavor: SqlFlavor, requireServer: (call: ProviderCall) => Promise<ServerBody>) {
  async function lro(call: ProviderCall, kind: string, server: ServerBody, work: () => Promise<{ resultResourceKey?: string } | void>): Promise<SurfaceResponse> {
    const op = await ctx.arm.operations.run(call.subscription.id, work);
    if (op.status === "Failed" && op.error) throw armErrors.invalidParameter(op.error.message);
    return accepted(op, operationUrls(call.req.origin, op, call.apiVersion, { namespace: "Microsoft.Sql", location: server.location, kind }), { operation: kind === "serverKey" ? "UpsertServerKey" : "UpsertEncryptionProtector", startTime: new Date(op.startedAt).toISOString() });
  }

  async function keys(call: ProviderCall): Promise<SurfaceResponse> {
    const server = await requireServer(call);
    if (call.kind === "collection") {
      const rows = await ctx.arm.store.listByType<ServerKeyBody>({ subscriptionId: call.subscription.id, typeKey: keysTypeKey(flavor), parentId: server.id });
      return list(rows.map((r) => r.body));
    }
    const name = call.ref.names[1]!;
    const existing = await ctx.arm.store.get<ServerKeyBody>(`${server.id}/keys/${name}`);
    switch (call.method) {
      case "GET":
        if (!existing) throw sqlErrors.serverKeyNotFound();
        return ok(existing.body);
      case "PUT": {
        const body = call.body as { properties?: { serverKeyType?: string; uri?: string } } | undefined;
        if (!tracked.isObject(body) || !tracked.isObject(body.properties)) throw sqlErrors.invalidKeyUpsertRequest();
        const type = String(body.properties.serverKeyType ?? "");
        if (type.toLowerCase() === "servicemanaged") throw sqlErrors.invalidUpsertKeyType();
        if (type.toLowerCase() !== "azurekeyvault") throw sqlErrors.invalidKeyType();
        const uri = body.properties.uri;
        if (typeof uri !== "string" || !uri) throw sqlErrors.malformedVaultUri();
        if (!parseKeyUri(uri)) throw sqlErrors.malformedVaultUri();
        const key = await registerKey(ctx, flavor, server, uri, name);
        return lro(call, "serverKey", server, async () => ({ resultResourceKey: key.id.toLowerCase() }));
      }
      case "DELETE": {
        if (!existing) return noContent();
        if (existing.body.properties.serverKeyType === "ServiceManaged") throw sqlErrors.invalidUpsertKeyType();
        const protector = await getProtector(ctx, server.id);
        if (protector?.body.properties.serverKeyName.toLowerCase() === existing.name.toLowerCase()) throw sqlErrors.keyInUse();
        await ctx.arm.deleteTree(existing.id);
        return ok(undefined);
      }
      default:
        throw armErrors.methodNotAllowed(call.method, call.req.path);
    }
  }

  /**
   * Revalidation is a long-running operation (seed "re-validate key"): the lifecycle probes the protector and,
   * if access is back, brings the inaccessible databases online; if not, the operation fails with the seed's
   * code and MakeDatabaseAccessible Failed is logged.
   */
  async function revalidate(call: ProviderCall, server: ServerBody, databaseId?: string): Promise<SurfaceResponse> {
    const p = await getProtector(ctx, server.id);
    const op = await ctx.arm.operations.run(call.subscription.id, async () => {
      const outcome = await ctx.lifecycle.revalidate(server.id, databaseId);
      if (!outcome.ok) throw new ArmError(outcome.status, outcome.code, outcome.message);
      return { resultResourceKey: p?.id.toLowerCase() };
    });
    return accepted(op, operationUrls(call.req.origin, op, call.apiVersion, { namespace: "Microsoft.Sql", location: server.location, kind: databaseId ? "databaseEncryptionProtectorRevalidate" : "encryptionProtector" }), {
      operation: "MakeAllLogicalDatabasesAccessible",
      startTime: new Date(op.startedAt).toISOString(),
    });
  }

  /** `servers/{s}/databases/{db}/encryptionProtector/current/revalidate` (azure-sql-tde.md §1.7). */
  async function databaseProtector(call: ProviderCall): Promise<SurfaceResponse> {
    const server = await requireServer(call);
    const db = await ctx.arm.store.get<DatabaseBody>(`${server.id}/databases/${call.ref.names[1]}`);
    if (!db) throw armErrors.resourceNotFound(flavor.databaseType, `${call.ref.names[0]}/${call.ref.names[1]}`, call.ref.resourceGroup);
    if (call.kind !== "action" || call.action?.toLowerCase() !== "revalidate") throw armErrors.pathNotFound(call.req.path);
    if ((call.ref.names[2] ?? "").toLowerCase() !== "current") throw sqlErrors.invalidProtectorName();
    return revalidate(call, server, db.body.properties.databaseId);
  }

  async function setProtector(call: ProviderCall, server: ServerBody): Promise<SurfaceResponse> {
    // Seed "Introduction": no protector change while a database encrypted with the customer key is inaccessible.
    const inaccessible = (await listDatabases(ctx, flavor, server, call.subscription.id)).some((d) => d.body.properties.status === "Inaccessible");
    if (inaccessible) throw sqlErrors.cmkOperationNotAllowed();
    const body = call.body as { properties?: { serverKeyType?: string; serverKeyName?: string; autoRotationEnabled?: boolean } } | undefined;
    if (!tracked.isObject(body) || !tracked.isObject(body.properties)) throw sqlErrors.invalidKeyUpsertRequest();
    const type = String(body.properties.serverKeyType ?? "").toLowerCase();
    const autoRotation = body.properties.autoRotationEnabled === true;
    let key: ServerKeyBody | undefined;
    if (type === "azurekeyvault") {
      const keyName = body.properties.serverKeyName;
      if (!keyName || keyName === SERVICE_MANAGED) throw sqlErrors.serverKeyDoesNotExist();
      key = (await ctx.arm.store.get<ServerKeyBody>(`${server.id}/keys/${keyName}`))?.body;
      if (!key || key.properties.serverKeyType !== "AzureKeyVault") throw sqlErrors.serverKeyDoesNotExist();
      // The key was valid when added; access may have changed since (seed: revoked permissions).
      await checkKeyAccess(ctx, server, parseKeyUri(key.properties.uri!)!);
    } else if (type !== "servicemanaged") {
      throw sqlErrors.invalidKeyType();
    }
    const protector = await switchProtector(ctx, flavor, server, key, autoRotation);
    return lro(call, "encryptionProtector", server, async () => ({ resultResourceKey: protector.id.toLowerCase() }));
  }

  async function protector(call: ProviderCall): Promise<SurfaceResponse> {
    const server = await requireServer(call);
    if (call.kind === "collection") {
      const p = await getProtector(ctx, server.id);
      return list(p ? [p.body] : []);
    }
    if (call.ref.names[1]!.toLowerCase() !== "current") throw sqlErrors.invalidProtectorName();
    if (call.kind === "action") {
      if (call.action?.toLowerCase() !== "revalidate") throw armErrors.pathNotFound(call.req.path);
      return revalidate(call, server);
    }
    switch (call.method) {
      case "GET": {
        const p = await getProtector(ctx, server.id);
        if (!p) throw armErrors.resourceNotFound(flavor.protectorType, "current", call.ref.resourceGroup);
        return ok(p.body satisfies ProtectorBody);
      }
      case "PUT":
        return setProtector(call, server);
      default:
        throw armErrors.methodNotAllowed(call.method, call.req.path);
    }
  }

  return { keys, protector, databaseProtector };
}

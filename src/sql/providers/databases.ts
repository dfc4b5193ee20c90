import { armErrors, armResponses, tracked, type ProviderCall } from "../../arm/index.js";
import { newGuid, type SurfaceResponse } from "../../platform/index.js";
import { sqlErrors } from "../domain/errors.js";
import { type SqlFlavor, isValidDatabaseName } from "../domain/flavor.js";
import { createDatabaseFile } from "../protector-ops.js";
import { type DatabaseBody, type ServerBody, type SqlContext, databasesTypeKey, listDatabases } from "../sql-context.js";

const { ok, okOrCreated, list, noContent } = armResponses;

/**
 * Databases (`servers/{s}/databases/{db}`), their TDE state, and the server's inaccessible-database list.
 * Each database is a real encrypted file named by its databaseId, so moves and renames of the ARM id never
 * touch the file.
 */
export function databaseHandlers(ctx: SqlContext, flavor: SqlFlavor, requireServer: (call: ProviderCall) => Promise<ServerBody>) {
  const notFound = (call: ProviderCall) => armErrors.resourceNotFound(flavor.databaseType, `${call.ref.names[0]}/${call.ref.names[1]}`, call.ref.resourceGroup);

  async function put(call: ProviderCall, server: ServerBody, patch: boolean): Promise<SurfaceResponse> {
    const name = call.ref.names[1]!;
    const id = `${server.id}/databases/${name}`;
    const existing = await ctx.arm.store.get<DatabaseBody>(id);
    if (!existing && patch) throw notFound(call);
    if (existing?.body.properties.status === "Inaccessible") throw sqlErrors.databaseInaccessible(existing.name, server.name);
    if (!existing && (!isValidDatabaseName(name) || name.toLowerCase() === "master")) throw sqlErrors.invalidDatabaseName(name);
    const body = tracked.requireObjectBody(call.body);
    const props = (tracked.isObject(body.properties) ? body.properties : {}) as Record<string, unknown>;
    const createMode = typeof props.createMode === "string" ? props.createMode : "Default";
    const location = existing?.body.location ?? (body.location === undefined ? server.location : tracked.normalizeLocation(body.location));
    const tags = tracked.readTags(body.tags) ?? existing?.body.tags;
    const db: DatabaseBody = existing
      ? { ...existing.body, ...(tags ? { tags } : {}), ...(tracked.isObject(body.sku) && !patch ? { sku: body.sku } : {}) }
      : {
          id,
          name,
          type: flavor.databaseType,
          location,
          ...(flavor.databaseKind ? { kind: flavor.databaseKind } : {}),
          ...(flavor.parentType === "servers" ? { sku: tracked.isObject(body.sku) ? body.sku : flavor.defaultDatabaseSku } : {}),
          ...(tags ? { tags } : {}),
          properties: {
            collation: typeof props.collation === "string" ? props.collation : "SQL_Latin1_General_CP1_CI_AS",
            maxSizeBytes: typeof props.maxSizeBytes === "number" ? props.maxSizeBytes : 34359738368,
            status: "Online",
            databaseId: newGuid(),
            creationDate: new Date(ctx.clock.now()).toISOString(),
            currentServiceObjectiveName: "GP_Gen5_2",
            requestedServiceObjectiveName: "GP_Gen5_2",
            defaultSecondaryLocation: location,
            catalogCollation: "SQL_Latin1_General_CP1_CI_AS",
            zoneRedundant: false,
            licenseType: "LicenseIncluded",
            readScale: "Disabled",
            isInfraEncryptionEnabled: false,
            earliestRestoreDate: new Date(ctx.clock.now()).toISOString(),
          },
        };
    // Restores, copies and geo-secondaries are long-running operations of backup/ (issue 10).
    if (createMode.toLowerCase() !== "default" && !patch) {
      if (flavor.parentType !== "servers") throw armErrors.invalidParameter(`Create mode '${createMode}' is not supported for managed instance databases by this tdekv build; only 'Default' is.`, "createMode");
      return ctx.backup.createDatabase(call, server, db, createMode, props);
    }
    if (!existing) await createDatabaseFile(ctx, server, db);
    const isNew = await ctx.arm.store.put({ id: db.id, subscriptionId: call.subscription.id, resourceGroup: call.ref.resourceGroup, typeKey: databasesTypeKey(flavor), name: db.name, body: db });
    return okOrCreated(isNew, db);
  }

  async function databases(call: ProviderCall): Promise<SurfaceResponse> {
    const server = await requireServer(call);
    if (call.kind === "collection") {
      if (call.method !== "GET") throw armErrors.methodNotAllowed(call.method, call.req.path);
      const rows = await listDatabases(ctx, flavor, server, call.subscription.id);
      return list(await Promise.all(rows.map((r) => ctx.backup.decorate(r.body))));
    }
    if (call.kind === "action") throw armErrors.pathNotFound(call.req.path);
    const id = `${server.id}/databases/${call.ref.names[1]}`;
    switch (call.method) {
      case "PUT":
        return put(call, server, false);
      case "PATCH":
        return put(call, server, true);
      case "GET": {
        const r = await ctx.arm.store.get<DatabaseBody>(id);
        if (!r) throw notFound(call);
        // Live read-only properties: earliestRestoreDate, failoverGroupId, secondaryType.
        return ok(await ctx.backup.decorate(r.body));
      }
      case "DELETE": {
        const r = await ctx.arm.store.get<DatabaseBody>(id);
        if (!r) return noContent();
        // Deleting is the one operation an inaccessible database allows (seed "Introduction").
        await ctx.arm.deleteTree(r.id);
        return ok(undefined);
      }
      default:
        throw armErrors.methodNotAllowed(call.method, call.req.path);
    }
  }

  /** `databases/{db}/transparentDataEncryption/current`: always Enabled; every database here is encrypted. */
  async function transparentDataEncryption(call: ProviderCall): Promise<SurfaceResponse> {
    const server = await requireServer(call);
    const db = await ctx.arm.store.get<DatabaseBody>(`${server.id}/databases/${call.ref.names[1]}`);
    if (!db) throw notFound(call);
    const body = (state: string) => ({ id: `${db.id}/transparentDataEncryption/current`, name: "current", type: `${flavor.databaseType}/transparentDataEncryption`, properties: { state } });
    if (call.kind === "collection") return list([body("Enabled")]);
    if (call.ref.names[2]!.toLowerCase() !== "current") throw armErrors.invalidParameter("The transparent data encryption name must be 'current'.");
    if (call.method === "GET") return ok(body("Enabled"));
    if (call.method === "PUT") {
      if (db.body.properties.status === "Inaccessible") throw sqlErrors.databaseInaccessible(db.name, server.name);
      const state = String((call.body as { properties?: { state?: string } })?.properties?.state ?? "");
      if (state.toLowerCase() === "enabled") return ok(body("Enabled"));
      if (state.toLowerCase() === "disabled") {
        throw armErrors.invalidParameter("tdekv keeps every database encrypted: disabling transparent data encryption is not supported.", "state");
      }
      throw sqlErrors.invalidTdeState(state);
    }
    throw armErrors.methodNotAllowed(call.method, call.req.path);
  }

  async function inaccessible(call: ProviderCall): Promise<SurfaceResponse> {
    const server = await requireServer(call);
    if (call.method !== "GET") throw armErrors.methodNotAllowed(call.method, call.req.path);
    const rows = await listDatabases(ctx, flavor, server, call.subscription.id);
    return list(rows.filter((r) => r.body.properties.status === "Inaccessible").map((r) => r.body));
  }

  return { databases, transparentDataEncryption, inaccessible };
}

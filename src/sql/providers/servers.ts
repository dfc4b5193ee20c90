import { ArmError, armErrors, armResponses, tracked, type ProviderCall } from "../../arm/index.js";
import type { SurfaceResponse } from "../../platform/index.js";
import { newHexId } from "../../platform/index.js";
import { sqlErrors } from "../domain/errors.js";
import { type SqlFlavor, isValidServerName } from "../domain/flavor.js";
import { parseKeyUri } from "../domain/key-uri.js";
import { isComplexPassword, type Logins } from "../logins.js";
import { keyBody, protectorBody, registerKey, switchProtector } from "../protector-ops.js";
import { type ServerBody, type SqlContext, keysTypeKey, protectorTypeKey, serverTypeKey } from "../sql-context.js";
import { reconcileIdentity } from "./identity-rules.js";

const { ok, okOrCreated, list, noContent } = armResponses;

const passwordNotComplex = () =>
  new ArmError(400, "PasswordNotComplex", "Password validation failed. The password does not meet policy requirements because it is not complex enough.");
const loginRequired = () => new ArmError(400, "InvalidParameterValue", "Invalid value given for parameter Login. Specify a valid parameter value.");

/** Properties a caller may set; read-only ones in a PUT body (az sends some back) are ignored. */
const WRITABLE = ["administratorLogin", "version", "minimalTlsVersion", "publicNetworkAccess", "restrictOutboundNetworkAccess", "federatedClientId", "isIPv6Enabled", "licenseType", "vCores", "storageSizeInGB", "subnetId", "collation", "timezoneId", "proxyOverride"];

/** `Microsoft.Sql/servers` and `managedInstances` (one implementation, issue 4 §1 and §5). */
export function serverHandlers(ctx: SqlContext, flavor: SqlFlavor, logins: Logins) {
  async function findByName(name: string): Promise<boolean> {
    const rows = await ctx.db.selectFrom("resources").select("key").where("type_key", "=", serverTypeKey(flavor)).where("name", "=", name).execute();
    return rows.length > 0;
  }

  async function put(call: ProviderCall, patch: boolean): Promise<SurfaceResponse> {
    const name = call.ref.names[0]!;
    const existing = await ctx.arm.store.get<ServerBody>(call.id);
    if (patch && !existing) throw armErrors.resourceNotFound(flavor.fullType, name, call.ref.resourceGroup);
    if (!existing && !isValidServerName(name)) throw sqlErrors.invalidServerName(name);
    if (!existing && (await findByName(name))) throw sqlErrors.serverNameInUse(name);
    const body = tracked.requireObjectBody(call.body);
    const props = (tracked.isObject(body.properties) ? body.properties : {}) as Record<string, unknown>;
    const location = existing && (patch || body.location === undefined) ? existing.body.location : tracked.normalizeLocation(body.location);
    tracked.checkLocationUnchanged(existing?.body.location, location, name, call.ref.resourceGroup);
    const password = typeof props.administratorLoginPassword === "string" ? props.administratorLoginPassword : undefined;
    const login = typeof props.administratorLogin === "string" ? props.administratorLogin : existing?.body.properties.administratorLogin;
    if (!existing) {
      if (!login) throw loginRequired();
      if (!password) throw passwordNotComplex();
    }
    if (password !== undefined && !isComplexPassword(password)) throw passwordNotComplex();
    const id = existing?.id ?? call.id;
    const serverName = existing?.name ?? name;
    const { identity, primary } = await reconcileIdentity({
      arm: ctx.arm,
      directory: ctx.directory,
      serverId: id,
      serverName,
      tenantId: call.subscription.tenantId,
      requested: body.identity,
      existing: existing?.body.identity,
      primaryRequested: typeof props.primaryUserAssignedIdentityId === "string" ? props.primaryUserAssignedIdentityId : undefined,
      primaryExisting: existing?.body.properties.primaryUserAssignedIdentityId,
    });
    const properties: ServerBody["properties"] = { ...(existing?.body.properties ?? {}) };
    for (const k of WRITABLE) if (props[k] !== undefined) properties[k] = props[k];
    if (login) properties.administratorLogin = login;
    if (primary) properties.primaryUserAssignedIdentityId = primary;
    else delete properties.primaryUserAssignedIdentityId;
    if (!existing) {
      const zone = newHexId(6);
      Object.assign(properties, {
        version: properties.version ?? "12.0",
        state: "Ready",
        fullyQualifiedDomainName: flavor.fqdn(serverName, zone),
        minimalTlsVersion: properties.minimalTlsVersion ?? "1.2",
        publicNetworkAccess: properties.publicNetworkAccess ?? "Enabled",
        ...(flavor.parentType === "servers"
          ? { privateEndpointConnections: [], restrictOutboundNetworkAccess: properties.restrictOutboundNetworkAccess ?? "Disabled", externalGovernanceStatus: "Disabled" }
          : { dnsZone: zone, provisioningState: "Succeeded", licenseType: properties.licenseType ?? "LicenseIncluded", vCores: properties.vCores ?? 8, storageSizeInGB: properties.storageSizeInGB ?? 256 }),
      });
    }
    const tags = tracked.readTags(body.tags) ?? existing?.body.tags;
    const server: ServerBody = {
      ...(identity ? { identity } : {}),
      ...(flavor.parentType === "servers" ? { kind: "v12.0" } : { sku: (body.sku as Record<string, unknown>) ?? { name: "GP_Gen5", tier: "GeneralPurpose", family: "Gen5", capacity: 8 } }),
      properties,
      location,
      ...(tags ? { tags } : {}),
      id,
      name: serverName,
      type: flavor.fullType,
    };
    // keyId: a server created (or updated) straight onto a customer-managed key, through its primary
    // user-assigned identity (the only identity that can hold permissions before the server exists).
    const keyId = typeof props.keyId === "string" ? props.keyId : undefined;
    if (keyId && !existing) {
      if (!identity?.type.includes("UserAssigned")) throw sqlErrors.invalidIdentityTypeForKeyId();
      if (!primary) throw sqlErrors.primaryIdentityMissingForKeyId();
      if (!parseKeyUri(keyId)) throw sqlErrors.malformedVaultUri();
    }
    const isNew = await ctx.arm.store.put({ id, subscriptionId: call.subscription.id, resourceGroup: call.ref.resourceGroup, typeKey: serverTypeKey(flavor), name: serverName, body: server });
    if (password !== undefined) await logins.set(id, login!, password);
    else if (login && existing && login !== existing.body.properties.administratorLogin) await logins.setLogin(id, login);
    if (isNew) {
      const sm = keyBody(flavor, server, "ServiceManaged", undefined, undefined, new Date(ctx.clock.now()).toISOString());
      await ctx.arm.store.put({ id: sm.id, subscriptionId: call.subscription.id, resourceGroup: call.ref.resourceGroup, typeKey: keysTypeKey(flavor), name: sm.name, body: sm });
      const protector = protectorBody(flavor, server, undefined, false);
      await ctx.arm.store.put({ id: protector.id, subscriptionId: call.subscription.id, resourceGroup: call.ref.resourceGroup, typeKey: protectorTypeKey(flavor), name: "current", body: protector });
    }
    if (keyId) {
      try {
        const key = await registerKey(ctx, flavor, server, keyId);
        await switchProtector(ctx, flavor, server, key, false);
        server.properties.keyId = key.properties.uri;
        await ctx.arm.store.put({ id, subscriptionId: call.subscription.id, resourceGroup: call.ref.resourceGroup, typeKey: serverTypeKey(flavor), name: serverName, body: server });
      } catch (err) {
        if (isNew) await remove(id);
        throw err;
      }
    }
    return okOrCreated(isNew, server);
  }

  async function remove(id: string): Promise<void> {
    await ctx.arm.deleteTree(id);
  }

  return {
    async handle(call: ProviderCall): Promise<SurfaceResponse> {
      if (call.kind === "collection") {
        if (call.method !== "GET") throw armErrors.methodNotAllowed(call.method, call.req.path);
        const rows = await ctx.arm.store.listByType<ServerBody>({
          subscriptionId: call.subscription.id,
          typeKey: serverTypeKey(flavor),
          ...(call.ref.scope === "resourceGroup" ? { resourceGroup: call.ref.resourceGroup } : {}),
        });
        return list(rows.map((r) => r.body));
      }
      if (call.ref.scope !== "resourceGroup") throw armErrors.pathNotFound(call.req.path);
      switch (call.method) {
        case "PUT":
          return put(call, false);
        case "PATCH":
          return put(call, true);
        case "GET": {
          const r = await ctx.arm.store.get<ServerBody>(call.id);
          if (!r) throw armErrors.resourceNotFound(flavor.fullType, call.ref.names[0]!, call.ref.resourceGroup);
          return ok(r.body);
        }
        case "DELETE": {
          const r = await ctx.arm.store.get<ServerBody>(call.id);
          if (!r) return noContent();
          await remove(r.id);
          return ok(undefined);
        }
        default:
          throw armErrors.methodNotAllowed(call.method, call.req.path);
      }
    },
  };
}

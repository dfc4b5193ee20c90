import { type SurfaceRequest, type SurfaceResponse, header } from "../../platform/index.js";
import type { AccessClaims, Subscription, TokenService } from "../../identity/index.js";
import { ArmError, armErrors } from "../domain/errors.js";
import { parseArmPath, resourceGroupId, typeKey } from "../domain/resource-id.js";
import { authenticateArm } from "../auth.js";
import type { ArmServices, ProviderCall, ResourceProvider } from "../provider.js";
import { armErrorResponse, list, ok } from "./responses.js";
import { createResourceGroupRoutes } from "./resource-group-routes.js";
import { operationResponse } from "./operation-routes.js";

const BODY_METHODS = new Set(["PUT", "PATCH", "POST"]);

function parseJsonBody(req: SurfaceRequest): unknown {
  if (!BODY_METHODS.has(req.method) || req.body.length === 0) return undefined;
  const type = (header(req, "content-type") ?? "application/json").split(";")[0]!.trim().toLowerCase();
  if (type !== "application/json" && !type.endsWith("+json") && type !== "text/json") throw armErrors.unsupportedMediaType(type);
  try {
    return JSON.parse(req.body.toString("utf8"));
  } catch (err) {
    throw armErrors.invalidRequestContent(err instanceof Error ? err.message.slice(0, 200) : "invalid JSON");
  }
}

function subscriptionBody(s: Subscription) {
  return {
    id: `/subscriptions/${s.id}`,
    authorizationSource: "RoleBased",
    managedByTenants: [],
    subscriptionId: s.id,
    tenantId: s.tenantId,
    displayName: s.displayName,
    state: s.state,
    subscriptionPolicies: { locationPlacementId: "Public_2014-09-01", quotaId: "PayAsYouGo_2014-09-01", spendingLimit: "Off" },
  };
}

const LOCATIONS = ["eastus", "eastus2", "westus", "westus2", "centralus", "northeurope", "westeurope", "uksouth", "southeastasia", "australiaeast"];

/**
 * The ARM surface: authentication, subscription and tenant checks, the built-in Microsoft.Resources routes
 * (subscriptions, resource groups, resources, moves, operation polling) and dispatch to resource providers
 * by (namespace, type). Paths are case-insensitive and any api-version is accepted (issue 2 §5).
 */
export function createArmSurface(deps: { services: ArmServices; tokens: TokenService; audiences: () => string[]; providers: ResourceProvider[] }) {
  const { services } = deps;
  const providersByType = new Map<string, { provider: ResourceProvider; type: string }>();
  const namespaces = new Map<string, string>();
  for (const provider of deps.providers) {
    namespaces.set(provider.namespace.toLowerCase(), provider.namespace);
    for (const type of provider.types) providersByType.set(typeKey(provider.namespace, type.split("/")), { provider, type });
  }
  const resourceGroups = createResourceGroupRoutes(services);

  async function subscriptionFor(sub: string, caller: AccessClaims): Promise<Subscription> {
    const subscription = await services.directory.getSubscription(sub);
    if (!subscription) throw armErrors.subscriptionNotFound(sub);
    // A token is only good for subscriptions of its own tenant (seed: server moved to another tenant).
    if (subscription.tenantId !== caller.tid) throw armErrors.wrongTenant(caller.tid, subscription.tenantId);
    return subscription;
  }

  type Base = Omit<ProviderCall, "kind" | "type" | "ref" | "id" | "action" | "scopeId">;

  /**
   * `{resourceId}/providers/{ns}/{type}[/{name}]`: an extension resource (roleAssignments on a vault, say).
   * The resource it extends must exist; its stored id becomes the call's scopeId.
   */
  async function dispatchExtension(base: Base, scopeIn: { rg?: string }, parentTail: string[], extTail: string[]): Promise<SurfaceResponse> {
    const rg = scopeIn.rg === undefined ? undefined : await resourceGroups.require(base.subscription, scopeIn.rg);
    const prefix = rg ? resourceGroupId(base.subscription.id, rg) : `/subscriptions/${base.subscription.id}`;
    const parent = await services.store.get(`${prefix}/providers/${parentTail.join("/")}`);
    if (!parent) {
      const [ns, ...rest] = parentTail;
      throw armErrors.resourceNotFound(`${ns}/${rest.filter((_, i) => i % 2 === 0).join("/")}`, rest[rest.length - 1] ?? "", rg ?? "");
    }
    return dispatchProvider(base, rg ? { rg } : {}, extTail, parent.id);
  }

  /** Namespace and type are checked before the resource group, as ARM's gateway does. */
  async function dispatchProvider(base: Base, scopeIn: { rg?: string }, tail: string[], resourceScope?: string): Promise<SurfaceResponse> {
    const [nsRaw, ...typed] = tail;
    // A "providers" segment where a child type would be starts an extension resource under what precedes it.
    const ext = resourceScope === undefined ? typed.findIndex((s, i) => i >= 2 && i % 2 === 0 && s.toLowerCase() === "providers") : -1;
    if (ext > 0) return dispatchExtension(base, scopeIn, [nsRaw!, ...typed.slice(0, ext)], typed.slice(ext + 1));
    const namespace = namespaces.get((nsRaw ?? "").toLowerCase());
    if (!namespace) throw armErrors.invalidResourceNamespace(nsRaw ?? "");
    const types: string[] = [];
    const names: string[] = [];
    for (let i = 0; i < typed.length; i += 2) {
      types.push(typed[i]!);
      if (typed[i + 1] !== undefined) names.push(typed[i + 1]!);
    }
    let kind: ProviderCall["kind"] = types.length === names.length ? "instance" : "collection";
    let action: string | undefined;
    let match = providersByType.get(typeKey(namespace, types));
    if (!match && kind === "collection" && types.length > 1 && base.method === "POST") {
      // POST .../type/name/{action}: the last segment is an action, not a child type.
      action = types.pop();
      match = providersByType.get(typeKey(namespace, types));
      kind = "action";
    }
    if (match && resourceScope !== undefined && !match.provider.extension) match = undefined;
    if (!match) throw armErrors.invalidResourceType(types.join("/"), namespace, base.apiVersion);
    const scope = { rg: scopeIn.rg === undefined ? undefined : await resourceGroups.require(base.subscription, scopeIn.rg) };
    const canonicalTypes = match.type.split("/");
    const ref = { subscriptionId: base.subscription.id, resourceGroup: scope.rg ?? "", namespace, types: canonicalTypes, names, scope: scope.rg ? ("resourceGroup" as const) : ("subscription" as const) };
    const scopeId = resourceScope ?? (scope.rg ? resourceGroupId(ref.subscriptionId, scope.rg) : `/subscriptions/${ref.subscriptionId}`);
    let id = `${scopeId}/providers/${namespace}`;
    canonicalTypes.forEach((t, i) => {
      id += `/${t}`;
      if (names[i] !== undefined) id += `/${names[i]}`;
    });
    return match.provider.handle({ ...base, kind, type: match.type, ref, id, scopeId, ...(action ? { action } : {}) });
  }

  async function handleSubscription(req: SurfaceRequest, caller: AccessClaims, apiVersion: string, sub: string, rest: string[]): Promise<SurfaceResponse> {
    const subscription = await subscriptionFor(sub, caller);
    const body = parseJsonBody(req);
    const base = { req, method: req.method, apiVersion, caller, subscription, body };
    const r0 = rest[0]?.toLowerCase();
    if (rest.length === 0) {
      if (req.method !== "GET") throw armErrors.methodNotAllowed(req.method, req.path);
      return ok(subscriptionBody(subscription));
    }
    if (r0 === "locations" && rest.length === 1) {
      return list(LOCATIONS.map((name) => ({ id: `/subscriptions/${sub}/locations/${name}`, name, displayName: name, regionalDisplayName: name, type: "Region" })));
    }
    if (r0 === "operationresults" && rest.length === 2 && req.method === "GET") return operationResponse(services, rest[1]!, "location", subscription.id);
    if (r0 === "providers") {
      const tail = rest.slice(1);
      if (tail.length <= 2 && (tail.length < 2 || tail[1]!.toLowerCase() === "register")) return resourceGroups.providerRegistration(subscription, tail, [...namespaces.values()]);
      // Location-scoped operation polls: providers/{ns}/locations/{loc}/{kind}/{id}. Other location-scoped
      // types (Microsoft.KeyVault/locations/{loc}/deletedVaults/{name}) go to their provider.
      if (tail.length === 5 && tail[1]!.toLowerCase() === "locations" && req.method === "GET" && /operation/i.test(tail[3]!)) {
        const opKind = tail[3]!.toLowerCase();
        return operationResponse(services, tail[4]!, /asyncoperation|operationstatus/.test(opKind) ? "status" : "location", subscription.id);
      }
      return dispatchProvider(base, {}, tail);
    }
    if (r0 === "resources" && rest.length === 1) return resourceGroups.listResources(req, subscription);
    if (r0 === "resourcegroups") {
      if (rest.length <= 2) return resourceGroups.handle(base, rest[1]);
      const r2 = rest[2]!.toLowerCase();
      if (r2 === "providers") return dispatchProvider(base, { rg: rest[1]! }, rest.slice(3));
      const rg = await resourceGroups.require(subscription, rest[1]!);
      if (rest.length === 3 && r2 === "resources") return resourceGroups.listResources(req, subscription, rg);
      if (rest.length === 3 && (r2 === "moveresources" || r2 === "validatemoveresources") && req.method === "POST") {
        return resourceGroups.move(base, rg, r2 === "validatemoveresources");
      }
    }
    throw armErrors.pathNotFound(req.path);
  }

  return async function arm(req: SurfaceRequest): Promise<SurfaceResponse> {
    try {
      const parsed = parseArmPath(req.path);
      if (req.path.toLowerCase().replace(/\/+/g, "/") === "/metadata/endpoints") return ok(cloudMetadata(req.origin));
      if (!parsed || parsed.kind === "root") throw armErrors.pathNotFound(req.path);
      const apiVersion = req.query.get("api-version");
      if (!apiVersion) throw armErrors.missingApiVersion();
      const caller = await authenticateArm(req, deps.tokens, deps.audiences());
      if (parsed.kind === "subscriptions") {
        if (req.method !== "GET") throw armErrors.methodNotAllowed(req.method, req.path);
        return list((await services.directory.listSubscriptions(caller.tid)).map(subscriptionBody));
      }
      if (parsed.kind === "tenants") {
        const tenant = await services.directory.getTenant(caller.tid);
        return list(
          tenant
            ? [{ id: `/tenants/${tenant.id}`, tenantId: tenant.id, countryCode: "US", displayName: tenant.displayName, domains: [tenant.defaultDomain], tenantCategory: "Home", defaultDomain: tenant.defaultDomain, tenantType: "AAD" }]
            : [],
        );
      }
      return await handleSubscription(req, caller, apiVersion, parsed.sub, parsed.rest);
    } catch (err) {
      if (err instanceof ArmError) return armErrorResponse(err);
      throw err;
    }
  };
}

/** `GET /metadata/endpoints`, for clients that discover a cloud (az-cli-compat.md §3.1). */
function cloudMetadata(origin: string) {
  // Through the proxy ARM is management.azure.com and Entra is login.microsoftonline.com (a different host,
  // which the front door routes to the login surface); directly, one origin serves both.
  const loginEndpoint = origin === "https://management.azure.com" ? "https://login.microsoftonline.com" : origin;
  return {
    galleryEndpoint: `${origin}/`,
    graphEndpoint: "https://graph.windows.net/",
    portalEndpoint: `${origin}/portal/`,
    authentication: { loginEndpoint, audiences: ["https://management.core.windows.net/", "https://management.azure.com/"] },
    name: "tdekv",
    resourceManager: `${origin}/`,
    suffixes: { keyVaultDns: "vault.azure.net", sqlServerHostname: "database.windows.net" },
  };
}

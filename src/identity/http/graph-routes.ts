import { type SurfaceRequest, type SurfaceResponse, header } from "../../platform/index.js";
import type { Directory, Principal } from "../directory.js";
import type { TokenService } from "../token-service.js";
import { TokenRejected } from "../domain/errors.js";

const GRAPH_AUDIENCES = ["https://graph.microsoft.com", "https://graph.microsoft.com/", "00000003-0000-0000-c000-000000000000"];

/**
 * The sliver of Microsoft Graph that az needs to name principals: `az keyvault create` looks up the signed-in
 * service principal (`/me`, then `servicePrincipals?$filter=servicePrincipalNames/any(...)`), and
 * `az role assignment` resolves object ids (`directoryObjects/getByIds`). Read-only, tenant-scoped.
 */
export function createGraphRoutes(deps: { directory: Directory; tokens: TokenService }) {
  const err = (status: number, code: string, message: string): SurfaceResponse => ({ status, body: { error: { code, message, innerError: { date: new Date().toISOString() } } } });

  const graphObject = (p: Principal) =>
    p.kind === "User" ? { "@odata.type": "#microsoft.graph.user", id: p.objectId, displayName: p.displayName, userPrincipalName: p.userPrincipalName, accountEnabled: true } : servicePrincipal(p);
  const servicePrincipal = (p: Principal) => ({
    "@odata.type": "#microsoft.graph.servicePrincipal",
    id: p.objectId,
    appId: p.appId,
    displayName: p.displayName,
    servicePrincipalType: p.kind === "ServicePrincipal" ? "Application" : "ManagedIdentity",
    servicePrincipalNames: p.resourceId ? [p.appId, p.resourceId] : [p.appId],
    appOwnerOrganizationId: p.tenantId,
    accountEnabled: true,
  });

  return async function graph(req: SurfaceRequest): Promise<SurfaceResponse> {
    const auth = header(req, "authorization");
    const m = auth ? /^Bearer\s+(\S+)$/i.exec(auth) : null;
    if (!m) return err(401, "InvalidAuthenticationToken", "Access token is empty.");
    let tid: string;
    try {
      tid = (await deps.tokens.verify(m[1]!, GRAPH_AUDIENCES)).tid;
    } catch (e) {
      if (e instanceof TokenRejected) return err(401, "InvalidAuthenticationToken", e.reason === "expired" ? "Lifetime validation failed, the token is expired." : "Access token validation failure. Invalid audience.");
      throw e;
    }
    const path = req.path.replace(/\/+$/, "");
    const inTenant = (p: Principal | undefined) => (p && p.tenantId === tid ? p : undefined);
    if (req.method === "GET" && /^\/v1\.0\/me$/i.test(path)) return err(400, "BadRequest", "/me request is only valid with delegated authentication flow.");
    if (req.method === "GET" && /^\/v1\.0\/servicePrincipals$/i.test(path)) {
      const filter = req.query.get("$filter") ?? "";
      const byName = /servicePrincipalNames\/any\(\w+:\w+ eq '([^']+)'\)/i.exec(filter);
      const byApp = /appId eq '([^']+)'/i.exec(filter);
      const value = byName ?? byApp;
      if (!value) return err(400, "Request_UnsupportedQuery", "tdekv's Graph supports $filter by servicePrincipalNames or appId only.");
      const p = inTenant(await deps.directory.findPrincipal({ appId: value[1]! }));
      return { status: 200, body: { "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#servicePrincipals", value: p ? [graphObject(p)] : [] } };
    }
    const one = /^\/v1\.0\/(?:servicePrincipals|directoryObjects)\/([0-9a-f-]{36})$/i.exec(path);
    if (req.method === "GET" && one) {
      const p = inTenant(await deps.directory.findPrincipal({ objectId: one[1]! }));
      return p ? { status: 200, body: graphObject(p) } : err(404, "Request_ResourceNotFound", `Resource '${one[1]}' does not exist or one of its queried reference-property objects are not present.`);
    }
    // Users (issue 9): `az ad user show --id admin@tdekv.local` reads /v1.0/users/{upn or object id}.
    if (req.method === "GET" && /^\/v1\.0\/users$/i.test(path)) {
      const users = await deps.directory.listUsers(tid, tid);
      return { status: 200, body: { "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users", value: users.map(graphObject) } };
    }
    const user = /^\/v1\.0\/users\/([^/]+)$/i.exec(path);
    if (req.method === "GET" && user) {
      const key = decodeURIComponent(user[1]!).toLowerCase();
      const u = (await deps.directory.listUsers(tid, tid)).find((x) => x.objectId === key || x.userPrincipalName === key);
      return u ? { status: 200, body: graphObject(u) } : err(404, "Request_ResourceNotFound", `Resource '${user[1]}' does not exist or one of its queried reference-property objects are not present.`);
    }
    if (req.method === "POST" && /^\/v1\.0\/directoryObjects\/getByIds$/i.test(path)) {
      let ids: unknown;
      try {
        ids = (JSON.parse(req.body.toString("utf8") || "{}") as { ids?: unknown }).ids;
      } catch {
        return err(400, "BadRequest", "Invalid JSON body.");
      }
      const value = [];
      for (const id of Array.isArray(ids) ? ids : []) {
        const p = typeof id === "string" ? inTenant(await deps.directory.findPrincipal({ objectId: id })) : undefined;
        if (p) value.push(graphObject(p));
      }
      return { status: 200, body: { value } };
    }
    return err(404, "Request_ResourceNotFound", `tdekv does not serve the Microsoft Graph path '${path}'.`);
  };
}

import { armListAll, whoAmI } from "../../lib/api";
import type { ArmResource } from "../../lib/types";
import { MSI_API, SQL_API, withApi } from "./vault-api";

/**
 * The "Principal" step's directory. tdekv's Graph answers lookups by id only (src/identity/http/graph-routes.ts)
 * and wants a Graph token, so the search runs over what the public ARM API shows the signed-in user: every
 * user-assigned identity (properties.principalId), every server's and managed instance's system identity
 * (identity.principalId), and the user. An object ID typed in is accepted as is, as in Azure.
 */
export interface Principal {
  objectId: string;
  displayName: string;
  /** "User", "Managed identity (user-assigned)", "SQL server (system-assigned)", ... */
  kind: string;
  resourceId?: string;
}

export async function listSubscriptions(): Promise<string[]> {
  const subs = await armListAll<{ subscriptionId: string }>("/subscriptions?api-version=2020-01-01");
  return subs.map((s) => s.subscriptionId);
}

export async function listPrincipals(): Promise<Principal[]> {
  const me = whoAmI();
  const out: Principal[] = [{ objectId: me.oid, displayName: `${me.name} (${me.upn})`, kind: "User" }];
  for (const sub of await listSubscriptions()) {
    const [uamis, servers, instances] = await Promise.all([
      armListAll<ArmResource>(withApi(`/subscriptions/${sub}/providers/Microsoft.ManagedIdentity/userAssignedIdentities`, MSI_API)),
      armListAll<ArmResource>(withApi(`/subscriptions/${sub}/providers/Microsoft.Sql/servers`, SQL_API)),
      armListAll<ArmResource>(withApi(`/subscriptions/${sub}/providers/Microsoft.Sql/managedInstances`, SQL_API)),
    ]);
    for (const u of uamis) if (u.properties?.principalId) out.push({ objectId: u.properties.principalId, displayName: u.name, kind: "Managed identity (user-assigned)", resourceId: u.id });
    for (const [list, kind] of [
      [servers, "SQL server"],
      [instances, "SQL managed instance"],
    ] as const) {
      for (const s of list) if (s.identity?.principalId) out.push({ objectId: s.identity.principalId, displayName: s.name, kind: `${kind} (system-assigned)`, resourceId: s.id });
    }
  }
  return out;
}

export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

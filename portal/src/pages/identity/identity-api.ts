import { armListAll } from "../../lib/api";
import type { ArmResource } from "../../lib/types";
import { listSubscriptions } from "../vault/principals";
import { MSI_API, SQL_API, withApi } from "../vault/vault-api";

/** Every user-assigned identity the signed-in user can see, across subscriptions (az identity list). */
export async function listIdentities(): Promise<ArmResource[]> {
  const out: ArmResource[] = [];
  for (const sub of await listSubscriptions()) out.push(...(await armListAll<ArmResource>(withApi(`/subscriptions/${sub}/providers/Microsoft.ManagedIdentity/userAssignedIdentities`, MSI_API))));
  return out;
}

/** Servers and managed instances, to find which reference an identity (identity.userAssignedIdentities). */
export async function listSqlServers(): Promise<ArmResource[]> {
  const out: ArmResource[] = [];
  for (const sub of await listSubscriptions()) {
    for (const t of ["servers", "managedInstances"]) out.push(...(await armListAll<ArmResource>(withApi(`/subscriptions/${sub}/providers/Microsoft.Sql/${t}`, SQL_API))));
  }
  return out;
}

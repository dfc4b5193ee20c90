import { arm, armLro } from "../../../lib/api";
import { CRYPTO_SERVICE_ENCRYPTION_USER } from "../../../../../src/doctor/seed";
import type { FixAction } from "../../../../../src/doctor/types";
import { KV_API, SQL_API, nameOf, resourceGroupOf } from "../sql-api";

/**
 * "Apply fix" (portal.md §4.2): the doctor's safe mitigations, through the same public ARM calls that
 * `tdekv doctor --fix` makes (src/doctor/doctor.ts applyFixes, which imports node:crypto and so cannot be
 * bundled; this is its browser twin, kept call-for-call identical). Returns what was done and the az
 * command that does the same, so the page can say "it calls the same API".
 */


export function describeFix(f: FixAction): string {
  switch (f.kind) {
    case "assign-identity":
      return `Assign a system-assigned managed identity to ${nameOf(f.serverId)}`;
    case "grant-key-permissions":
      return f.model === "rbac"
        ? `Assign '${CRYPTO_SERVICE_ENCRYPTION_USER.name}' on ${nameOf(f.vaultId)} to the server's identity`
        : `Add an access policy on ${nameOf(f.vaultId)}: key permissions Get, Wrap Key, Unwrap Key for the server's identity`;
    case "allow-trusted-services":
      return `Allow trusted Microsoft services to bypass this firewall (${nameOf(f.vaultId)})`;
  }
}

export async function applyFix(f: FixAction): Promise<{ done: string; az: string }> {
  switch (f.kind) {
    case "assign-identity": {
      const s = await arm<any>("GET", `${f.serverId}?api-version=${SQL_API}`);
      const type = String(s.identity?.type ?? "None").replace(/\s+/g, "");
      const user = /userassigned/i.test(type);
      const identity = user ? { type: "SystemAssigned,UserAssigned", userAssignedIdentities: Object.fromEntries(Object.keys(s.identity?.userAssignedIdentities ?? {}).map((k) => [k, {}])) } : { type: "SystemAssigned" };
      const updated = await armLro<any>("PATCH", `${f.serverId}?api-version=${SQL_API}`, { identity });
      const mi = /\/managedinstances\//i.test(f.serverId);
      return {
        done: `Assigned a system-assigned identity to ${s.name}: principal ${updated?.identity?.principalId ?? "?"}`,
        az: mi ? `az sql mi update -g ${resourceGroupOf(f.serverId)} -n ${s.name} --assign-identity` : `az sql server update -g ${resourceGroupOf(f.serverId)} -n ${s.name} --assign_identity`,
      };
    }
    case "grant-key-permissions": {
      let objectId = f.objectId;
      if (!objectId) objectId = (await arm<any>("GET", `${f.serverId}?api-version=${SQL_API}`)).identity?.principalId;
      if (!objectId) throw new Error(`The server ${nameOf(f.serverId)} still has no identity to grant permissions to: assign one first.`);
      const vaultName = nameOf(f.vaultId);
      if (f.model === "accessPolicy") {
        await armLro("PUT", `${f.vaultId}/accessPolicies/add?api-version=${KV_API}`, {
          properties: { accessPolicies: [{ tenantId: f.tenantId, objectId, permissions: { keys: ["get", "wrapKey", "unwrapKey"] } }] },
        });
        return { done: `Granted ${objectId} get, wrapKey and unwrapKey on ${vaultName}`, az: `az keyvault set-policy -n ${vaultName} --object-id ${objectId} --key-permissions get wrapKey unwrapKey` };
      }
      const sub = f.vaultId.split("/")[2];
      await armLro("PUT", `${f.vaultId}/providers/Microsoft.Authorization/roleAssignments/${crypto.randomUUID()}?api-version=2022-04-01`, {
        properties: { roleDefinitionId: `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/${CRYPTO_SERVICE_ENCRYPTION_USER.guid}`, principalId: objectId, principalType: "ServicePrincipal" },
      });
      return {
        done: `Assigned '${CRYPTO_SERVICE_ENCRYPTION_USER.name}' to ${objectId} on ${vaultName}`,
        az: `az role assignment create --role "${CRYPTO_SERVICE_ENCRYPTION_USER.name}" --assignee-object-id ${objectId} --scope ${f.vaultId}`,
      };
    }
    case "allow-trusted-services": {
      const v = await arm<any>("GET", `${f.vaultId}?api-version=${KV_API}`);
      const acls = v.properties?.networkAcls ?? { defaultAction: "Allow", ipRules: [], virtualNetworkRules: [] };
      await armLro("PATCH", `${f.vaultId}?api-version=${KV_API}`, { properties: { networkAcls: { ...acls, bypass: "AzureServices" } } });
      return { done: `Allowed trusted Microsoft services through the firewall of ${v.name}`, az: `az keyvault update -n ${v.name} -g ${resourceGroupOf(f.vaultId)} --bypass AzureServices` };
    }
  }
}

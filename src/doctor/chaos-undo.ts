import { randomUUID } from "node:crypto";
import type { AzureRest } from "./client.js";
import { API, RestError } from "./rest-types.js";
import { rgOf } from "./facts.js";
import type { ChaosJournal, Grant, JournalEntry, UndoStep } from "./chaos-journal.js";

/**
 * `tdekv chaos --undo`: replays the journal newest first, restoring exactly what each run replaced. It copes
 * with a configuration the user fixed meanwhile (an identity already back, a role assignment that exists).
 */

const enc = encodeURIComponent;
const sameId = (a: string | undefined, b: string | undefined) => !!a && !!b && a.toLowerCase() === b.toLowerCase();

/** A role assignment; one that already exists (the same role, principal and scope, e.g. after doctor --fix) is fine. */
async function assignRole(c: AzureRest, id: string, roleDefinitionId: string, principalId: string): Promise<void> {
  try {
    await c.armOk("PUT", `${id}?api-version=${API.authorization}`, { properties: { roleDefinitionId, principalId, principalType: "ServicePrincipal" } });
  } catch (err) {
    if (!(err instanceof RestError && err.code === "RoleAssignmentExists")) throw err;
  }
}

/** Gives a (new) principal of the server the grants its old one had. */
async function regrant(c: AzureRest, principalId: string, grants: Grant[], done: string[]): Promise<void> {
  for (const g of grants) {
    const vaultName = g.vaultId.split("/").pop();
    if (g.model === "accessPolicy") {
      await c.armOk("PUT", `${g.vaultId}/accessPolicies/add?api-version=${API.keyVault}`, { properties: { accessPolicies: [{ tenantId: g.tenantId, objectId: principalId, permissions: g.permissions ?? { keys: ["get", "wrapKey", "unwrapKey"] } }] } });
      done.push(`granted ${principalId} its predecessor's access policy on ${vaultName}`);
    } else {
      for (const r of g.roles ?? []) {
        await assignRole(c, `${r.scope}/providers/Microsoft.Authorization/roleAssignments/${randomUUID()}`, r.roleDefinitionId, principalId);
      }
      done.push(`assigned ${principalId} its predecessor's roles on ${vaultName}`);
    }
  }
}

async function undoStep(c: AzureRest, u: UndoStep, done: string[]): Promise<void> {
  switch (u.kind) {
    case "clear-fault":
      await c.tdekv("DELETE", `/_tdekv/chaos/faults/${enc(u.vault)}`);
      done.push(`cleared the injected fault on ${u.vault}`);
      return;
    case "recover-vault": {
      const id = `/subscriptions/${u.subscriptionId}/resourceGroups/${u.resourceGroup}/providers/Microsoft.KeyVault/vaults/${u.name}`;
      if (await c.armFind(`${id}?api-version=${API.keyVault}`)) {
        done.push(`vault ${u.name} is already back`);
        return;
      }
      await c.armOk("PUT", `${id}?api-version=${API.keyVault}`, { location: u.location, properties: { tenantId: u.tenantId, sku: { family: "A", name: "standard" }, createMode: "recover" } });
      done.push(`recovered vault ${u.name}`);
      return;
    }
    case "patch-vault":
      await c.armOk("PATCH", `${u.vaultId}?api-version=${API.keyVault}`, { properties: u.properties });
      done.push(`restored the network rules of ${u.vaultId.split("/").pop()}`);
      return;
    case "recover-key": {
      const res = await c.vault(u.vault, "POST", `/deletedkeys/${enc(u.key)}/recover?api-version=${API.keyVaultData}`);
      if (res.status === 404 && (await c.vault(u.vault, "GET", `/keys/${enc(u.key)}/?api-version=${API.keyVaultData}`)).status === 200) {
        done.push(`key ${u.key} is already back`);
        return;
      }
      if (res.status >= 300) throw new RestError(res.status, res.body?.error?.code ?? "Error", res.body?.error?.message ?? `HTTP ${res.status}`);
      done.push(`recovered key ${u.key} in ${u.vault}`);
      return;
    }
    case "key-attributes":
      await c.vaultOk(u.vault, "PATCH", `/keys/${enc(u.key)}/${enc(u.version ?? "")}?api-version=${API.keyVaultData}`, { attributes: u.attributes });
      done.push(`restored the attributes of key ${u.key} (${Object.keys(u.attributes).join(", ")})`);
      return;
    case "move-server-back": {
      const rg = rgOf(u.serverId);
      const sub = u.serverId.split("/")[2];
      if (!(await c.armFind(`${u.serverId}?api-version=${API.sql}`))) {
        done.push(`server ${u.serverId.split("/").pop()} is no longer in subscription ${sub}: not moved`);
        return;
      }
      await c.armOk("POST", `/subscriptions/${sub}/resourceGroups/${enc(rg)}/moveResources?api-version=${API.resources}`, { resources: [u.serverId], targetResourceGroup: u.targetResourceGroupId });
      done.push(`moved server ${u.serverId.split("/").pop()} back to ${u.targetResourceGroupId}`);
      return;
    }
    case "move-subscription-back":
      await c.tdekv("PUT", `/_tdekv/subscriptions/${u.subscriptionId}/tenant`, { tenantId: u.tenantId });
      for (const v of u.vaults) {
        const cur = await c.armFind(`${v.id}?api-version=${API.keyVault}`);
        if (cur && !sameId(cur.properties?.tenantId, v.tenantId)) await c.armOk("PATCH", `${v.id}?api-version=${API.keyVault}`, { properties: { tenantId: v.tenantId } });
      }
      done.push(`transferred subscription ${u.subscriptionId} back to tenant ${u.tenantId}`);
      return;
    case "restore-identity": {
      let principalId: string | undefined;
      if (u.userAssigned) {
        const exists = await c.armFind(`${u.userAssigned.id}?api-version=${API.msi}`);
        const uami = exists ?? (await c.armOk("PUT", `${u.userAssigned.id}?api-version=${API.msi}`, { location: u.userAssigned.location, ...(u.userAssigned.tags ? { tags: u.userAssigned.tags } : {}) }));
        principalId = uami?.properties?.principalId;
        if (!exists) done.push(`re-created user-assigned identity ${u.userAssigned.id.split("/").pop()} (principal ${principalId})`);
      } else {
        const s = await c.armOk("GET", `${u.serverId}?api-version=${API.sql}`);
        const type = String(s.identity?.type ?? "None");
        const g = await c.graph(`/v1.0/servicePrincipals/${enc(s.identity?.principalId ?? "00000000-0000-0000-0000-000000000000")}`);
        const live = /systemassigned/i.test(type) && g.status === 200 && ((g.body?.servicePrincipalNames ?? []) as string[]).some((n) => sameId(n, u.serverId));
        if (live) {
          principalId = s.identity.principalId;
        } else {
          const user = /userassigned/i.test(type);
          const identity = user ? { type: "SystemAssigned,UserAssigned", userAssignedIdentities: Object.fromEntries(Object.keys(s.identity?.userAssignedIdentities ?? {}).map((k) => [k, {}])) } : { type: "SystemAssigned" };
          const updated = await c.armOk("PATCH", `${u.serverId}?api-version=${API.sql}`, { identity });
          principalId = updated?.identity?.principalId;
          done.push(`assigned ${s.name} a new system-assigned identity (principal ${principalId})`);
        }
      }
      if (principalId) await regrant(c, principalId, u.grants, done);
      return;
    }
    case "replace-policy":
      if (u.permissions) await c.armOk("PUT", `${u.vaultId}/accessPolicies/replace?api-version=${API.keyVault}`, { properties: { accessPolicies: [{ tenantId: u.tenantId, objectId: u.objectId, permissions: u.permissions }] } });
      done.push(`restored the access policy of ${u.objectId} on ${u.vaultId.split("/").pop()}`);
      return;
    case "restore-roles":
      for (const id of u.remove) await c.arm("DELETE", `${id}?api-version=${API.authorization}`);
      for (const a of u.add) {
        await assignRole(c, `${a.scope}/providers/Microsoft.Authorization/roleAssignments/${a.name}`, a.roleDefinitionId, u.principalId);
      }
      done.push(`restored the role assignments of ${u.principalId}`);
      return;
  }
}

/** Reverses the journal, newest first. Stops at the first failure and keeps what is left for a retry. */
export async function undoChaos(c: AzureRest, journal: ChaosJournal): Promise<{ undone: { cause: string; did: string[] }[]; left: JournalEntry[] }> {
  const undone: { cause: string; did: string[] }[] = [];
  const entries = journal.read();
  for (const e of [...entries].reverse()) {
    const did: string[] = [];
    for (const u of e.undo) await undoStep(c, u, did);
    journal.remove(e.id);
    undone.push({ cause: e.cause, did });
  }
  return { undone, left: journal.read() };
}

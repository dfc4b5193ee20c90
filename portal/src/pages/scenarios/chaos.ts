import { arm, armListAll, armLro, tdekv, vault as kv } from "../../lib/api";
import { serverNow } from "../../lib/live";
import type { ArmResource } from "../../lib/types";
import { SEED_ERRORS } from "../../../../src/doctor/seed";
import { KV_API, KV_DATA_API, MSI_API, parseKid, sameId, SQL_API, type AccessPolicy, type NetworkAcls, type Vault, withApi } from "../vault/vault-api";

/**
 * The seed's causes as one-click faults, made with the same public calls as `tdekv chaos` (src/doctor/chaos.ts,
 * chaos-undo.ts), with the signed-in user's tokens: ARM for the vault, its policies and firewall and the server's
 * identity, the vault's data plane for the key (so the user needs key permissions on the vault, as in Azure),
 * and tdekv's fault injection for the one cause no Azure API makes, a network error. Each run keeps what it
 * replaced, in this tab's memory, so "Undo" restores it.
 */
export const SQL_KEYS_API = "2020-11-01-preview";
const enc = encodeURIComponent;

/** The causes offered here, each with the seed's error verbatim from the doctor's own table (src/doctor/seed.ts). */
const CAUSE_LABELS = [
  ["permissions-revoked", "Revoke the access policy"],
  ["key-disabled", "Disable the key"],
  ["key-expired", "Expire the key"],
  ["key-deleted", "Delete the key"],
  ["vault-deleted", "Delete the key vault"],
  ["firewall-no-trusted-services", "Firewall without trusted services"],
  ["identity-deleted", "Delete the identity"],
  ["network-error", "Network error"],
] as const;
export const CAUSES = CAUSE_LABELS.map(([id, label]) => ({ id, label, ...SEED_ERRORS[id] }));
export type CauseId = (typeof CAUSE_LABELS)[number][0];

export interface CmkServer {
  server: ArmResource;
  managed: boolean;
  kid: string;
}

type Undo =
  | { kind: "clear-fault"; vault: string }
  | { kind: "recover-vault"; id: string; location: string; tenantId: string }
  | { kind: "patch-vault"; id: string; properties: Record<string, unknown> }
  | { kind: "recover-key"; vaultUri: string; key: string }
  | { kind: "key-attributes"; vaultUri: string; key: string; version: string; attributes: Record<string, unknown> }
  | { kind: "replace-policy"; vaultId: string; entry: AccessPolicy }
  | { kind: "restore-identity"; serverId: string; userAssigned?: { id: string; location: string; tags?: Record<string, string> }; grants: { vaultId: string; tenantId: string; permissions: AccessPolicy["permissions"] }[] };

export interface ChaosRun {
  id: number;
  cause: CauseId;
  target: string;
  summary: string;
  az: string[];
  at: number;
  undo: Undo[];
}

/** Servers and managed instances whose TDE protector is a Key Vault key (what `tdekv chaos` can break). */
export async function cmkServers(): Promise<CmkServer[]> {
  const out: CmkServer[] = [];
  const subs = await armListAll<{ subscriptionId: string }>("/subscriptions?api-version=2020-01-01");
  for (const { subscriptionId } of subs) {
    for (const [type, managed] of [["servers", false], ["managedInstances", true]] as const) {
      for (const s of await armListAll<ArmResource>(withApi(`/subscriptions/${subscriptionId}/providers/Microsoft.Sql/${type}`, SQL_API))) {
        const p = await arm<{ properties?: { serverKeyType?: string; uri?: string } }>("GET", withApi(`${s.id}/encryptionProtector/current`, SQL_KEYS_API)).catch(() => undefined);
        if (p?.properties?.serverKeyType === "AzureKeyVault" && p.properties.uri) out.push({ server: s, managed, kid: p.properties.uri });
      }
    }
  }
  return out;
}

async function findVault(name: string): Promise<Vault> {
  const subs = await armListAll<{ subscriptionId: string }>("/subscriptions?api-version=2020-01-01");
  for (const { subscriptionId } of subs) {
    const v = (await armListAll<Vault>(withApi(`/subscriptions/${subscriptionId}/providers/Microsoft.KeyVault/vaults`, KV_API))).find((x) => x.name.toLowerCase() === name.toLowerCase());
    if (v) return v;
  }
  throw new Error(`The key vault ${name} is not active (deleted?): undo the earlier fault first.`);
}

/** The principal Key Vault sees for the server: its primary user-assigned identity's, else its system identity's. */
async function principalOf(serverId: string): Promise<{ principalId?: string; userAssigned?: string; server: ArmResource }> {
  const server = await arm<ArmResource>("GET", withApi(serverId, SQL_API));
  const primary = server.properties?.primaryUserAssignedIdentityId as string | undefined;
  if (primary && /userassigned/i.test(server.identity?.type ?? "")) {
    const uami = await arm<ArmResource>("GET", withApi(primary, MSI_API)).catch(() => undefined);
    return { principalId: uami?.properties?.principalId, userAssigned: primary, server };
  }
  return { principalId: server.identity?.principalId, server };
}

let seq = 0;

/** Runs one cause against one server and returns what it did (and how to undo it). */
export async function runCause(cause: CauseId, t: CmkServer): Promise<ChaosRun> {
  const k = parseKid(t.kid)!;
  const rg = (id: string) => id.split("/")[4];
  const az: string[] = [];
  const undo: Undo[] = [];
  let summary = "";
  const v = await findVault(k.vault);
  const uri = v.properties.vaultUri;
  const keyPath = (tail = "") => withApi(`/keys/${enc(k.name)}/${enc(k.version ?? "")}${tail}`, KV_DATA_API);
  switch (cause) {
    case "network-error":
      await tdekv("PUT", `/_tdekv/chaos/faults/${enc(v.name)}`, { kind: "unreachable" });
      summary = `vault ${v.name} is unreachable from the SQL service (injected: no Azure operation causes a network error)`;
      az.push("# none: a network failure between Azure SQL and Key Vault has no az command", `tdekv chaos vault-unreachable ${v.name}`);
      undo.push({ kind: "clear-fault", vault: v.name });
      break;
    case "vault-deleted":
      await arm("DELETE", withApi(v.id, KV_API));
      summary = `deleted key vault ${v.name} (soft delete: recoverable)`;
      az.push(`az keyvault delete -n ${v.name} -g ${rg(v.id)}`);
      undo.push({ kind: "recover-vault", id: v.id, location: v.location ?? "eastus", tenantId: v.properties.tenantId });
      break;
    case "firewall-no-trusted-services": {
      const acls: NetworkAcls = v.properties.networkAcls ?? { defaultAction: "Allow", bypass: "AzureServices", ipRules: [] };
      await arm("PATCH", withApi(v.id, KV_API), { properties: { networkAcls: { ...acls, defaultAction: "Deny", bypass: "None" } } });
      summary = `closed the firewall of ${v.name} (defaultAction Deny) without the trusted-services exception (bypass None)`;
      az.push(`az keyvault update -n ${v.name} -g ${rg(v.id)} --default-action Deny --bypass None`);
      undo.push({ kind: "patch-vault", id: v.id, properties: { networkAcls: acls } });
      break;
    }
    case "key-deleted":
      await kv(uri, "DELETE", withApi(`/keys/${enc(k.name)}`, KV_DATA_API));
      summary = `deleted key ${k.name} from ${v.name} (soft delete: recoverable)`;
      az.push(`az keyvault key delete --vault-name ${v.name} -n ${k.name}`);
      undo.push({ kind: "recover-key", vaultUri: uri, key: k.name });
      break;
    case "key-disabled":
    case "key-expired": {
      const cur = await kv<{ attributes: { enabled?: boolean; exp?: number; nbf?: number } }>(uri, "GET", keyPath());
      const a = cur.attributes;
      if (cause === "key-disabled") {
        await kv(uri, "PATCH", keyPath(), { attributes: { enabled: false } });
        summary = `disabled key ${k.name}${k.version ? ` version ${k.version}` : ""} in ${v.name}`;
        az.push(`az keyvault key set-attributes --id ${t.kid} --enabled false`);
        undo.push({ kind: "key-attributes", vaultUri: uri, key: k.name, version: k.version ?? "", attributes: { enabled: a.enabled !== false } });
      } else {
        const now = Date.parse((await tdekv<{ now: string }>("GET", "/_tdekv/clock")).now);
        const exp = Math.floor(now / 1000) - 60;
        const attrs: Record<string, unknown> = { exp };
        if (typeof a.nbf === "number" && a.nbf > exp) attrs.nbf = exp - 60;
        await kv(uri, "PATCH", keyPath(), { attributes: attrs });
        const when = new Date(exp * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
        summary = `made key ${k.name}${k.version ? ` version ${k.version}` : ""} in ${v.name} expire at ${when} (tdekv time)`;
        az.push(`az keyvault key set-attributes --id ${t.kid} --expires ${when}`);
        undo.push({ kind: "key-attributes", vaultUri: uri, key: k.name, version: k.version ?? "", attributes: { exp: typeof a.exp === "number" ? a.exp : null, ...(attrs.nbf !== undefined ? { nbf: a.nbf } : {}) } });
      }
      break;
    }
    case "permissions-revoked": {
      const { principalId } = await principalOf(t.server.id);
      if (v.properties.enableRbacAuthorization) throw new Error(`${v.name} uses Azure RBAC: remove the identity's role assignment instead (tdekv chaos permissions-revoked does).`);
      const entry = (v.properties.accessPolicies ?? []).find((p) => sameId(p.objectId, principalId));
      if (!principalId || !entry) throw new Error(`The identity of ${t.server.name} has no access policy on ${v.name}: nothing to revoke.`);
      await arm("PUT", withApi(`${v.id}/accessPolicies/remove`, KV_API), { properties: { accessPolicies: [{ tenantId: entry.tenantId, objectId: principalId, permissions: {} }] } });
      summary = `removed the access policy of ${t.server.name}'s identity ${principalId} from ${v.name}`;
      az.push(`az keyvault delete-policy -n ${v.name} -g ${rg(v.id)} --object-id ${principalId}`);
      undo.push({ kind: "replace-policy", vaultId: v.id, entry });
      break;
    }
    case "identity-deleted": {
      const { principalId, userAssigned, server } = await principalOf(t.server.id);
      if (!principalId) throw new Error(`${t.server.name} has no identity to delete.`);
      const grants = (v.properties.accessPolicies ?? []).filter((p) => sameId(p.objectId, principalId)).map((p) => ({ vaultId: v.id, tenantId: p.tenantId, permissions: p.permissions }));
      if (userAssigned) {
        const uami = await arm<ArmResource>("GET", withApi(userAssigned, MSI_API));
        await arm("DELETE", withApi(userAssigned, MSI_API));
        summary = `deleted the user-assigned identity ${uami.name} (principal ${principalId}) that ${t.server.name} uses for Key Vault`;
        az.push(`az identity delete --ids ${userAssigned}`);
        undo.push({ kind: "restore-identity", serverId: t.server.id, userAssigned: { id: userAssigned, location: uami.location ?? "eastus", ...(uami.tags ? { tags: uami.tags } : {}) }, grants });
      } else {
        const keepUser = /userassigned/i.test(server.identity?.type ?? "");
        const identity = keepUser ? { type: "UserAssigned", userAssignedIdentities: Object.fromEntries(Object.keys(server.identity?.userAssignedIdentities ?? {}).map((id) => [id, {}])) } : { type: "None" };
        await armLro("PATCH", withApi(t.server.id, SQL_API), { identity });
        summary = `removed the system-assigned identity of ${t.server.name} (principal ${principalId} is gone)`;
        az.push(`az rest --method patch --url "https://management.azure.com${t.server.id}?api-version=${SQL_API}" --body '{"identity":{"type":"None"}}'`);
        undo.push({ kind: "restore-identity", serverId: t.server.id, grants });
      }
      break;
    }
  }
  return { id: ++seq, cause, target: t.server.name, summary, az, at: serverNow() || Date.now(), undo };
}

async function undoStep(u: Undo): Promise<string> {
  switch (u.kind) {
    case "clear-fault":
      await tdekv("DELETE", `/_tdekv/chaos/faults/${enc(u.vault)}`);
      return `cleared the injected fault on ${u.vault}`;
    case "recover-vault":
      await armLro("PUT", withApi(u.id, KV_API), { location: u.location, properties: { tenantId: u.tenantId, sku: { family: "A", name: "standard" }, createMode: "recover" } });
      return `recovered vault ${u.id.split("/").pop()}`;
    case "patch-vault":
      await arm("PATCH", withApi(u.id, KV_API), { properties: u.properties });
      return `restored the network rules of ${u.id.split("/").pop()}`;
    case "recover-key":
      await kv(u.vaultUri, "POST", withApi(`/deletedkeys/${enc(u.key)}/recover`, KV_DATA_API));
      return `recovered key ${u.key}`;
    case "key-attributes":
      await kv(u.vaultUri, "PATCH", withApi(`/keys/${enc(u.key)}/${enc(u.version)}`, KV_DATA_API), { attributes: u.attributes });
      return `restored the attributes of key ${u.key} (${Object.keys(u.attributes).join(", ")})`;
    case "replace-policy":
      await arm("PUT", withApi(`${u.vaultId}/accessPolicies/replace`, KV_API), { properties: { accessPolicies: [u.entry] } });
      return `restored the access policy of ${u.entry.objectId}`;
    case "restore-identity": {
      let principalId: string | undefined;
      if (u.userAssigned) {
        const uami = await arm<ArmResource>("PUT", withApi(u.userAssigned.id, MSI_API), { location: u.userAssigned.location, ...(u.userAssigned.tags ? { tags: u.userAssigned.tags } : {}) });
        principalId = uami.properties?.principalId;
      } else {
        const s = await arm<ArmResource>("GET", withApi(u.serverId, SQL_API));
        const user = /userassigned/i.test(s.identity?.type ?? "");
        const identity = user ? { type: "SystemAssigned,UserAssigned", userAssignedIdentities: Object.fromEntries(Object.keys(s.identity?.userAssignedIdentities ?? {}).map((id) => [id, {}])) } : { type: "SystemAssigned" };
        principalId = (await armLro<ArmResource>("PATCH", withApi(u.serverId, SQL_API), { identity })).identity?.principalId;
      }
      for (const g of u.grants) {
        if (principalId) await arm("PUT", withApi(`${g.vaultId}/accessPolicies/add`, KV_API), { properties: { accessPolicies: [{ tenantId: g.tenantId, objectId: principalId, permissions: g.permissions }] } });
      }
      return `gave ${u.serverId.split("/").pop()} an identity again (principal ${principalId ?? "unknown"}) and its predecessor's access policy`;
    }
  }
}

/** Undoes one run, its steps newest first. */
export async function undoRun(run: ChaosRun): Promise<string[]> {
  const did: string[] = [];
  for (const u of [...run.undo].reverse()) did.push(await undoStep(u));
  return did;
}

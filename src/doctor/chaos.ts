import { randomUUID } from "node:crypto";
import type { AzureRest } from "./client.js";
import { API } from "./rest-types.js";
import { type FoundServer, findServers, listSubscriptions, parseKid, vaultFacts } from "./facts.js";
import type { ChaosJournal, Grant, JournalEntry, UndoStep } from "./chaos-journal.js";
import { SEED_ERRORS } from "./seed.js";
import type { VaultFacts } from "./types.js";

/**
 * `tdekv chaos <cause>`: every cause in the seed, made with the real operation through ARM or Key Vault
 * wherever one exists (delete the vault, close the firewall, delete/disable/expire the key, remove the
 * identity, move the server or its subscription, reduce or revoke its permissions), and with tdekv's fault
 * injection for the one no Azure API can cause (a network error between SQL and Key Vault). Each run is
 * journaled with what it replaced, so `--undo` restores it.
 */

export const CHAOS_CAUSES = [
  "vault-deleted",
  "firewall-no-trusted-services",
  "network-error",
  "key-deleted",
  "key-disabled",
  "key-expired",
  "identity-deleted",
  "moved-subscription",
  "moved-tenant",
  "permissions-insufficient",
  "permissions-revoked",
] as const;
export type ChaosCause = (typeof CHAOS_CAUSES)[number];

/** The fault kinds of `tdekv chaos vault-unreachable|vault-slow|vault-5xx|vault-intermittent <vault>`. */
export const FAULT_COMMANDS = { "vault-unreachable": "unreachable", "vault-slow": "slow", "vault-5xx": "5xx", "vault-intermittent": "intermittent" } as const;
export type FaultCommand = keyof typeof FAULT_COMMANDS;

export interface ChaosResult {
  entry: JournalEntry;
  /** The same change with az (what a person would have typed). */
  az: string[];
  /** What the seed says happens next. */
  expect: string;
  notes: string[];
}

interface Target {
  found?: FoundServer;
  kid?: string;
  vault: VaultFacts;
  key?: string;
  version?: string;
}

const enc = encodeURIComponent;
const sameId = (a: string | undefined, b: string | undefined) => !!a && !!b && a.toLowerCase() === b.toLowerCase();

/** The server (or vault) a cause applies to: by name, or the only server with a customer-managed key. */
async function resolve(c: AzureRest, name: string | undefined, needsServer: boolean): Promise<Target> {
  const subs = await listSubscriptions(c);
  const servers = await findServers(c, subs, {});
  const cmk: { found: FoundServer; kid: string }[] = [];
  for (const f of servers) {
    const p = await c.armFind(`${f.server.id}/encryptionProtector/current?api-version=${API.sqlKeys}`);
    if (p?.properties?.serverKeyType === "AzureKeyVault" && p.properties.uri) cmk.push({ found: f, kid: p.properties.uri });
  }
  const lower = name?.toLowerCase();
  let pick = lower ? cmk.filter((x) => x.found.server.name.toLowerCase() === lower) : cmk;
  if (lower && !pick.length) {
    if (servers.some((f) => f.server.name.toLowerCase() === lower)) throw new Error(`server '${name}' does not use a customer-managed key (its TDE protector is service-managed)`);
    pick = cmk.filter((x) => parseKid(x.kid)?.vault === lower);
    if (!pick.length && !needsServer) {
      const vault = await vaultFacts(c, subs, lower);
      if (vault.state !== "active") throw new Error(`no server or active key vault named '${name}'`);
      return { vault };
    }
    if (!pick.length) throw new Error(`no server with a customer-managed key named '${name}' or using a vault named '${name}'`);
  }
  if (!pick.length) throw new Error("no server or managed instance uses a customer-managed key: set one up first (tdekv demo shows how)");
  if (pick.length > 1) throw new Error(`more than one target: name one of ${pick.map((x) => x.found.server.name).join(", ")}`);
  const { found, kid } = pick[0]!;
  const k = parseKid(kid)!;
  const vault = await vaultFacts(c, subs, k.vault);
  return { found, kid, vault, key: k.name, ...(k.version ? { version: k.version } : {}) };
}

function requireVault(t: Target): VaultFacts & { id: string } {
  if (t.vault.state !== "active" || !t.vault.id) throw new Error(`vault ${t.vault.name} is not active (${t.vault.state}): undo the earlier chaos first (tdekv chaos --undo)`);
  return t.vault as VaultFacts & { id: string };
}

function requireServer(t: Target): FoundServer {
  if (!t.found) throw new Error("this cause needs a server: name the server");
  return t.found;
}

/** The server's principal for Key Vault (the primary user-assigned identity's, or the system one's). */
async function principalOf(c: AzureRest, s: FoundServer): Promise<{ principalId?: string; userAssigned?: string }> {
  const cur = await c.armOk("GET", `${s.server.id}?api-version=${API.sql}`);
  const primary = cur.properties?.primaryUserAssignedIdentityId as string | undefined;
  if (primary && /userassigned/i.test(cur.identity?.type ?? "")) {
    const uami = await c.armFind(`${primary}?api-version=${API.msi}`);
    return { principalId: uami?.properties?.principalId, userAssigned: primary };
  }
  return { principalId: cur.identity?.principalId };
}

/** Everything the principal holds on the vault, to give a new principal the same later. */
async function grantsOf(c: AzureRest, vault: VaultFacts & { id: string }, principalId: string): Promise<Grant[]> {
  if (!vault.enableRbacAuthorization) {
    const entry = (vault.accessPolicies ?? []).find((p) => sameId(p.objectId, principalId));
    return entry ? [{ vaultId: vault.id, model: "accessPolicy", tenantId: vault.tenantId ?? "", permissions: (entry.permissions ?? {}) as Record<string, string[]> }] : [];
  }
  const roles = (await roleAssignments(c, vault.id, principalId)).map((a) => ({ scope: a.properties.scope, roleDefinitionId: a.properties.roleDefinitionId }));
  return roles.length ? [{ vaultId: vault.id, model: "rbac", tenantId: vault.tenantId ?? "", roles }] : [];
}

async function roleAssignments(c: AzureRest, vaultId: string, principalId: string): Promise<{ id: string; name: string; properties: { scope: string; roleDefinitionId: string; principalId: string } }[]> {
  const body = await c.armOk("GET", `${vaultId}/providers/Microsoft.Authorization/roleAssignments?$filter=${enc(`atScope() and assignedTo('${principalId}')`)}&api-version=${API.authorization}`);
  return ((body?.value ?? []) as { id: string; name: string; properties: { scope: string; roleDefinitionId: string; principalId: string } }[]).filter((a) => sameId(a.properties.principalId, principalId));
}

const ALL_KEY_PERMISSIONS = ["get", "list", "update", "create", "import", "delete", "recover", "backup", "restore", "decrypt", "encrypt", "unwrapKey", "wrapKey", "verify", "sign", "purge", "release", "rotate", "getrotationpolicy", "setrotationpolicy"];

/** Runs one cause and journals it. */
export async function runChaos(c: AzureRest, journal: ChaosJournal, cause: ChaosCause | FaultCommand, target: string | undefined, opts: { rate?: number; delay?: string } = {}): Promise<ChaosResult> {
  const fault = (FAULT_COMMANDS as Record<string, string>)[cause];
  const needsServer = !["vault-deleted", "firewall-no-trusted-services", "network-error"].includes(cause) && !fault;
  const t = await resolve(c, target, needsServer);
  const az: string[] = [];
  const notes: string[] = [];
  const undo: UndoStep[] = [];
  let summary = "";
  const seed = (SEED_ERRORS as Record<string, { status: number; code: string }>)[fault ? "network-error" : cause]!;
  const down = t.found ? `the databases of ${t.found.server.name}` : `databases protected by keys in ${t.vault.name}`;
  let expect = `the next key probe takes ${down} Inaccessible with ${seed.status} ${seed.code} (\`tdekv probe\` runs one now)`;

  if (fault || cause === "network-error") {
    const v = t.vault.name;
    const kind = fault ?? "unreachable";
    await c.tdekv("PUT", `/_tdekv/chaos/faults/${enc(v)}`, { kind, ...(opts.rate !== undefined ? { rate: opts.rate } : {}), ...(opts.delay ? { delay: opts.delay } : {}) });
    summary = `vault ${v} is ${kind === "unreachable" ? "unreachable" : kind === "5xx" ? "answering 503" : kind === "slow" ? `slow (+${opts.delay ?? "10s"})` : `failing at random (rate ${opts.rate ?? 0.5})`} from the SQL service (injected: no Azure operation causes a network error)`;
    az.push("# none: a network failure between Azure SQL and Key Vault has no az command");
    expect = `a transient cause: ${down} go Inaccessible after 3 failed probes in a row with ${seed.status} ${seed.code}, and heal by themselves when the network is back`;
    undo.push({ kind: "clear-fault", vault: v });
  } else if (cause === "vault-deleted") {
    const v = requireVault(t);
    await c.armOk("DELETE", `${v.id}?api-version=${API.keyVault}`);
    summary = `deleted key vault ${v.name} (soft delete: recoverable)`;
    az.push(`az keyvault delete -n ${v.name} -g ${v.resourceGroup}`);
    undo.push({ kind: "recover-vault", name: v.name, subscriptionId: v.subscriptionId!, resourceGroup: v.resourceGroup!, location: v.location ?? "eastus", tenantId: v.tenantId ?? c.tenantId });
  } else if (cause === "firewall-no-trusted-services") {
    const v = requireVault(t);
    const acls = v.networkAcls ?? { defaultAction: "Allow", bypass: "AzureServices", ipRules: [] };
    await c.armOk("PATCH", `${v.id}?api-version=${API.keyVault}`, { properties: { networkAcls: { ...acls, defaultAction: "Deny", bypass: "None" } } });
    summary = `closed the firewall of ${v.name} (defaultAction Deny) without the trusted-services exception (bypass None)`;
    az.push(`az keyvault update -n ${v.name} -g ${v.resourceGroup} --default-action Deny --bypass None`);
    undo.push({ kind: "patch-vault", vaultId: v.id, properties: { networkAcls: acls } });
    notes.push("your own Key Vault data-plane calls from this machine are now refused too (as in Azure): doctor reads the key's state through the firewall only if your address is in ipRules");
  } else if (cause === "key-deleted" || cause === "key-disabled" || cause === "key-expired") {
    const v = requireVault(t);
    const key = t.key!;
    const ver = t.version ?? "";
    if (cause === "key-deleted") {
      await c.vaultOk(v.name, "DELETE", `/keys/${enc(key)}?api-version=${API.keyVaultData}`);
      summary = `deleted key ${key} from ${v.name} (soft delete: recoverable)`;
      az.push(`az keyvault key delete --vault-name ${v.name} -n ${key}`, `# Debian's az 2.45: az rest --method delete --url "https://${v.name}.vault.azure.net/keys/${key}?api-version=${API.keyVaultData}" --resource https://vault.azure.net`);
      undo.push({ kind: "recover-key", vault: v.name, key });
    } else {
      const cur = await c.vaultOk(v.name, "GET", `/keys/${enc(key)}/${enc(ver)}?api-version=${API.keyVaultData}`);
      const a = cur?.attributes ?? {};
      if (cause === "key-disabled") {
        await c.vaultOk(v.name, "PATCH", `/keys/${enc(key)}/${enc(ver)}?api-version=${API.keyVaultData}`, { attributes: { enabled: false } });
        summary = `disabled key ${key}${ver ? ` version ${ver}` : ""} in ${v.name}`;
        az.push(`az keyvault key set-attributes --id ${t.kid} --enabled false`);
        undo.push({ kind: "key-attributes", vault: v.name, key, ...(ver ? { version: ver } : {}), attributes: { enabled: a.enabled !== false } });
      } else {
        const now = Date.parse(((await c.tdekv("GET", "/_tdekv/clock")) as { now: string }).now);
        const exp = Math.floor(now / 1000) - 60;
        const attrs: Record<string, unknown> = { exp };
        if (typeof a.nbf === "number" && a.nbf > exp) attrs.nbf = exp - 60;
        await c.vaultOk(v.name, "PATCH", `/keys/${enc(key)}/${enc(ver)}?api-version=${API.keyVaultData}`, { attributes: attrs });
        const when = new Date(exp * 1000).toISOString();
        summary = `made key ${key}${ver ? ` version ${ver}` : ""} in ${v.name} expire at ${when} (tdekv time)`;
        az.push(`az keyvault key set-attributes --id ${t.kid} --expires ${when.replace(/\.\d{3}Z$/, "Z")}`);
        undo.push({ kind: "key-attributes", vault: v.name, key, ...(ver ? { version: ver } : {}), attributes: { exp: typeof a.exp === "number" ? a.exp : null, ...(attrs.nbf !== undefined ? { nbf: a.nbf } : {}) } });
      }
    }
  } else if (cause === "identity-deleted") {
    const s = requireServer(t);
    const v = requireVault(t);
    const { principalId, userAssigned } = await principalOf(c, s);
    if (!principalId) throw new Error(`server ${s.server.name} has no identity to delete`);
    const grants = await grantsOf(c, v, principalId);
    if (userAssigned) {
      const uami = await c.armOk("GET", `${userAssigned}?api-version=${API.msi}`);
      await c.armOk("DELETE", `${userAssigned}?api-version=${API.msi}`);
      summary = `deleted the user-assigned identity ${userAssigned.split("/").pop()} (principal ${principalId}) that ${s.server.name} uses for Key Vault`;
      az.push(`az identity delete --ids ${userAssigned}`);
      undo.push({ kind: "restore-identity", serverId: s.server.id, userAssigned: { id: userAssigned, location: uami.location, ...(uami.tags ? { tags: uami.tags } : {}) }, grants });
    } else {
      const keepUser = /userassigned/i.test(s.server.identity?.type ?? "");
      await c.armOk("PATCH", `${s.server.id}?api-version=${API.sql}`, { identity: keepUser ? { type: "UserAssigned", userAssignedIdentities: Object.fromEntries(Object.keys(s.server.identity?.userAssignedIdentities ?? {}).map((k) => [k, {}])) } : { type: "None" } });
      summary = `removed the system-assigned identity of ${s.server.name} (principal ${principalId} is gone)`;
      az.push(`az rest --method patch --url "https://management.azure.com${s.server.id}?api-version=${API.sql}" --body '{"identity":{"type":"None"}}'`);
      undo.push({ kind: "restore-identity", serverId: s.server.id, grants });
    }
  } else if (cause === "moved-subscription") {
    const s = requireServer(t);
    const v = requireVault(t);
    const { principalId } = await principalOf(c, s);
    const grants = principalId ? await grantsOf(c, v, principalId) : [];
    const sub = (await c.tdekv("POST", "/_tdekv/subscriptions", { displayName: `moved ${s.server.name}` })) as { id: string };
    const rg = s.resourceGroup;
    await c.armOk("PUT", `/subscriptions/${sub.id}/resourcegroups/${enc(rg)}?api-version=${API.resources}`, { location: s.server.location });
    await c.armOk("POST", `/subscriptions/${s.subscriptionId}/resourceGroups/${enc(rg)}/moveResources?api-version=${API.resources}`, { resources: [s.server.id], targetResourceGroup: `/subscriptions/${sub.id}/resourceGroups/${rg}` });
    const newId = s.server.id.replace(/^\/subscriptions\/[^/]+/i, `/subscriptions/${sub.id}`);
    summary = `moved server ${s.server.name} (and its databases) to subscription ${sub.id}, resource group ${rg}; its system-assigned identity did not survive the move`;
    az.push(`az resource move --ids ${s.server.id} --destination-subscription-id ${sub.id} --destination-group ${rg}`);
    notes.push(`az sees the new subscription after: az account list --refresh`);
    undo.push({ kind: "move-server-back", serverId: newId, targetResourceGroupId: `/subscriptions/${s.subscriptionId}/resourceGroups/${rg}` });
    undo.push({ kind: "restore-identity", serverId: s.server.id, grants });
  } else if (cause === "moved-tenant") {
    const s = requireServer(t);
    const v = requireVault(t);
    const { principalId } = await principalOf(c, s);
    const grants = principalId ? await grantsOf(c, v, principalId) : [];
    const subs = await listSubscriptions(c);
    const from = subs.find((x) => x.id === s.subscriptionId)!;
    const tenant = (await c.tdekv("POST", "/_tdekv/tenants", { displayName: `moved ${s.server.name}` })) as { tenantId: string; clientId: string; clientSecret: string };
    await c.tdekv("PUT", `/_tdekv/subscriptions/${s.subscriptionId}/tenant`, { tenantId: tenant.tenantId });
    const vaults = v.subscriptionId === s.subscriptionId ? [{ id: v.id, tenantId: v.tenantId ?? from.tenantId }] : [];
    summary = `transferred subscription ${s.subscriptionId} (server ${s.server.name}${vaults.length ? `, vault ${v.name}` : ""}) to a new tenant ${tenant.tenantId}; its managed identities did not survive the transfer`;
    az.push(`# a subscription transfer ("change directory") has no az command; it happens in the portal`);
    notes.push(
      `sign in to the new tenant to see the server: az login --service-principal -u ${tenant.clientId} -p=${tenant.clientSecret} --tenant ${tenant.tenantId}`,
      `and run doctor there: AZURE_TENANT_ID=${tenant.tenantId} AZURE_CLIENT_ID=${tenant.clientId} AZURE_CLIENT_SECRET=${tenant.clientSecret} tdekv doctor --server ${s.server.name}`,
    );
    undo.push({ kind: "move-subscription-back", subscriptionId: s.subscriptionId, tenantId: from.tenantId, vaults });
    undo.push({ kind: "restore-identity", serverId: s.server.id, grants: grants.map((g) => ({ ...g, tenantId: from.tenantId })) });
    const entry = record(journal, cause, t, summary, undo, { tenant });
    return { entry, az, expect, notes };
  } else if (cause === "permissions-insufficient" || cause === "permissions-revoked") {
    const s = requireServer(t);
    const v = requireVault(t);
    const { principalId } = await principalOf(c, s);
    if (!principalId) throw new Error(`server ${s.server.name} has no identity`);
    if (!v.enableRbacAuthorization) {
      const entry = (v.accessPolicies ?? []).find((p) => sameId(p.objectId, principalId));
      if (!entry) throw new Error(`the identity ${principalId} of ${s.server.name} has no access policy on ${v.name}: nothing to ${cause === "permissions-revoked" ? "revoke" : "reduce"}`);
      const prev = (entry.permissions ?? {}) as Record<string, string[]>;
      const tenantId = entry.tenantId ?? v.tenantId ?? c.tenantId;
      if (cause === "permissions-revoked") {
        await c.armOk("PUT", `${v.id}/accessPolicies/remove?api-version=${API.keyVault}`, { properties: { accessPolicies: [{ tenantId, objectId: principalId, permissions: {} }] } });
        summary = `removed the access policy of ${s.server.name}'s identity ${principalId} from ${v.name}`;
        az.push(`az keyvault delete-policy -n ${v.name} -g ${v.resourceGroup} --object-id ${principalId}`);
      } else {
        const keys = (prev.keys ?? []).some((k) => k.toLowerCase() === "all") ? ALL_KEY_PERMISSIONS : (prev.keys ?? []);
        const fewer = keys.filter((k) => k.toLowerCase() !== "unwrapkey");
        await c.armOk("PUT", `${v.id}/accessPolicies/replace?api-version=${API.keyVault}`, { properties: { accessPolicies: [{ tenantId, objectId: principalId, permissions: { ...prev, keys: fewer } }] } });
        summary = `reduced the key permissions of ${s.server.name}'s identity ${principalId} on ${v.name} to [${fewer.join(", ")}] (no unwrapKey)`;
        az.push(`az keyvault set-policy -n ${v.name} -g ${v.resourceGroup} --object-id ${principalId} --key-permissions ${fewer.join(" ")}`);
      }
      undo.push({ kind: "replace-policy", vaultId: v.id, tenantId, objectId: principalId, permissions: prev });
    } else {
      const held = await roleAssignments(c, v.id, principalId);
      if (!held.length) throw new Error(`the identity ${principalId} of ${s.server.name} has no role on ${v.name}: nothing to change`);
      for (const a of held) await c.armOk("DELETE", `${a.id}?api-version=${API.authorization}`);
      const add: { scope: string; roleDefinitionId: string; name: string }[] = [];
      const remove: string[] = [];
      if (cause === "permissions-insufficient") {
        const name = randomUUID();
        const reader = `/subscriptions/${v.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/21090545-7ca7-4776-b22c-e363652d74d2`;
        await c.armOk("PUT", `${v.id}/providers/Microsoft.Authorization/roleAssignments/${name}?api-version=${API.authorization}`, { properties: { roleDefinitionId: reader, principalId, principalType: "ServicePrincipal" } });
        remove.push(`${v.id}/providers/Microsoft.Authorization/roleAssignments/${name}`);
        summary = `replaced the roles of ${s.server.name}'s identity on ${v.name} with 'Key Vault Reader' (get only: no wrapKey, no unwrapKey)`;
        az.push(`az role assignment delete --assignee ${principalId} --scope ${v.id}`, `az role assignment create --role "Key Vault Reader" --assignee-object-id ${principalId} --scope ${v.id}`);
      } else {
        summary = `removed every role of ${s.server.name}'s identity ${principalId} on ${v.name}`;
        az.push(`az role assignment delete --assignee ${principalId} --scope ${v.id}`);
      }
      for (const a of held) add.push({ scope: a.properties.scope, roleDefinitionId: a.properties.roleDefinitionId, name: a.name });
      undo.push({ kind: "restore-roles", principalId, remove, add });
    }
  } else {
    throw new Error(`unknown cause '${cause}'`);
  }
  const entry = record(journal, cause, t, summary, undo);
  return { entry, az, expect, notes };
}

function record(journal: ChaosJournal, cause: string, t: Target, summary: string, undo: UndoStep[], extra: Record<string, unknown> = {}): JournalEntry {
  const entry: JournalEntry & Record<string, unknown> = { id: randomUUID(), cause, at: new Date().toISOString(), target: t.found?.server.id ?? t.vault.id ?? t.vault.name, summary, undo, ...extra };
  journal.append(entry);
  return entry;
}

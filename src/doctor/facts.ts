import type { AzureRest } from "./client.js";
import { API, RestError } from "./rest-types.js";
import type { AccessFacts, ArmServer, DatabaseFacts, IdentityFacts, KeyFacts, LoggedEvent, ServerFacts, VaultFacts } from "./types.js";

/**
 * The seed's Detection steps, as the calls a user's script would make: `az sql server show` (identity),
 * `az sql server tde-key show` (key URI and vault), `az keyvault show` / `list-deleted` (vault, firewall),
 * `az keyvault key show` / deleted keys (key state), the vault's access policies or role assignments, Graph
 * for the identity's principal, `az monitor activity-log list` (when access was lost) and the databases.
 */

export interface Subscription {
  id: string;
  tenantId: string;
  displayName?: string;
}

export interface FoundServer {
  server: ArmServer;
  managed: boolean;
  subscriptionId: string;
  resourceGroup: string;
}

/** `https://{vault}.vault.azure.net/keys/{name}[/{version}]` */
export function parseKid(kid: string): { vault: string; name: string; version?: string } | undefined {
  const m = /^https:\/\/([^./]+)\.vault\.[^/]+(?::\d+)?\/keys\/([^/]+)(?:\/([^/?]*))?/i.exec(kid);
  if (!m) return undefined;
  return { vault: m[1]!.toLowerCase(), name: m[2]!, ...(m[3] ? { version: m[3] } : {}) };
}

export const rgOf = (id: string) => id.split("/")[4] ?? "";
export const subOf = (id: string) => (id.split("/")[2] ?? "").toLowerCase();
const sameId = (a: string | undefined, b: string | undefined) => !!a && !!b && a.toLowerCase() === b.toLowerCase();
const enc = encodeURIComponent;

export async function listSubscriptions(c: AzureRest): Promise<Subscription[]> {
  const body = await c.armOk("GET", `/subscriptions?api-version=${API.subscriptions}`);
  return ((body?.value ?? []) as { subscriptionId: string; tenantId: string; displayName?: string }[]).map((s) => ({ id: s.subscriptionId.toLowerCase(), tenantId: s.tenantId, displayName: s.displayName }));
}

/** Servers and managed instances by name (or all of them), in every subscription the caller can see. */
export async function findServers(c: AzureRest, subs: Subscription[], want: { server?: string; managedInstance?: string; resourceGroup?: string }): Promise<FoundServer[]> {
  const out: FoundServer[] = [];
  const kinds: { type: string; managed: boolean; name?: string }[] = [];
  if (want.server || !want.managedInstance) kinds.push({ type: "servers", managed: false, name: want.server });
  if (want.managedInstance || !want.server) kinds.push({ type: "managedInstances", managed: true, name: want.managedInstance });
  for (const sub of subs) {
    for (const k of kinds) {
      const path = want.resourceGroup
        ? `/subscriptions/${sub.id}/resourceGroups/${enc(want.resourceGroup)}/providers/Microsoft.Sql/${k.type}?api-version=${API.sql}`
        : `/subscriptions/${sub.id}/providers/Microsoft.Sql/${k.type}?api-version=${API.sql}`;
      const res = await c.arm("GET", path);
      if (res.status === 404) continue;
      if (res.status >= 300) throw new RestError(res.status, res.body?.error?.code ?? "Error", res.body?.error?.message ?? `HTTP ${res.status}`);
      for (const s of (res.body?.value ?? []) as ArmServer[]) {
        if (k.name && s.name.toLowerCase() !== k.name.toLowerCase()) continue;
        out.push({ server: s, managed: k.managed, subscriptionId: subOf(s.id), resourceGroup: rgOf(s.id) });
      }
    }
  }
  return out;
}

async function identityFacts(c: AzureRest, s: ArmServer): Promise<IdentityFacts> {
  const type = s.identity?.type ?? "None";
  const t = type.replace(/\s+/g, "").toLowerCase();
  const hasSystem = t.split(",").includes("systemassigned");
  const hasUser = t.split(",").includes("userassigned");
  const primary = s.properties.primaryUserAssignedIdentityId;
  const f: IdentityFacts = { type, source: "none", ...(s.identity?.tenantId ? { tenantId: s.identity.tenantId } : {}) };
  if (hasUser && primary) {
    f.source = "user";
    f.userAssignedId = primary;
    const uami = await c.armFind(`${primary}?api-version=${API.msi}`);
    f.userAssignedExists = !!uami;
    const listed = Object.entries(s.identity?.userAssignedIdentities ?? {}).find(([k]) => sameId(k, primary))?.[1];
    const pid = (uami?.properties?.principalId as string | undefined) ?? listed?.principalId;
    if (pid) f.principalId = pid;
    if (uami?.properties?.tenantId) f.tenantId = uami.properties.tenantId;
  } else if (hasSystem) {
    f.source = "system";
    if (s.identity?.principalId) f.principalId = s.identity.principalId;
  }
  if (f.principalId) {
    const res = await c.graph(`/v1.0/servicePrincipals/${enc(f.principalId)}`);
    if (res.status === 200) {
      const names = (res.body?.servicePrincipalNames ?? []) as string[];
      f.principal = { found: true, resourceIds: names.filter((n) => n.startsWith("/")), tenantId: res.body?.appOwnerOrganizationId, displayName: res.body?.displayName };
    } else if (res.status === 404) {
      f.principal = { found: false, resourceIds: [] };
    }
  }
  return f;
}

/** A vault by name in the caller's subscriptions: active, soft-deleted, or missing (`az keyvault show`, `list-deleted`). */
export async function vaultFacts(c: AzureRest, subs: Subscription[], name: string): Promise<VaultFacts> {
  const filter = enc("resourceType eq 'Microsoft.KeyVault/vaults'");
  for (const sub of subs) {
    const res = await c.arm("GET", `/subscriptions/${sub.id}/resources?$filter=${filter}&api-version=${API.resources}`);
    if (res.status >= 300) continue;
    const hit = ((res.body?.value ?? []) as { id: string; name: string }[]).find((r) => r.name.toLowerCase() === name);
    if (!hit) continue;
    const v = await c.armFind(`${hit.id}?api-version=${API.keyVault}`);
    if (!v) continue;
    const p = v.properties ?? {};
    return {
      name,
      state: "active",
      id: v.id,
      resourceGroup: rgOf(v.id),
      subscriptionId: sub.id,
      subscriptionTenantId: sub.tenantId,
      tenantId: p.tenantId,
      location: v.location,
      networkAcls: p.networkAcls,
      publicNetworkAccess: p.publicNetworkAccess,
      enableRbacAuthorization: !!p.enableRbacAuthorization,
      enableSoftDelete: p.enableSoftDelete !== false,
      enablePurgeProtection: !!p.enablePurgeProtection,
      accessPolicies: p.accessPolicies ?? [],
    };
  }
  // Seed "Missing key vault": was it deleted? `az keyvault list-deleted`.
  for (const sub of subs) {
    const res = await c.arm("GET", `/subscriptions/${sub.id}/providers/Microsoft.KeyVault/deletedVaults?api-version=${API.keyVault}`);
    if (res.status >= 300) continue;
    const hit = ((res.body?.value ?? []) as { name: string; properties: VaultFacts["deleted"] }[]).find((r) => r.name.toLowerCase() === name);
    if (hit) {
      return {
        name,
        state: "deleted",
        subscriptionId: sub.id,
        subscriptionTenantId: sub.tenantId,
        ...(hit.properties?.vaultId ? { id: hit.properties.vaultId, resourceGroup: rgOf(hit.properties.vaultId) } : {}),
        ...(hit.properties?.location ? { location: hit.properties.location } : {}),
        deleted: hit.properties ?? {},
      };
    }
  }
  return { name, state: "missing" };
}

async function keyFacts(c: AzureRest, kid: string): Promise<KeyFacts> {
  const k = parseKid(kid)!;
  const base: KeyFacts = { kid, name: k.name, ...(k.version ? { version: k.version } : {}), state: "unreadable" };
  const res = await c.vault(k.vault, "GET", `/keys/${enc(k.name)}/${k.version ? enc(k.version) : ""}?api-version=${API.keyVaultData}`);
  if (res.status === 200) {
    const a = res.body?.attributes ?? {};
    const key = res.body?.key ?? {};
    const n = typeof key.n === "string" ? Buffer.from(key.n, "base64url") : undefined;
    return {
      ...base,
      state: "present",
      enabled: a.enabled !== false,
      ...(typeof a.nbf === "number" ? { nbf: a.nbf } : {}),
      ...(typeof a.exp === "number" ? { exp: a.exp } : {}),
      ...(key.kty ? { kty: key.kty } : {}),
      ...(n ? { keySize: (n[0] === 0 ? n.length - 1 : n.length) * 8 } : {}),
      ...(a.recoveryLevel ? { recoveryLevel: a.recoveryLevel } : {}),
    };
  }
  const e = res.body?.error ?? {};
  const inner = e.innererror?.code;
  if (res.status === 403 && inner === "KeyDisabled") {
    // Key Vault refuses `get` on a disabled key; its versions list still shows the attributes.
    const list = await c.vault(k.vault, "GET", `/keys/${enc(k.name)}/versions?api-version=${API.keyVaultData}`);
    const item = ((list.body?.value ?? []) as { kid: string; attributes?: Record<string, unknown> }[]).find((i) => (k.version ? i.kid.endsWith(`/${k.version}`) : true));
    const a = (item?.attributes ?? {}) as { nbf?: number; exp?: number; recoveryLevel?: string };
    return {
      ...base,
      state: "present",
      enabled: false,
      ...(typeof a.nbf === "number" ? { nbf: a.nbf } : {}),
      ...(typeof a.exp === "number" ? { exp: a.exp } : {}),
      ...(a.recoveryLevel ? { recoveryLevel: a.recoveryLevel } : {}),
    };
  }
  if (res.status === 404) {
    // Seed "Missing key": deleted (and recoverable), or gone.
    const del = await c.vault(k.vault, "GET", `/deletedkeys/${enc(k.name)}?api-version=${API.keyVaultData}`);
    if (del.status === 200) return { ...base, state: "deleted", deleted: { deletedDate: del.body?.deletedDate, scheduledPurgeDate: del.body?.scheduledPurgeDate } };
    if (del.status === 404) return { ...base, state: "missing" };
    return { ...base, error: { status: del.status, code: del.body?.error?.code ?? `HTTP${del.status}`, message: del.body?.error?.message ?? "" } };
  }
  return { ...base, error: { status: res.status, code: inner ? `${e.code ?? "Error"}/${inner}` : (e.code ?? `HTTP${res.status}`), message: e.message ?? "" } };
}

const PERMS = ["get", "wrapKey", "unwrapKey"] as const;
const RBAC_ACTIONS: Record<(typeof PERMS)[number], string> = {
  get: "Microsoft.KeyVault/vaults/keys/read",
  wrapKey: "Microsoft.KeyVault/vaults/keys/wrap/action",
  unwrapKey: "Microsoft.KeyVault/vaults/keys/unwrap/action",
};

/** Azure RBAC action patterns: case-insensitive, `*` matches any run of characters. */
export function actionMatches(pattern: string, action: string): boolean {
  const re = new RegExp(`^${pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`, "i");
  return re.test(action);
}

/** Which of get, wrapKey, unwrapKey an access-policy permission list grants ("all" grants everything). */
export function policyGrants(keys: string[]): string[] {
  const have = new Set(keys.map((k) => k.toLowerCase()));
  return PERMS.filter((p) => have.has("all") || have.has(p.toLowerCase()));
}

async function accessFacts(c: AzureRest, vault: VaultFacts, principalId: string): Promise<AccessFacts> {
  if (!vault.enableRbacAuthorization) {
    const entries = (vault.accessPolicies ?? []).filter((p) => sameId(p.objectId, principalId) && (!p.tenantId || !vault.tenantId || sameId(p.tenantId, vault.tenantId)));
    const keys = entries.flatMap((e) => e.permissions?.keys ?? []);
    const granted = policyGrants(keys);
    return {
      model: "accessPolicy",
      granted,
      missing: PERMS.filter((p) => !granted.includes(p)),
      via: entries.length ? [`access policy for object id ${principalId}: keys [${keys.join(", ")}]`] : [`no access policy for object id ${principalId} on vault ${vault.name}`],
    };
  }
  const filter = enc(`atScope() and assignedTo('${principalId}')`);
  const res = await c.arm("GET", `${vault.id}/providers/Microsoft.Authorization/roleAssignments?$filter=${filter}&api-version=${API.authorization}`);
  if (res.status >= 300) return { model: "rbac", granted: [], missing: [...PERMS], via: [], error: res.body?.error?.message ?? `HTTP ${res.status}` };
  const via: string[] = [];
  const allowed = new Set<string>();
  for (const a of (res.body?.value ?? []) as { properties: { roleDefinitionId: string; scope: string; principalId: string } }[]) {
    if (!sameId(a.properties.principalId, principalId)) continue;
    const def = await c.armFind(`${a.properties.roleDefinitionId}?api-version=${API.authorization}`);
    const perms = (def?.properties?.permissions ?? []) as { dataActions?: string[]; notDataActions?: string[] }[];
    const grants = PERMS.filter((p) => perms.some((x) => (x.dataActions ?? []).some((d) => actionMatches(d, RBAC_ACTIONS[p])) && !(x.notDataActions ?? []).some((d) => actionMatches(d, RBAC_ACTIONS[p]))));
    grants.forEach((g) => allowed.add(g));
    via.push(`role '${def?.properties?.roleName ?? a.properties.roleDefinitionId}' at scope ${a.properties.scope}${grants.length ? ` (grants ${grants.join(", ")})` : " (no key crypto permission)"}`);
  }
  if (!via.length) via.push(`no role assignment for object id ${principalId} at or above vault ${vault.name}`);
  const granted = PERMS.filter((p) => allowed.has(p));
  return { model: "rbac", granted, missing: PERMS.filter((p) => !allowed.has(p)), via };
}

/** The database's Activity Log, newest first (`az monitor activity-log list --resource-id`). */
async function eventsOf(c: AzureRest, subscriptionId: string, resourceId: string, now: number): Promise<LoggedEvent[]> {
  const from = new Date(now - 90 * 86_400_000).toISOString();
  const filter = enc(`eventTimestamp ge '${from}' and resourceId eq '${resourceId}'`);
  const res = await c.arm("GET", `/subscriptions/${subscriptionId}/providers/Microsoft.Insights/eventtypes/management/values?api-version=${API.insights}&$filter=${filter}`);
  if (res.status >= 300) return [];
  return ((res.body?.value ?? []) as any[])
    .filter((e) => e.category?.value === "Administrative")
    .map((e) => ({
      eventName: e.eventName?.value ?? e.properties?.eventName ?? "",
      status: e.status?.value ?? "",
      at: e.eventTimestamp,
      ...(e.correlationId ? { correlationId: e.correlationId } : {}),
      ...(e.description ? { description: e.description } : {}),
      ...(e.properties?.errorCode ? { errorCode: e.properties.errorCode } : {}),
      ...(e.properties?.cause ? { cause: e.properties.cause } : {}),
    }));
}

const LOSS = /^Make(Managed)?(Db|Database)Inaccessible$/i;
const BACK = /^Make(Managed)?(Db|Database)Accessible$/i;

/** Where a database stands in the seed's timeline, from its events (newest first). */
export function timelineOf(events: LoggedEvent[]): Pick<DatabaseFacts, "lostAt" | "windowClosedAt" | "lostCode" | "lostCause"> {
  const out: Pick<DatabaseFacts, "lostAt" | "windowClosedAt" | "lostCode" | "lostCause"> = {};
  let closed: string | undefined;
  for (const e of events) {
    if (BACK.test(e.eventName) && e.status === "Succeeded") break;
    if (LOSS.test(e.eventName) && e.status === "Succeeded") closed ??= e.at;
    if (LOSS.test(e.eventName) && e.status === "Started") {
      out.lostAt = e.at;
      if (e.errorCode) out.lostCode = e.errorCode;
      if (e.cause) out.lostCause = e.cause;
      if (closed) out.windowClosedAt = closed;
      break;
    }
  }
  return out;
}

async function databaseFacts(c: AzureRest, f: { server: ArmServer; managed: boolean; subscriptionId: string }, now: number): Promise<DatabaseFacts[]> {
  const body = await c.armOk("GET", `${f.server.id}/databases?api-version=${API.sql}`);
  const out: DatabaseFacts[] = [];
  for (const d of (body?.value ?? []) as { id: string; name: string; properties?: { status?: string } }[]) {
    if (d.name.toLowerCase() === "master") continue;
    const status = d.properties?.status ?? "Unknown";
    const events = status === "Online" ? [] : await eventsOf(c, f.subscriptionId, d.id, now);
    out.push({ id: d.id, name: d.name, status, events, ...timelineOf(events) });
  }
  return out;
}

export async function gatherFacts(
  c: AzureRest,
  found: FoundServer,
  ctx: { subs: Subscription[]; now: number; windowMs: number; faults?: ServerFacts["faults"] },
): Promise<ServerFacts> {
  const s = found.server;
  const facts: ServerFacts = {
    server: s,
    managed: found.managed,
    subscriptionId: found.subscriptionId,
    resourceGroup: found.resourceGroup,
    identity: await identityFacts(c, s),
    databases: [],
    now: ctx.now,
    windowMs: ctx.windowMs,
    ...(ctx.faults ? { faults: ctx.faults } : {}),
  };
  const sub = ctx.subs.find((x) => x.id === found.subscriptionId);
  if (sub) facts.subscriptionTenantId = sub.tenantId;
  const protector = await c.armFind(`${s.id}/encryptionProtector/current?api-version=${API.sqlKeys}`);
  if (protector?.properties) {
    facts.protector = {
      serverKeyType: protector.properties.serverKeyType,
      ...(protector.properties.serverKeyName ? { serverKeyName: protector.properties.serverKeyName } : {}),
      ...(protector.properties.uri ? { uri: protector.properties.uri } : {}),
      autoRotationEnabled: !!protector.properties.autoRotationEnabled,
    };
  }
  const kid = facts.protector?.serverKeyType === "AzureKeyVault" ? facts.protector.uri : undefined;
  const parsed = kid ? parseKid(kid) : undefined;
  if (kid && parsed) {
    facts.vault = await vaultFacts(c, ctx.subs, parsed.vault);
    if (facts.vault.state === "active") {
      facts.key = await keyFacts(c, kid);
      if (facts.identity.principalId) facts.access = await accessFacts(c, facts.vault, facts.identity.principalId);
    }
  }
  facts.databases = await databaseFacts(c, found, ctx.now);
  return facts;
}

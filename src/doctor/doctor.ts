import { randomUUID } from "node:crypto";
import type { AzureRest } from "./client.js";
import { API, RestError } from "./rest-types.js";
import { diagnose } from "./checks.js";
import { findServers, gatherFacts, listSubscriptions, type Subscription } from "./facts.js";
import { CRYPTO_SERVICE_ENCRYPTION_USER, SEED_WINDOW_MS } from "./seed.js";
import type { DoctorReport, FixAction, ServerFacts } from "./types.js";

export interface DoctorOptions {
  server?: string;
  managedInstance?: string;
  resourceGroup?: string;
  /** The subscription az uses by default, so printed commands name others explicitly. */
  defaultSubscriptionId?: string;
}

/** A usage error (the server does not exist, tdekv is unreachable): exit status 2, not "problems found". */
export class DoctorError extends Error {}

/** tdekv's clock and auto-heal window; the system clock and the seed's 30 minutes when not readable. */
async function clockOf(c: AzureRest): Promise<{ now: number; windowMs: number }> {
  try {
    const body = (await c.tdekv("GET", "/_tdekv/clock")) as { now?: string; autohealWindowSeconds?: number };
    const now = body.now ? Date.parse(body.now) : Date.now();
    return { now, windowMs: typeof body.autohealWindowSeconds === "number" ? body.autohealWindowSeconds * 1000 : SEED_WINDOW_MS };
  } catch {
    return { now: Date.now(), windowMs: SEED_WINDOW_MS };
  }
}

async function faultsOf(c: AzureRest): Promise<ServerFacts["faults"]> {
  try {
    return ((await c.tdekv("GET", "/_tdekv/chaos/faults")) as { faults?: ServerFacts["faults"] }).faults ?? {};
  } catch {
    return undefined;
  }
}

/** Runs the seed's detection steps for one server, one managed instance, or all of them. */
export async function runDoctor(c: AzureRest, opts: DoctorOptions = {}): Promise<DoctorReport> {
  let subs: Subscription[];
  try {
    subs = await listSubscriptions(c);
  } catch (err) {
    throw new DoctorError(`cannot list subscriptions as ${c.conn.credentials.clientId} in tenant ${c.tenantId}: ${(err as Error).message}`);
  }
  const { now, windowMs } = await clockOf(c);
  const faults = await faultsOf(c);
  const found = await findServers(c, subs, opts);
  const wanted = opts.server ?? opts.managedInstance;
  let hint = "";
  if (!found.length) {
    try {
      const tenants = ((await c.tdekv("GET", "/_tdekv/tenants")) as { value?: { id: string }[] }).value ?? [];
      if (tenants.length > 1) hint = ` tdekv has ${tenants.length} tenants: if its subscription moved to another tenant, run doctor as a principal of that tenant (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET).`;
    } catch {
      /* no hint */
    }
  }
  if (wanted && !found.length) {
    throw new DoctorError(`${opts.managedInstance ? "managed instance" : "server"} '${wanted}' was not found${opts.resourceGroup ? ` in resource group '${opts.resourceGroup}'` : ""} in the subscriptions of tenant ${c.tenantId}.${hint}`);
  }
  const servers = [];
  for (const f of found) {
    const facts = await gatherFacts(c, f, { subs, now, windowMs, ...(faults ? { faults } : {}) });
    servers.push(diagnose(facts, { defaultSubscriptionId: opts.defaultSubscriptionId ?? subs[0]?.id }));
  }
  const problems = servers.reduce((n, d) => n + d.problems.length, 0);
  return { ok: problems === 0, now: new Date(now).toISOString(), tenantId: c.tenantId, windowSeconds: windowMs / 1000, servers, ...(hint ? { hint: hint.trim() } : {}) };
}

/** The safe fixes of a report, deduplicated, in the order they must run (identity before its permissions). */
export function plannedFixes(r: DoctorReport): FixAction[] {
  const all = r.servers.flatMap((d) => d.problems.flatMap((p) => p.fixes));
  const seen = new Set<string>();
  const order = { "assign-identity": 0, "grant-key-permissions": 1, "allow-trusted-services": 2 } as const;
  return all
    .filter((f) => {
      const key = JSON.stringify(f);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .sort((a, b) => order[a.kind] - order[b.kind]);
}

/** Applies the safe mitigations (seed): assign an identity, add the key permissions, allow trusted services. */
export async function applyFixes(c: AzureRest, fixes: FixAction[]): Promise<string[]> {
  const done: string[] = [];
  for (const f of fixes) {
    switch (f.kind) {
      case "assign-identity": {
        const s = await c.armOk("GET", `${f.serverId}?api-version=${API.sql}`);
        const type = String(s.identity?.type ?? "None").replace(/\s+/g, "");
        const user = /userassigned/i.test(type);
        const identity = user ? { type: "SystemAssigned,UserAssigned", userAssignedIdentities: Object.fromEntries(Object.keys(s.identity?.userAssignedIdentities ?? {}).map((k) => [k, {}])) } : { type: "SystemAssigned" };
        const updated = await c.armOk("PATCH", `${f.serverId}?api-version=${API.sql}`, { identity });
        const mi = /\/managedinstances\//i.test(f.serverId);
        const az = mi ? `az sql mi update -g ${f.serverId.split("/")[4]} -n ${s.name} --assign-identity` : `az sql server update -g ${f.serverId.split("/")[4]} -n ${s.name} --assign_identity`;
        done.push(`assigned a system-assigned identity to ${s.name}: principal ${updated?.identity?.principalId ?? "?"}   (${az})`);
        break;
      }
      case "grant-key-permissions": {
        let objectId = f.objectId;
        if (!objectId) {
          const s = await c.armOk("GET", `${f.serverId}?api-version=${API.sql}`);
          objectId = s.identity?.principalId;
          if (!objectId) throw new RestError(400, "NoIdentity", `server ${s.name} still has no identity to grant permissions to`);
        }
        const vaultName = f.vaultId.split("/").pop()!;
        if (f.model === "accessPolicy") {
          await c.armOk("PUT", `${f.vaultId}/accessPolicies/add?api-version=${API.keyVault}`, {
            properties: { accessPolicies: [{ tenantId: f.tenantId, objectId, permissions: { keys: ["get", "wrapKey", "unwrapKey"] } }] },
          });
          done.push(`granted ${objectId} get, wrapKey and unwrapKey on ${vaultName}   (az keyvault set-policy -n ${vaultName} --object-id ${objectId} --key-permissions get wrapKey unwrapKey)`);
        } else {
          const sub = f.vaultId.split("/")[2];
          await c.armOk("PUT", `${f.vaultId}/providers/Microsoft.Authorization/roleAssignments/${randomUUID()}?api-version=${API.authorization}`, {
            properties: { roleDefinitionId: `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/${CRYPTO_SERVICE_ENCRYPTION_USER.guid}`, principalId: objectId, principalType: "ServicePrincipal" },
          });
          done.push(`assigned '${CRYPTO_SERVICE_ENCRYPTION_USER.name}' to ${objectId} on ${vaultName}   (az role assignment create --role "${CRYPTO_SERVICE_ENCRYPTION_USER.name}" --assignee-object-id ${objectId} --scope ${f.vaultId})`);
        }
        break;
      }
      case "allow-trusted-services": {
        const v = await c.armOk("GET", `${f.vaultId}?api-version=${API.keyVault}`);
        const acls = v.properties?.networkAcls ?? { defaultAction: "Allow", ipRules: [], virtualNetworkRules: [] };
        await c.armOk("PATCH", `${f.vaultId}?api-version=${API.keyVault}`, { properties: { networkAcls: { ...acls, bypass: "AzureServices" } } });
        done.push(`allowed trusted Microsoft services through the firewall of ${v.name}   (az keyvault update -n ${v.name} -g ${f.vaultId.split("/")[4]} --bypass AzureServices)`);
        break;
      }
    }
  }
  return done;
}

import { Az, type ServerRef, type VaultRef } from "./commands.js";
import { parseKid } from "./facts.js";
import { SEED_ERRORS, seedErrorForCode } from "./seed.js";
import type { Cause, Check, DatabaseImpact, Diagnosis, FixAction, MitigationStep, Problem, ServerFacts } from "./types.js";

/**
 * The seed's detection rules as pure functions of the facts (no I/O, time passed in): which checks pass,
 * which problems remain, with the seed's code, the evidence, the affected databases and their window, the
 * az commands that fix each one, and whether a revalidation will be needed.
 */

const sameId = (a: string | undefined, b: string | undefined) => !!a && !!b && a.toLowerCase() === b.toLowerCase();

/** Which check would have seen each cause. */
const CHECK_OF: Partial<Record<Cause, Check["id"]>> = {
  "key-deleted": "key",
  "key-missing": "key",
  "key-disabled": "key",
  "key-expired": "key",
  "key-not-yet-valid": "key",
  "key-unsupported": "key",
  "recovery-level": "key",
  "permissions-insufficient": "permissions",
  "permissions-revoked": "permissions",
};

/** tdekv's probe causes (the Activity Log's `properties.cause`, sql/key-access.ts) as the seed's causes. */
const CAUSE_OF: Record<string, Cause> = {
  "no-identity": "identity-deleted",
  "identity-deleted": "identity-deleted",
  "wrong-tenant": "moved-tenant",
  "vault-unreachable": "vault-missing",
  "network-error": "network-error",
  "vault-unavailable": "network-error",
  timeout: "network-error",
  unknown: "network-error",
  firewall: "firewall-no-trusted-services",
  "key-not-found": "key-deleted",
  "key-disabled": "key-disabled",
  "key-expired": "key-expired",
  "key-not-yet-valid": "key-not-yet-valid",
  "missing-permissions": "permissions-insufficient",
  "unsupported-key": "key-unsupported",
  "recovery-level": "recovery-level",
};

/** "12m 30s", "1h 02m", "45s". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h) return `${h}h ${String(m).padStart(2, "0")}m`;
  if (m) return `${m}m ${String(sec).padStart(2, "0")}s`;
  return `${sec}s`;
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

/** A database's place in the seed's 30-minute window. */
export function impactOf(db: ServerFacts["databases"][number], now: number, windowMs: number): DatabaseImpact {
  const out: DatabaseImpact = { name: db.name, id: db.id, status: db.status, windowClosed: false };
  if (db.status !== "Inaccessible") return out;
  if (db.lostAt) {
    out.lostAt = db.lostAt;
    const since = now - Date.parse(db.lostAt);
    out.windowClosed = !!db.windowClosedAt || since > windowMs;
    out.windowLeftMs = out.windowClosed ? 0 : windowMs - since;
  } else if (db.windowClosedAt) {
    out.windowClosed = true;
    out.windowLeftMs = 0;
  }
  return out;
}

function revalidationOf(dbs: DatabaseImpact[], az: Az, s: ServerRef, now: number, windowMs: number, transient: boolean): Problem["revalidation"] {
  const command = az.revalidate(s);
  const down = dbs.filter((d) => d.status === "Inaccessible");
  const closed = down.filter((d) => d.windowClosed);
  if (closed.length) {
    return { needed: true, command, detail: `needed: the auto-heal window closed for ${closed.map((d) => d.name).join(", ")}; once access works again, revalidate (tags, PITR history and failover-group links are lost)` };
  }
  const open = down.filter((d) => d.windowLeftMs !== undefined);
  if (open.length) {
    const left = Math.min(...open.map((d) => d.windowLeftMs!));
    return { needed: false, command, detail: `not needed if access is restored within ${formatDuration(left)} (before ${iso(now + left)}); after that, revalidate` };
  }
  if (down.length) return { needed: false, command, detail: "not needed if access is restored within the 30-minute window (the Activity Log does not show the loss yet); after it, revalidate" };
  return {
    needed: false,
    command,
    detail: transient
      ? `databases are online; after ${3} failed probes in a row they go Inaccessible, and then heal by themselves within ${formatDuration(windowMs)} once the vault is reachable again`
      : `databases are online for now; the next key probe takes them Inaccessible, and from then on you have ${formatDuration(windowMs)} before a revalidation is needed`,
  };
}

export interface DiagnoseOptions {
  /** The subscription az uses by default (commands for others get --subscription). */
  defaultSubscriptionId?: string;
}

export function diagnose(f: ServerFacts, opts: DiagnoseOptions = {}): Diagnosis {
  const az = new Az(opts.defaultSubscriptionId ?? f.subscriptionId);
  const s: ServerRef = { id: f.server.id, name: f.server.name, resourceGroup: f.resourceGroup, subscriptionId: f.subscriptionId, managed: f.managed };
  const kid = f.protector?.serverKeyType === "AzureKeyVault" ? f.protector.uri : undefined;
  const k = kid ? parseKid(kid) : undefined;
  const v = f.vault;
  const vref: VaultRef = { name: v?.name ?? k?.vault ?? "", ...(v?.resourceGroup ? { resourceGroup: v.resourceGroup } : {}), ...(v?.subscriptionId ? { subscriptionId: v.subscriptionId } : {}), ...(v?.id ? { id: v.id } : {}) };
  const checks: Check[] = [];
  const problems: Problem[] = [];
  const databases = f.databases.map((d) => impactOf(d, f.now, f.windowMs));
  const diag: Diagnosis = {
    server: { id: s.id, name: s.name, resourceGroup: s.resourceGroup, subscriptionId: s.subscriptionId, managed: s.managed },
    checks,
    problems,
    databases,
  };
  if (f.protector) diag.protector = { type: f.protector.serverKeyType, ...(kid ? { uri: kid } : {}), ...(k ? { vault: k.vault, key: k.name, ...(k.version ? { version: k.version } : {}) } : {}) };

  const add = (cause: Cause, summary: string, evidence: string[], mitigation: MitigationStep[], fixes: FixAction[] = [], extra: { transient?: boolean; code?: { status: number; code: string; message: string; seed: string } } = {}) => {
    const e = extra.code ?? SEED_ERRORS[cause as keyof typeof SEED_ERRORS];
    problems.push({
      cause,
      status: e.status,
      code: e.code,
      message: e.message,
      seed: e.seed,
      summary,
      evidence,
      databases,
      mitigation,
      revalidation: revalidationOf(databases, az, s, f.now, f.windowMs, !!extra.transient),
      fixes,
      ...(extra.transient ? { transient: true } : {}),
    });
  };

  // Which key URI and vault does the protector use? (seed "Missing key vault", Detection)
  if (!f.protector || f.protector.serverKeyType !== "AzureKeyVault" || !kid) {
    checks.push({ id: "protector", title: "TDE protector", status: "ok", detail: "service-managed key: the server does not use Azure Key Vault, nothing to check", detect: az.showProtector(s) });
    pushDatabases(checks, databases, f.now);
    return diag;
  }
  checks.push({ id: "protector", title: "TDE protector", status: "ok", detail: `${kid} (vault ${k?.vault ?? "?"}, key ${k?.name ?? "?"}${f.protector.autoRotationEnabled ? ", auto-rotation on" : ""})`, detect: az.showProtector(s) });

  const grantStep = (objectId: string): MitigationStep =>
    v?.enableRbacAuthorization ? { command: az.roleAssignment(vref, objectId), note: "the vault uses Azure RBAC: this role grants get, wrapKey and unwrapKey" } : { command: az.setPolicy(vref, objectId) };
  const grantFix = (objectId?: string): FixAction[] =>
    v?.state === "active" && v.id ? [{ kind: "grant-key-permissions", vaultId: v.id, model: v.enableRbacAuthorization ? "rbac" : "accessPolicy", tenantId: v.tenantId ?? f.subscriptionTenantId ?? "", ...(objectId ? { objectId } : {}), serverId: s.id }] : [];

  // Is the server still in the tenant of its identity and vault? (seed IMPORTANT note: moved to a new tenant)
  const subTenant = f.subscriptionTenantId;
  const tenantEvidence: string[] = [];
  if (subTenant && f.identity.tenantId && !sameId(f.identity.tenantId, subTenant)) tenantEvidence.push(`the server's subscription ${f.subscriptionId} is in tenant ${subTenant}, its identity block names tenant ${f.identity.tenantId}`);
  const vaultTenantWrong = !!(subTenant && v?.state === "active" && v.tenantId && !sameId(v.tenantId, subTenant));
  if (vaultTenantWrong) tenantEvidence.push(`vault ${v!.name} belongs to tenant ${v!.tenantId}, the server's subscription to tenant ${subTenant}`);

  // Is an identity assigned, and does its principal still exist? (seed "Missing server identity")
  const id = f.identity;
  let identityCause: Cause | undefined;
  const idEvidence: string[] = [];
  if (id.source === "none") {
    identityCause = "identity-deleted";
    idEvidence.push(`identity type is ${id.type}: the server has no managed identity to call Key Vault with`);
  } else if (id.source === "user" && id.userAssignedExists === false) {
    identityCause = "identity-deleted";
    idEvidence.push(`the primary user-assigned identity ${id.userAssignedId} does not exist any more`);
  } else if (id.principal && !id.principal.found) {
    idEvidence.push(`principal ${id.principalId} (${id.source === "user" ? "user-assigned" : "system-assigned"}) was not found in tenant ${subTenant ?? "?"} (Microsoft Graph)`);
    const policyNamesOld = v?.accessPolicies?.some((p) => sameId(p.objectId, id.principalId));
    if (tenantEvidence.length) identityCause = "moved-tenant";
    else if (v?.subscriptionId && v.subscriptionId !== f.subscriptionId && id.source === "system") {
      identityCause = "moved-subscription";
      idEvidence.push(`the server is in subscription ${f.subscriptionId}, its vault in ${v.subscriptionId}${policyNamesOld ? ", whose access policy still names the old principal" : ""}: a system-assigned identity does not survive a move to another subscription`);
    } else identityCause = "identity-deleted";
  } else if (id.principal?.found && id.source === "system" && id.principal.resourceIds.length && !id.principal.resourceIds.some((r) => sameId(r, s.id))) {
    identityCause = "moved-subscription";
    idEvidence.push(`principal ${id.principalId} belongs to ${id.principal.resourceIds[0]}, not to ${s.id}: the server was moved`);
  } else if (tenantEvidence.length) {
    identityCause = "moved-tenant";
  }
  if (identityCause === undefined && vaultTenantWrong) identityCause = "moved-tenant";

  if (identityCause) {
    const evidence = [...idEvidence, ...tenantEvidence];
    checks.push({ id: "identity", title: "Server identity", status: "problem", detail: evidence[0] ?? identityCause, detect: az.showIdentity(s) });
    const steps: MitigationStep[] = [];
    if (identityCause === "moved-tenant" && vaultTenantWrong) {
      steps.push(
        v!.subscriptionTenantId && sameId(v!.subscriptionTenantId, subTenant)
          ? { command: az.setVaultTenant(vref, subTenant!), note: "the vault moved with the subscription: point it at the new tenant (its old access policies no longer apply)" }
          : { command: `# vault ${v!.name} is in another tenant's subscription: cross-tenant key vaults are not supported; move it (or its subscription) to tenant ${subTenant}` },
      );
    }
    if (id.source === "user" && id.userAssignedExists === false && id.userAssignedId) {
      const uamiName = id.userAssignedId.split("/").pop()!;
      const uamiRg = id.userAssignedId.split("/")[4]!;
      steps.push({ command: `az identity create -g ${uamiRg} -n ${uamiName}`, note: "re-create the user-assigned identity (a new principal)" });
      steps.push({ command: az.setPolicy(vref, `$(az identity show -g ${uamiRg} -n ${uamiName} --query principalId -o tsv)`) });
    } else {
      steps.push({ command: az.assignIdentity(s), note: identityCause === "identity-deleted" ? "assign a new managed identity" : "a moved server needs a new managed identity" });
      steps.push({ ...grantStep(az.principalOf(s)), note: "grant the new identity get, wrapKey and unwrapKey on the key vault" });
    }
    const fixes: FixAction[] = id.source === "user" && id.userAssignedExists === false ? [] : [{ kind: "assign-identity", serverId: s.id }, ...grantFix()];
    add(identityCause, identityCause === "moved-tenant" ? "the server is no longer in the tenant of its identity and key vault" : identityCause === "moved-subscription" ? "the server was moved to another subscription and lost its managed identity" : "the server's managed identity is missing", evidence, steps, fixes);
  } else {
    checks.push({ id: "identity", title: "Server identity", status: "ok", detail: `${id.type}, principal ${id.principalId}${id.source === "user" ? ` (primary ${id.userAssignedId})` : ""}`, detect: az.showIdentity(s) });
  }
  checks.push({
    id: "tenancy",
    title: "Tenant and subscription",
    status: tenantEvidence.length ? "problem" : "ok",
    detail: tenantEvidence.length ? tenantEvidence.join("; ") : `server, identity and vault in tenant ${subTenant ?? "?"}`,
  });

  // Does the vault exist, and is it reachable by trusted services? (seed "Missing key vault")
  if (!v || v.state === "missing") {
    checks.push({ id: "vault", title: "Key vault", status: "problem", detail: `vault ${k?.vault} does not exist and is not in the deleted vaults of your subscriptions`, detect: az.listDeletedVaults() });
    add("vault-missing", `the key vault ${k?.vault} is gone (purged, or never existed in a subscription you can see)`, [`GET vault ${k?.vault}: not found`, "not listed in deletedVaults either"], [
      { command: `# the vault cannot be recovered: complete the configuration from the start (seed), with a new vault and key` },
      { command: az.listDeletedVaults(), note: "check whether it is soft-deleted in another subscription" },
    ]);
  } else if (v.state === "deleted") {
    const d = v.deleted ?? {};
    checks.push({ id: "vault", title: "Key vault", status: "problem", detail: `vault ${v.name} was deleted on ${d.deletionDate ?? "?"} (soft-deleted, purge scheduled ${d.scheduledPurgeDate ?? "?"})`, detect: az.listDeletedVaults() });
    add("vault-deleted", `the key vault ${v.name} was deleted`, [`vault ${v.name} is in the deleted vaults: deleted ${d.deletionDate ?? "?"}, scheduled purge ${d.scheduledPurgeDate ?? "?"}${d.purgeProtectionEnabled ? ", purge protection on" : ""}`], [{ command: az.recoverVault(vref), note: "recover the soft-deleted vault; its keys and access policies come back with it" }]);
  } else {
    checks.push({ id: "vault", title: "Key vault", status: "ok", detail: `${v.name} in resource group ${v.resourceGroup} (subscription ${v.subscriptionId}), soft delete ${v.enableSoftDelete ? "on" : "off"}, purge protection ${v.enablePurgeProtection ? "on" : "off"}, ${v.enableRbacAuthorization ? "Azure RBAC" : "access policies"}`, detect: az.showVault(vref) });
    const acls = v.networkAcls ?? {};
    const trusted = (acls.bypass ?? "AzureServices").toLowerCase().includes("azureservices");
    const closed = (acls.defaultAction ?? "Allow").toLowerCase() === "deny" || (v.publicNetworkAccess ?? "Enabled").toLowerCase() === "disabled";
    if (closed && !trusted) {
      const detail = `networkAcls.defaultAction ${acls.defaultAction ?? "Allow"}, bypass ${acls.bypass ?? "None"}, publicNetworkAccess ${v.publicNetworkAccess ?? "Enabled"}: trusted Microsoft services (the SQL server) are blocked`;
      checks.push({ id: "firewall", title: "Key vault firewall", status: "problem", detail, detect: `${az.showVault(vref)} --query properties.networkAcls` });
      add("firewall-no-trusted-services", `the firewall of ${v.name} does not let trusted Microsoft services through`, [detail], [{ command: az.allowTrustedServices(vref), note: "allow trusted Microsoft services to bypass the firewall" }], [{ kind: "allow-trusted-services", vaultId: v.id! }]);
    } else {
      checks.push({ id: "firewall", title: "Key vault firewall", status: "ok", detail: closed ? `closed (${acls.defaultAction}), trusted services bypass it (${acls.bypass})` : "open to all networks", detect: `${az.showVault(vref)} --query properties.networkAcls` });
    }
  }

  // Reachable? tdekv's injected network faults are what no Azure API shows (issue 5 §6).
  const fault = k ? f.faults?.[k.vault] : undefined;
  const transientLoss = f.databases.find((d) => d.status === "Inaccessible" && d.lostCause && ["network-error", "vault-unavailable", "timeout", "unknown"].includes(d.lostCause));
  if (fault) {
    const what = fault.kind === "unreachable" ? "unreachable (connect timed out)" : fault.kind === "5xx" ? "answering 503" : fault.kind === "slow" ? `slow (+${fault.delayMs ?? 10000} ms, past the SQL-to-vault timeout)` : `failing intermittently (rate ${fault.rate ?? 0.5})`;
    checks.push({ id: "network", title: "Network path to the vault", status: "problem", detail: `the vault is ${what} from the SQL server` });
    add("network-error", `the SQL server cannot reach ${k!.vault}.vault.azure.net`, [`tdekv fault injected on vault ${k!.vault}: ${fault.kind}${fault.rate !== undefined ? ` rate ${fault.rate}` : ""}`, ...(transientLoss ? [`Activity Log: ${transientLoss.name} lost access with ${transientLoss.lostCode} (${transientLoss.lostCause})`] : [])], [
      { command: "# no action needed for an intermittent network error: the databases heal by themselves within the window once the vault is reachable (seed Introduction)" },
      { command: `tdekv chaos --undo`, note: `ends the rehearsal's fault (or: tdekv chaos clear ${k!.vault})` },
    ], [], { transient: true });
  } else {
    checks.push({ id: "network", title: "Network path to the vault", status: "ok", detail: f.faults ? "no injected network fault" : "not checked (tdekv's fault list is not readable)" });
  }

  // Does the key exist, is it enabled and within nbf/exp? (seed "Missing key")
  const key = f.key;
  const nowSec = f.now / 1000;
  if (!key) {
    checks.push({ id: "key", title: "Key", status: "skipped", detail: "the vault is not available" });
  } else if (key.state === "deleted") {
    const when = key.deleted?.deletedDate ? iso(key.deleted.deletedDate * 1000) : "?";
    checks.push({ id: "key", title: "Key", status: "problem", detail: `key ${key.name} was deleted on ${when}`, detect: `az keyvault key list-deleted --vault-name ${k!.vault}` });
    add("key-deleted", `the TDE protector key ${key.name} was deleted`, [`GET ${kid}: KeyNotFound`, `deleted key ${key.name}: deleted ${when}, scheduled purge ${key.deleted?.scheduledPurgeDate ? iso(key.deleted.scheduledPurgeDate * 1000) : "?"}`], [
      { command: az.recoverKey(k!.vault, key.name) },
      { command: az.recoverKeyRest(k!.vault, key.name), note: "the same through REST (Debian's az 2.45 cannot run `keyvault key recover`)" },
    ]);
  } else if (key.state === "missing") {
    checks.push({ id: "key", title: "Key", status: "problem", detail: `key ${key.name} does not exist in ${k!.vault} (nor in its deleted keys)`, detect: az.showKey(kid) });
    add("key-missing", `the TDE protector key ${key.name} is gone`, [`GET ${kid}: KeyNotFound`, "not in the vault's deleted keys: purged"], [
      { command: `az keyvault key restore --vault-name ${k!.vault} --file ${key.name}.backup`, note: "restore the key from a backup (the same key material); otherwise the data cannot be decrypted" },
    ]);
  } else if (key.state === "unreadable") {
    checks.push({ id: "key", title: "Key", status: "skipped", detail: `could not read the key as the caller: ${key.error?.code} ${key.error?.message.split("\n")[0] ?? ""}`.trim(), detect: az.showKey(kid) });
  } else {
    const issues: { cause: Cause; detail: string; step: MitigationStep }[] = [];
    if (key.kty && key.kty !== "RSA" && key.kty !== "RSA-HSM") issues.push({ cause: "key-unsupported", detail: `key type ${key.kty}`, step: { command: "# create an RSA 2048 or 3072 key and make it the protector: az keyvault key create, az sql server key create, az sql server tde-key set" } });
    else if (key.keySize && key.keySize !== 2048 && key.keySize !== 3072) issues.push({ cause: "key-unsupported", detail: `key size ${key.keySize}`, step: { command: "# create an RSA 2048 or 3072 key and make it the protector" } });
    if (key.enabled === false) issues.push({ cause: "key-disabled", detail: `key ${key.name}${key.version ? ` version ${key.version}` : ""} is disabled`, step: { command: az.enableKey(kid) } });
    if (key.nbf !== undefined && key.nbf > nowSec) issues.push({ cause: "key-not-yet-valid", detail: `key not valid before ${iso(key.nbf * 1000)} (now ${iso(f.now)})`, step: { command: az.setNotBefore(kid, iso(f.now)) } });
    if (key.exp !== undefined && key.exp <= nowSec) issues.push({ cause: "key-expired", detail: `key expired at ${iso(key.exp * 1000)} (now ${iso(f.now)})`, step: { command: az.setExpiry(kid, iso(f.now + 365 * 86_400_000)), note: "move the expiry into the future (or create a new key version and rotate to it)" } });
    if (key.recoveryLevel && /purgeable/i.test(key.recoveryLevel)) issues.push({ cause: "recovery-level", detail: `recovery level ${key.recoveryLevel}: soft delete and purge protection are required`, step: { command: az.enablePurgeProtection(vref) } });
    if (!issues.length) {
      checks.push({ id: "key", title: "Key", status: "ok", detail: `${key.name} enabled, ${key.kty ?? "RSA"}${key.keySize ? ` ${key.keySize}` : ""}${key.exp ? `, expires ${iso(key.exp * 1000)}` : ", no expiry"}`, detect: az.showKey(kid) });
    } else {
      checks.push({ id: "key", title: "Key", status: "problem", detail: issues.map((i) => i.detail).join("; "), detect: az.showKey(kid) });
      for (const i of issues) add(i.cause, i.detail, [`${az.showKey(kid)}: ${i.detail}`], [i.step]);
    }
  }

  // Does the identity have get, wrapKey and unwrapKey? (seed "Missing permissions")
  const acc = f.access;
  if (identityCause) {
    checks.push({ id: "permissions", title: "Key permissions", status: "skipped", detail: "the identity must be fixed first: a new identity needs its own permissions" });
  } else if (!acc) {
    checks.push({ id: "permissions", title: "Key permissions", status: "skipped", detail: "the vault is not available" });
  } else if (acc.error) {
    checks.push({ id: "permissions", title: "Key permissions", status: "skipped", detail: `could not list role assignments: ${acc.error}` });
  } else if (acc.missing.length === 0) {
    checks.push({ id: "permissions", title: "Key permissions", status: "ok", detail: `get, wrapKey, unwrapKey via ${acc.via.join("; ")}`, detect: `${az.showVault(vref)} --query "properties.accessPolicies[?objectId=='${id.principalId}']"` });
  } else {
    const cause: Cause = acc.granted.length ? "permissions-insufficient" : "permissions-revoked";
    const detail = `identity ${id.principalId} is missing ${acc.missing.join(", ")} (${acc.model === "rbac" ? "Azure RBAC" : "access policy"})`;
    checks.push({ id: "permissions", title: "Key permissions", status: "problem", detail, detect: acc.model === "rbac" ? `az role assignment list --assignee ${id.principalId} --scope ${v?.id}` : `${az.showVault(vref)} --query "properties.accessPolicies[?objectId=='${id.principalId}']"` });
    add(cause, cause === "permissions-revoked" ? `the server's identity has no permissions on ${v?.name}` : `the server's identity lacks ${acc.missing.join(", ")} on ${v?.name}`, [detail, ...acc.via], [grantStep(id.principalId!)], grantFix(id.principalId));
  }

  // Databases that are down although no check found a cause: unverified, healing, or waiting for a revalidation.
  if (!problems.length) {
    const down = databases.filter((d) => d.status === "Inaccessible");
    const skipped = checks.filter((c) => c.status === "skipped");
    const lostWith = f.databases.find((d) => d.status === "Inaccessible" && d.lostCause);
    const logged = lostWith?.lostCause ? CAUSE_OF[lostWith.lostCause] : undefined;
    const unverified = logged ? skipped.filter((c) => c.id === CHECK_OF[logged]) : [];
    if (down.length && unverified.length && logged) {
      const steps: MitigationStep[] = [];
      if (kid && logged === "key-disabled") steps.push({ command: az.enableKey(kid) });
      else if (kid && logged === "key-expired") steps.push({ command: az.setExpiry(kid, iso(f.now + 365 * 86_400_000)) });
      else if (k && logged === "key-deleted") steps.push({ command: az.recoverKey(k.vault, k.name) }, { command: az.recoverKeyRest(k.vault, k.name), note: "the same through REST" });
      steps.push(...unverified.filter((c) => c.detect).map((c) => ({ command: c.detect!, note: `verify: ${c.title.toLowerCase()}` })));
      add(logged, `the Activity Log says access was lost with ${lostWith!.lostCode} (${lostWith!.lostCause}); doctor could not verify it now (${unverified.map((c) => c.title.toLowerCase()).join(", ")} not readable)`, [...unverified.map((c) => `${c.title}: ${c.detail}`), `Activity Log: ${lostWith!.name} MakeDatabaseInaccessible Started ${lostWith!.lostAt ?? ""} with ${lostWith!.lostCode}`], steps);
    } else if (down.length) {
      const lost = f.databases.find((d) => d.status === "Inaccessible" && d.lostCode);
      const code = seedErrorForCode(lost?.lostCode) ?? { status: 0, code: lost?.lostCode ?? "DatabaseInaccessible", message: "The database lost access to its Azure Key Vault key.", seed: "Introduction" };
      const closed = down.some((d) => d.windowClosed);
      const evidence = down.map((d) => `${d.name}: Inaccessible${d.lostAt ? ` since ${d.lostAt}` : ""}${lost?.lostCode ? ` (lost with ${lost.lostCode}${lost.lostCause ? `, ${lost.lostCause}` : ""})` : ""}`);
      if (closed) {
        add("revalidation-needed", "key access works again, but the databases are past the 30-minute auto-heal window: only a revalidation brings them back", [...evidence, "MakeDatabaseInaccessible Succeeded: the window closed"], [{ command: az.revalidate(s), note: "revalidate the TDE protector (the portal's 'Revalidate key')" }], [], { code });
      } else {
        add("healing", "key access works again: the databases heal by themselves at the next key probes (two good probes in a row), inside the window", evidence, [{ command: "# no action needed: wait for the next key probe (tdekv probe runs one now)" }], [], { code, transient: !!transientLoss });
      }
    }
  }
  pushDatabases(checks, databases, f.now);
  return diag;
}

function pushDatabases(checks: Check[], dbs: DatabaseImpact[], now: number): void {
  const down = dbs.filter((d) => d.status !== "Online");
  checks.push({
    id: "databases",
    title: "Databases",
    status: down.length ? "problem" : "ok",
    detail: dbs.length
      ? dbs
          .map((d) =>
            d.status === "Inaccessible"
              ? `${d.name} Inaccessible${d.lostAt ? ` since ${d.lostAt}` : ""}${d.windowClosed ? ", auto-heal window closed: revalidation needed" : d.windowLeftMs !== undefined ? `, ${formatDuration(d.windowLeftMs)} left in the auto-heal window (until ${iso(now + d.windowLeftMs)})` : ""}`
              : `${d.name} ${d.status}`,
          )
          .join("; ")
      : "none",
  });
}

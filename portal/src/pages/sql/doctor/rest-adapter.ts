import { ApiError, arm, armLro, tdekv, toApiError, vault } from "../../../lib/api";
// Before facts.ts runs: the one Buffer call it makes, for browsers (buffer-shim.ts).
import "./buffer-shim";
import type { AzureRest, HttpResult } from "../../../../../src/doctor/client";
import { gatherFacts } from "../../../../../src/doctor/facts";
import { diagnose } from "../../../../../src/doctor/checks";
import type { Diagnosis, ServerFacts } from "../../../../../src/doctor/types";
import type { ArmResource } from "../../../lib/types";
import { SEED_WINDOW_MS, isManaged, resourceGroupOf, subscriptionOf } from "../sql-api";

/**
 * Runs `tdekv doctor`'s own detection rules in the browser (issue 9 §2 "doctor's findings"): facts.ts
 * gathers over the public APIs and checks.ts concludes, the very modules the CLI runs (bundled as they are: they
 * reach Node only through client.ts, which they import for types alone; about 10 KB gzip). This adapter gives them the portal's signed-in calls instead of
 * the CLI's service-principal client, so they see exactly what the user may see.
 *
 * Limits, said in the UI too: Microsoft Graph is not reachable with the portal's token, so the principal
 * look-up (moved subscription / tenant evidence) is skipped; a vault the user has no access policy on
 * answers 403 and the key is "unreadable", and the doctor then falls back to the Activity Log's error code.
 */
class PortalRest {
  /** Vault name → properties.vaultUri, learnt from the ARM vault GETs facts.ts makes first. */
  private readonly vaultUris = new Map<string, string>();

  async arm(method: string, path: string, body?: unknown): Promise<HttpResult> {
    try {
      const res = await arm<any>(method, path, body);
      const uri = res?.properties?.vaultUri;
      if (typeof uri === "string" && typeof res?.name === "string") this.vaultUris.set(res.name.toLowerCase(), uri);
      return { status: 200, headers: {}, body: res };
    } catch (err) {
      const e = toApiError(err);
      if (e.status === 0) throw e;
      return { status: e.status, headers: {}, body: e.body };
    }
  }

  async armOk(method: string, path: string, body?: unknown): Promise<any> {
    return method === "GET" ? arm(method, path) : armLro(method, path, body);
  }

  async armFind(path: string): Promise<any> {
    const res = await this.arm("GET", path);
    if (res.status === 404) return undefined;
    if (res.status >= 300) throw new ApiError(res.status, res.body?.error?.code ?? `HTTP${res.status}`, res.body?.error?.message ?? "", res.body);
    return res.body;
  }

  async vault(name: string, method: string, path: string, body?: unknown): Promise<HttpResult> {
    const uri = this.vaultUris.get(name.toLowerCase()) ?? vaultUriGuess(name);
    try {
      return { status: 200, headers: {}, body: await vault<any>(uri, method, path, body) };
    } catch (err) {
      const e = toApiError(err);
      if (e.status === 0) throw e;
      return { status: e.status, headers: {}, body: e.body };
    }
  }

  /** Graph is not served to the portal: "not checked" (neither found nor missing) keeps the rules honest. */
  async graph(): Promise<HttpResult> {
    return { status: 0, headers: {}, body: undefined };
  }
}

/** The vault's data-plane origin for the host the portal runs on, as tdekv's vaultUri (vault-rules.ts). */
function vaultUriGuess(name: string): string {
  const n = name.toLowerCase();
  return location.hostname === "management.azure.com" ? `https://${n}.vault.azure.net/` : `https://${n}.vault.localhost:${location.port || "443"}/`;
}

export interface DoctorRun {
  diagnosis: Diagnosis;
  facts: ServerFacts;
  /** Server clock (epoch ms) of the run. */
  now: number;
}

/** `tdekv doctor --server {name}` for one server or managed instance, as the signed-in user. */
export async function runDoctorFor(server: ArmResource): Promise<DoctorRun> {
  const c = new PortalRest() as unknown as AzureRest;
  const subs = ((await arm<{ value: { subscriptionId: string; tenantId: string }[] }>("GET", "/subscriptions?api-version=2020-01-01")).value ?? []).map((s) => ({
    id: s.subscriptionId.toLowerCase(),
    tenantId: s.tenantId,
  }));
  const clock = await tdekv<{ now: string; autohealWindowSeconds?: number }>("GET", "/_tdekv/clock").catch(() => undefined);
  const now = clock?.now ? Date.parse(clock.now) : Date.now();
  const windowMs = clock?.autohealWindowSeconds ? clock.autohealWindowSeconds * 1000 : SEED_WINDOW_MS;
  const faults = await tdekv<{ faults?: ServerFacts["faults"] }>("GET", "/_tdekv/chaos/faults").then(
    (b) => b.faults ?? {},
    () => undefined,
  );
  const found = { server: server as any, managed: isManaged(server.id), subscriptionId: subscriptionOf(server.id).toLowerCase(), resourceGroup: resourceGroupOf(server.id) };
  const facts = await gatherFacts(c, found, { subs, now, windowMs, ...(faults ? { faults } : {}) });
  return { diagnosis: diagnose(facts, { defaultSubscriptionId: subs[0]?.id }), facts, now };
}

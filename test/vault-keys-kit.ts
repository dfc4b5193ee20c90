import path from "node:path";
import https from "node:https";
import dns from "node:dns";
import { randomBytes } from "node:crypto";
import { ManualClock, SecretBox, silentLogger, type SurfaceRequest, type SurfaceResponse } from "../src/platform/index.js";
import { openStore, type OpenedStore } from "../src/storage/index.js";
import { createIdentity, type Identity, type Principal } from "../src/identity/index.js";
import { createVaultDataPlane, type VaultDataPlane } from "../src/vault/data-plane/index.js";
import type { AccessPolicyEntry, VaultRecord, VaultRegistry } from "../src/vault/index.js";
import { clientToken, request, tempDir, testStore, type Instance } from "./harness.js";

/**
 * The data plane in-process, over a real SQLite store, a real token service (signed JWTs) and an in-memory
 * VaultRegistry written here. That registry is test input (the vaults a test wants), not a mock of the
 * data plane: every request below goes through the real surface, authorization, store and crypto.
 */
type DeletedVault = VaultRecord & { deletionDate: number; scheduledPurgeDate: number };

export class MemoryRegistry implements VaultRegistry {
  readonly vaults = new Map<string, VaultRecord>();
  readonly deleted = new Map<string, DeletedVault>();
  readonly roles = new Map<string, string[]>();

  async findVault(name: string): Promise<VaultRecord | undefined> {
    return this.vaults.get(name.toLowerCase());
  }
  async findDeletedVault(name: string): Promise<DeletedVault | undefined> {
    return this.deleted.get(name.toLowerCase());
  }
  /** Soft-deletes a vault (or records a never-seen name as deleted). */
  softDelete(name: string, now = 0): void {
    const v = this.vaults.get(name) ?? ({ name, uid: `deleted-${name}` } as VaultRecord);
    this.vaults.delete(name);
    this.deleted.set(name, { ...v, deletionDate: now, scheduledPurgeDate: now + 90 * 86400_000 });
  }
  async dataActionsFor(oid: string): Promise<string[]> {
    return this.roles.get(oid.toLowerCase()) ?? [];
  }
}

export interface Kit {
  clock: ManualClock;
  store: OpenedStore;
  identity: Identity;
  registry: MemoryRegistry;
  dp: VaultDataPlane;
  tenantId: string;
  /** The bootstrap service principal. */
  admin: Principal;
  newPrincipal(name: string): Promise<Principal>;
  token(p: Principal, resource?: string): Promise<string>;
  addVault(name: string, props?: Partial<VaultRecord>): VaultRecord;
  call(method: string, url: string, opts?: { token?: string; body?: unknown; rawBody?: Buffer | string; host?: string; remoteAddress?: string; headers?: Record<string, string> }): Promise<SurfaceResponse & { json: any }>;
  close(): Promise<void>;
}

export const ALL_KEY_PERMISSIONS = [
  "get", "list", "create", "update", "import", "delete", "recover", "backup", "restore", "purge",
  "encrypt", "decrypt", "wrapKey", "unwrapKey", "sign", "verify", "rotate", "getrotationpolicy", "setrotationpolicy",
];

export function policy(p: Principal, keys: string[], extra: Partial<AccessPolicyEntry> = {}): AccessPolicyEntry {
  return { tenantId: p.tenantId, objectId: p.objectId, permissions: { keys }, ...extra };
}

export async function startKit(): Promise<Kit> {
  const dir = tempDir("kvkeys");
  const store = await openStore(await testStore(dir));
  const clock = new ManualClock(Date.UTC(2026, 10, 28, 12, 0, 0));
  const box = new SecretBox(randomBytes(32));
  const identity = await createIdentity({ db: store.db, clock, box, tokenLifetimeSeconds: 3600 });
  const boot = await identity.directory.bootstrap();
  const registry = new MemoryRegistry();
  const dp = createVaultDataPlane({
    db: store.db,
    clock,
    box,
    log: silentLogger(),
    directory: identity.directory,
    tokens: identity.tokens,
    arm: undefined as never,
    httpsPort: () => 8443,
    registry,
  });
  const admin = (await identity.directory.findPrincipal({ objectId: boot.credentials.objectId }))!;
  let n = 0;
  const tokens = new Map<string, { token: string; exp: number; issuedAt: number }>();
  const kit: Kit = {
    clock,
    store,
    identity,
    registry,
    dp,
    tenantId: boot.tenant.id,
    admin,
    async newPrincipal(name) {
      const c = await identity.directory.createServicePrincipal(boot.tenant.id, name);
      return (await identity.directory.findPrincipal({ objectId: c.objectId }))!;
    },
    async token(p, resource = "https://vault.azure.net") {
      // Reuse a token while the (manual) clock says it is fresh: tests move the clock by days.
      const key = `${p.objectId}|${resource}`;
      const hit = tokens.get(key);
      if (hit && hit.exp * 1000 - 60_000 > clock.now() && hit.issuedAt <= clock.now()) return hit.token;
      const t = await identity.tokens.issue(p, resource);
      tokens.set(key, { token: t.accessToken, exp: t.expiresOn, issuedAt: clock.now() });
      return t.accessToken;
    },
    addVault(name, props = {}) {
      const v: VaultRecord = {
        name: name.toLowerCase(),
        // A new incarnation each time, as the management plane does for a re-created name.
        uid: randomBytes(8).toString("hex"),
        id: `/subscriptions/${boot.subscription.id}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/${name}`,
        subscriptionId: boot.subscription.id,
        resourceGroup: "rg",
        location: "westeurope",
        tenantId: boot.tenant.id,
        accessPolicies: [policy(admin, ["all"])],
        enableRbacAuthorization: false,
        enableSoftDelete: true,
        softDeleteRetentionInDays: 90,
        enablePurgeProtection: false,
        networkAcls: { defaultAction: "Allow", bypass: "AzureServices", ipRules: [], virtualNetworkRules: [] },
        publicNetworkAccess: "Enabled",
        ...props,
      };
      registry.vaults.set(v.name, v);
      return v;
    },
    async call(method, url, opts = {}) {
      const u = url.startsWith("/") ? new URL(`https://${opts.host ?? "kv1.vault.azure.net"}${url}`) : new URL(url);
      const host = opts.host ?? u.host;
      const body = opts.rawBody !== undefined ? Buffer.from(opts.rawBody) : opts.body !== undefined ? Buffer.from(JSON.stringify(opts.body)) : Buffer.alloc(0);
      const req: SurfaceRequest = {
        method,
        host,
        origin: `https://${host.replace(/:443$/, "")}`,
        path: u.pathname,
        query: u.searchParams,
        headers: { ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}), ...opts.headers },
        body,
        requestId: `req-${++n}`,
        correlationId: `corr-${n}`,
        remoteAddress: opts.remoteAddress ?? "127.0.0.1",
      };
      const res = await dp.surface(req);
      if (!res) throw new Error(`surface declined ${method} ${url}`);
      return { ...res, json: res.body as any };
    },
    close: () => store.close(),
  };
  return kit;
}

// ---- end-to-end helpers (a real tdekv process; vaults through ARM) --------------------------------------

export const jwtClaims = (token: string): Record<string, any> => JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString("utf8"));

/** Creates (or replaces) a resource group and a vault through tdekv's ARM, as any ARM client would. */
export async function armVault(inst: Instance, rg: string, name: string, properties: Record<string, unknown> = {}): Promise<{ id: string; oid: string }> {
  const ep = inst.endpoints;
  const arm = await clientToken(inst, "https://management.azure.com/.default");
  const oid = jwtClaims(arm).oid as string;
  const headers = { authorization: `Bearer ${arm}`, "content-type": "application/json" };
  const rgRes = await request(inst, "PUT", `/subscriptions/${ep.subscriptionId}/resourceGroups/${rg}?api-version=2021-04-01`, { headers, body: JSON.stringify({ location: "westeurope" }) });
  if (rgRes.status >= 300) throw new Error(`resource group: ${rgRes.status} ${rgRes.text}`);
  const body = {
    location: "westeurope",
    properties: {
      tenantId: ep.tenantId,
      sku: { family: "A", name: "standard" },
      accessPolicies: [{ tenantId: ep.tenantId, objectId: oid, permissions: { keys: ["all"] } }],
      ...properties,
    },
  };
  const res = await request(inst, "PUT", `/subscriptions/${ep.subscriptionId}/resourceGroups/${rg}/providers/Microsoft.KeyVault/vaults/${name}?api-version=2024-11-01`, { headers, body: JSON.stringify(body) });
  if (res.status >= 300) throw new Error(`vault ${name}: ${res.status} ${res.text}`);
  return { id: res.json.id as string, oid };
}

/** An https.Agent that trusts tdekv's CA and resolves *.localhost to 127.0.0.1 (sdk-compat.md §3.3). */
export function localhostAgent(ca: Buffer): https.Agent {
  return new https.Agent({
    ca,
    keepAlive: true,
    lookup: ((host: string, opts: dns.LookupOptions, cb: (...args: any[]) => void) => dns.lookup(host === "localhost" || host.endsWith(".localhost") ? "127.0.0.1" : host, opts, cb)) as any,
  });
}

import path from "node:path";
import { ManualClock, SecretBox, silentLogger, type SurfaceRequest, type SurfaceResponse } from "../src/platform/index.js";
import { openStore, type OpenedStore } from "../src/storage/index.js";
import { testStore } from "./harness.js";
import { createIdentity } from "../src/identity/index.js";
import { createArm, armAudiences } from "../src/arm/index.js";
import { ActivityLog } from "../src/activity/index.js";
import { createAlerts, createAlertsRoute, type Alerts } from "../src/activity/alerts/index.js";

/**
 * The alerts component in-process on a real store, behind the real ARM surface, following a real Activity
 * Log, with a manual clock: what the suites use to append events directly (until, and besides, the
 * lifecycle of issue 5) and to restart the component on the same data dir.
 */
export interface Stack {
  opened: OpenedStore;
  activityLog: ActivityLog;
  alerts: Alerts;
  sub: string;
  tenantId: string;
  token: string;
  call(method: string, p: string, body?: unknown): Promise<{ status: number; body: any }>;
  route(method: string, p: string, token?: string): Promise<SurfaceResponse | undefined>;
  stop(): Promise<void>;
}

export async function bootStack(opts: { dataDir: string; masterKey: Buffer; clock: ManualClock; smtpUrl?: string; delayMs?: number; autohealWindowMs?: number }): Promise<Stack> {
  const { clock } = opts;
  const opened = await openStore(await testStore(opts.dataDir));
  const box = new SecretBox(opts.masterKey);
  const identity = await createIdentity({ db: opened.db, clock, box, tokenLifetimeSeconds: 365 * 24 * 3600 });
  const boot = await identity.directory.bootstrap();
  const arm = createArm({ db: opened.db, clock, directory: identity.directory, tokens: identity.tokens, audiences: () => armAudiences([]), adminTenantId: () => boot.tenant.id });
  const activityLog = new ActivityLog(opened.db, clock, opts.delayMs ?? 0);
  const alerts = createAlerts({ db: opened.db, clock, log: silentLogger(), arm: arm.services, activityLog, smtpUrl: opts.smtpUrl, autohealWindowMs: opts.autohealWindowMs ?? 30 * 60_000 });
  for (const p of alerts.providers) arm.register(p);
  const route = createAlertsRoute(alerts, { tokens: identity.tokens, audiences: () => armAudiences([]), directory: identity.directory });
  const principal = await identity.directory.findPrincipal({ objectId: boot.credentials.objectId });
  const token = (await identity.tokens.issue(principal!, "https://management.azure.com/")).accessToken;
  const request = (method: string, p: string, body: unknown, auth: string | undefined): SurfaceRequest => {
    const [pathname, query = ""] = p.split("?");
    const q = new URLSearchParams(query);
    if (!q.has("api-version") && !pathname!.startsWith("/_tdekv")) q.set("api-version", "2021-09-01");
    return {
      method,
      host: "management.azure.com",
      origin: "https://management.azure.com",
      path: pathname!,
      query: q,
      headers: { ...(auth ? { authorization: `Bearer ${auth}` } : {}), "content-type": "application/json" },
      body: body === undefined ? Buffer.alloc(0) : Buffer.from(typeof body === "string" ? body : JSON.stringify(body)),
      requestId: "r",
      correlationId: "c",
      remoteAddress: "127.0.0.1",
    };
  };
  alerts.start();
  return {
    opened,
    activityLog,
    alerts,
    sub: boot.subscription.id,
    tenantId: boot.tenant.id,
    token,
    async call(method, p, body) {
      const res = await arm.surface(request(method, p, body, token));
      return { status: res.status, body: res.body as any };
    },
    route: (method, p, auth = token) => route(request(method, p, undefined, auth || undefined)),
    async stop() {
      await alerts.stop();
      await opened.close();
    },
  };
}

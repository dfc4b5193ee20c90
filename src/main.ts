import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { type Clock, type Logger, type TdekvConfig, ChangeFeed, ManualClock, ScaledClock, SecretBox, systemClock } from "./platform/index.js";
import { ActivityLog, insightsEventsProvider } from "./activity/index.js";
import { createAlerts, createAlertsRoute } from "./activity/alerts/index.js";
import { openStore } from "./storage/index.js";
import { createIdentity } from "./identity/index.js";
import { createArm, armAudiences } from "./arm/index.js";
import { portalOrigins, prepareTls, startFrontDoor } from "./frontdoor/index.js";
import { createPortalHost } from "./portal-host/index.js";
import { createVault } from "./vault/index.js";
import { createSql, type ReopenReport } from "./sql/index.js";
import { vaultClient } from "./sql/vault-client.js";
import { VaultFaults, withFaults } from "./sql/faults.js";
import { HealthStore, Lifecycle, createHealthAdminRoutes, resourceHealthProvider } from "./health/index.js";
import { authorizeAdmin } from "./arm/index.js";
import { startTds } from "./tds/index.js";
import { createMetrics } from "./metrics/index.js";
import { Routing, createCluster, createClusterAdminRoute } from "./cluster/index.js";

/** What `<data-dir>/endpoints.json` holds: everything a client needs to reach this instance (issue 2 §2). */
export interface Endpoints {
  armEndpoint: string;
  authorityHost: string;
  proxyUrl: string;
  caCertFile: string;
  tenantId: string;
  subscriptionId: string;
  clientId: string;
  clientSecret: string;
  identityEndpoint: string;
  identityHeader: string;
  imdsEndpoint: string;
  /** The web portal (issue 9), on the direct origin; through the proxy it is https://management.azure.com/portal/. */
  portalUrl: string;
  httpsPort: number;
  proxyPort: number;
  /** The TDS listener (SQL Server clients); 0 when not listening. */
  tdsPort: number;
  host: string;
  dataDir: string;
  pid: number;
}

export interface RunningTdekv {
  endpoints: Endpoints;
  /** Databases reopened at start, and those whose key could not be reached (issue 4 §6). */
  reopened: ReopenReport;
  /** The control-plane store: its engine and the SQLite file or the password-redacted URL. */
  store: { engine: "sqlite" | "postgres"; description: string };
  stop(): Promise<void>;
}

export const ENDPOINTS_FILE = "endpoints.json";


/**
 * The master key (`--master-key-file`, default `<data-dir>/master.key`). Nodes of one cloud share one file:
 * vault key material and the token-signing key are sealed with it in the shared store.
 */
function loadMasterKey(file: string): Buffer {
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    // wx: two processes racing on a fresh data dir must not both write a key.
    try {
      fs.writeFileSync(file, randomBytes(32), { mode: 0o600, flag: "wx" });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
  }
  const key = fs.readFileSync(file);
  if (key.length !== 32) throw new Error(`${file} is not a 32-byte master key`);
  return key;
}

/** Writes a file so that a reader sees the old or the new content, never a torn one. */
function writeAtomic(file: string, content: string, mode = 0o600): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, content, { mode });
  fs.renameSync(tmp, file);
}

const urlHost = (host: string) => (host === "0.0.0.0" || host === "::" || host === "127.0.0.1" ? "localhost" : host.includes(":") ? `[${host}]` : host);
const dialHost = (host: string) => (host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "[::1]" : host.includes(":") ? `[${host}]` : host);

/**
 * Composition root: builds the stores and components, starts the listeners, and stops them in reverse
 * order (architecture.md, main.ts).
 */
export async function startTdekv(config: TdekvConfig, deps: { log: Logger; clock?: Clock }): Promise<RunningTdekv> {
  fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  // A manual clock resumes where it was left, so a restart never moves time backwards (issue 5 §3).
  const manualClockFile = path.join(config.dataDir, "manual-clock");
  const clock =
    deps.clock ??
    (config.clock === "manual"
      ? new ManualClock(fs.existsSync(manualClockFile) ? Math.max(Number(fs.readFileSync(manualClockFile, "utf8")) || 0, Date.now()) : Date.now())
      : config.timeScale > 1
        ? new ScaledClock(config.timeScale)
        : systemClock);
  const box = new SecretBox(loadMasterKey(config.masterKeyFile));
  // The SQLite file in the data dir unless --store names another (issue 11). Key material is sealed with the
  // master key (--master-key-file, shared by the nodes of one cloud) before any store sees it, so a PostgreSQL
  // store never holds plaintext keys.
  // A session idle inside a transaction for a lease period is a frozen node's: PostgreSQL ends it, so its
  // locks cannot hold up a takeover (docs/designs/2026-11-28-cluster.md).
  const store = await openStore(config.store ?? path.join(config.dataDir, "tdekv.db"), { idleInTransactionMs: config.leaseTtlSeconds * 1000 });
  // How fast tdekv's clock runs against real time, for the portal's countdown (issue 9 §3).
  const clockRate = () => (clock instanceof ManualClock ? 0 : clock instanceof ScaledClock ? config.timeScale : 1);
  // The portal's change hints (issue 9 §4): components emit, the portal host streams them.
  const feed = new ChangeFeed(clock);
  try {
    let port = config.port;
    let bootTenantId = "";
    const identity = await createIdentity({
      db: store.db,
      clock,
      box,
      tokenLifetimeSeconds: config.tokenLifetimeSeconds,
      portalOrigins: () => portalOrigins(config.host, port),
      bootstrapTenantId: () => bootTenantId,
    });
    const boot = await identity.directory.bootstrap();
    bootTenantId = boot.tenant.id;
    const tls = await prepareTls(config.dataDir, [config.host]);
    const armAudienceList = () => armAudiences([`https://localhost:${port}`, `https://127.0.0.1:${port}`, `https://${urlHost(config.host)}:${port}`]);
    const arm = createArm({
      db: store.db,
      clock,
      directory: identity.directory,
      tokens: identity.tokens,
      audiences: armAudienceList,
      adminTenantId: () => boot.tenant.id,
    });
    arm.services.store.onChange = (id) => feed.emit("resource.changed", id);
    const faults = new VaultFaults();
    let sqlVault!: ReturnType<typeof withFaults>;
    const vault = createVault({
      db: store.db,
      clock,
      box,
      log: deps.log,
      directory: identity.directory,
      tokens: identity.tokens,
      arm: arm.services,
      httpsPort: () => port,
      onKeysChanged: (vaultId) => feed.emit("resource.changed", vaultId),
    });
    for (const provider of vault.management.providers) arm.register(provider);
    sqlVault = withFaults(vaultClient(vault.dataPlane.invoke, identity.tokens, clock), faults, config.vaultTimeoutSeconds * 1000);
    const sql = createSql({
      db: store.db,
      clock,
      box,
      log: deps.log,
      directory: identity.directory,
      tokens: identity.tokens,
      arm: arm.services,
      vault: sqlVault,
      dataDir: config.dataDir,
      audiences: armAudienceList,
      rotationCheckMs: config.rotationCheckSeconds * 1000,
    });
    arm.register(sql.provider);
    const activityLog = new ActivityLog(store.db, clock, config.activityLogDelaySeconds * 1000);
    activityLog.onAppend((e) => {
      feed.emit("activity.appended", e.data.resourceId);
      // Resource Health is written as Activity Log events (health/lifecycle.ts setAvailability).
      if (e.data.category.value === "ResourceHealth") feed.emit("health.changed", e.data.resourceId);
    });
    arm.services.recordOperation = async (e) => {
      await activityLog.append({ ...e, category: "Administrative", eventName: "EndRequest", level: "Informational" });
    };
    arm.register(insightsEventsProvider(activityLog));
    // Membership and probe leases (issue 11 slice 2): its own loop on the lease clock, never tdekv's Clock.
    // The probe worker: one pass per interval, never overlapping (a slow vault delays only this loop); also
    // at once after leases were taken over, with one more pass queued if one is running (it may have passed
    // the new targets by).
    let probing: Promise<unknown> | undefined;
    let probeAgain = false;
    let probeLoopStarted = false;
    const probeNow = (): void => {
      if (!probeLoopStarted) return;
      if (probing) {
        probeAgain = true;
        return;
      }
      probing = lifecycle
        .pass()
        .catch((err: Error) => deps.log.error({ err: err.message }, "probe pass failed"))
        .finally(() => {
          probing = undefined;
          if (probeAgain) {
            probeAgain = false;
            probeNow();
          }
        });
    };
    const cluster = createCluster({
      db: store.db,
      engine: store.engine,
      log: deps.log,
      ttlMs: config.leaseTtlSeconds * 1000,
      renewMs: config.leaseRenewSeconds * 1000,
      targetKeys: () => sql.lifecyclePort.targetKeys(),
      onTakeover: () => probeNow(),
    });
    sql.setPlacement({
      mayOpen: async (id, here) => (await cluster.ready(), cluster.placement.mayOpen(id, here)),
      holds: async (id) => (await cluster.ready(), cluster.placement.holds(id)),
      heldElsewhere: async (id) => (await cluster.ready(), cluster.placement.heldElsewhere(id)),
    });
    // Requests for a database held by another node go to it, or answer 40613 while it is down (issue 11 §3).
    const routing = new Routing({ db: store.db, engine: store.engine, ttlMs: config.leaseTtlSeconds * 1000, nodeName: () => cluster.name(), ready: () => cluster.ready() });
    sql.dataAccess.setRouting(routing);
    const alerts = createAlerts({ db: store.db, clock, log: deps.log, arm: arm.services, activityLog, smtpUrl: config.smtpUrl, autohealWindowMs: config.autohealWindowSeconds * 1000, onNotification: (id) => feed.emit("notification.sent", id),
      // The alert loops lease their work as this node (issue 11): same incarnation id, lease TTL and renew period.
      nodeId: cluster.nodeId,
      engine: store.engine,
      leaseTtlMs: config.leaseTtlSeconds * 1000,
      leaseRenewMs: config.leaseRenewSeconds * 1000,
    });
    const alertsRoute = createAlertsRoute(alerts, { tokens: identity.tokens, audiences: armAudienceList, directory: identity.directory });
    for (const provider of alerts.providers) arm.register(provider);
    const healthStore = new HealthStore(store.db);
    // Prometheus metrics (issue 11 §4): read-outs of the lifecycle and the outbox, and the lifecycle's probes timed.
    let lifecycle!: Lifecycle;
    const metrics = createMetrics({
      lifecycle: { snapshot: () => lifecycle.snapshot() },
      outboxCounts: () => alerts.outboxCounts(),
      node: () => ({ name: cluster.name() || `${os.hostname()}:${port}`, store: store.engine }),
      leaseTakeovers: () => cluster.takeovers(),
      leasesHeld: () => cluster.leasesHeld(),
      fencedWrites: () => cluster.fencedWrites(),
      alertRedeliveries: () => alerts.redeliveries(),
      alertFencedWrites: () => alerts.fencedWrites(),
    });
    lifecycle = new Lifecycle({ store: healthStore, activity: activityLog, port: metrics.instrument(sql.lifecyclePort), clock, log: deps.log, windowMs: config.autohealWindowSeconds * 1000, ownership: cluster.ownership });
    const dbRef = (db: { id: string; name: string; location: string; properties: { databaseId: string } }) => ({ id: db.id, name: db.name, databaseId: db.properties.databaseId, location: db.location });
    sql.setLifecycle({
      revalidate: (serverId, databaseId) => lifecycle.revalidate(serverId, databaseId),
      async denied(serverId, db) {
        const t = await sql.lifecyclePort.target(serverId);
        if (t) await lifecycle.denied(t, dbRef(db));
      },
      async openFailed(serverId, outcome) {
        const t = await sql.lifecyclePort.target(serverId);
        if (t?.kid) await lifecycle.openFailed(t, outcome);
      },
      forgetDatabase: async (id) => {
        await healthStore.forgetDatabase(id);
        await cluster.placement.forget(id);
      },
      forgetServer: (id) => healthStore.forgetTarget(id.toLowerCase()),
      serverMoved: (oldId, newId) => healthStore.rekeyServer(oldId.toLowerCase(), newId.toLowerCase()),
    });
    arm.register(resourceHealthProvider(arm.services, lifecycle));
    const adminDeps = { tokens: identity.tokens, audiences: armAudienceList, adminTenantId: () => boot.tenant.id };
    const healthAdmin = createHealthAdminRoutes({
      lifecycle,
      clock,
      faults,
      authorize: (req) => authorizeAdmin(req, adminDeps),
      onClockMoved: async (now) => {
        writeAtomic(manualClockFile, String(now));
        feed.clockMoved();
      },
      windowMs: config.autohealWindowSeconds * 1000,
      clockRate,
      vaultCalls: () => sqlVault.calls(),
    });
    const backupAdmin = sql.backup.adminRoutes((req) => authorizeAdmin(req, adminDeps));
    const clusterAdmin = createClusterAdminRoute({ view: () => cluster.view(), authorize: (req) => authorizeAdmin(req, adminDeps) });
    const portal = createPortalHost({ feed, clock, clockRate, authorize: (req) => authorizeAdmin(req, adminDeps), revokeSessions: (oid) => identity.grants.revoke(oid) });
    const frontDoor = await startFrontDoor({
      tls,
      host: config.host,
      port: config.port,
      proxyPort: config.proxyPort,
      surfaces: { portal: portal.surface, login: identity.routes, graph: identity.graph, arm: async (req) => (await healthAdmin(req)) ?? (await clusterAdmin(req)) ?? (await backupAdmin(req)) ?? (await alertsRoute(req)) ?? (await sql.queryRoute(req)) ?? (await sql.armForward(req)) ?? arm.surface(req), vault: vault.dataPlane.surface, metrics: metrics.route },
      log: deps.log,
    });
    port = frontDoor.port;
    let tds: Awaited<ReturnType<typeof startTds>>;
    try {
      tds = await startTds({ host: config.host, port: config.tdsPort, tls, log: deps.log, access: sql.dataAccess });
    } catch (err) {
      await frontDoor.stop();
      throw err;
    }
    const origin = `https://${urlHost(config.host)}:${frontDoor.port}`;
    // Join the cluster once the name (default host:port) and listeners are known, before reopening files:
    // placement decides which files this node opens.
    try {
      await cluster.start({ name: config.nodeName ?? `${os.hostname()}:${frontDoor.port}`, httpsUrl: origin, tdsPort: tds.port });
      // Other nodes verify this node's certificates (TDS Proxy, forwarded queries) against its CA.
      await routing.publish(cluster.nodeId, tls.caCertPem);
    } catch (err) {
      await tds.stop();
      await frontDoor.stop();
      throw err;
    }
    const reopened = await sql.reopenAll();
    // The owner follows transitions other nodes decide for its files (local-disk mode, scale-out.md §3.4).
    // With several nodes (a shared engine) each owner also rewraps its files when another node changed their
    // server's protector; a lone SQLite node changes every protector itself.
    cluster.startPlacement(store.engine === "postgres" ? { ...sql.files, followProtectors: () => sql.followProtectors() } : sql.files);
    sql.startWorkers();
    probeLoopStarted = true;
    const monitor = setInterval(probeNow, config.probeIntervalSeconds * 1000);
    monitor.unref();
    alerts.start();
    const proxyOrigin = `http://${dialHost(config.host)}:${frontDoor.proxyPort}`;
    const endpoints: Endpoints = {
      armEndpoint: origin,
      authorityHost: origin,
      proxyUrl: proxyOrigin,
      caCertFile: tls.caCertFile,
      tenantId: boot.tenant.id,
      subscriptionId: boot.subscription.id,
      clientId: boot.credentials.clientId,
      clientSecret: boot.credentials.clientSecret,
      identityEndpoint: `${proxyOrigin}/msi/token`,
      identityHeader: identity.identityHeader,
      imdsEndpoint: proxyOrigin,
      portalUrl: `${origin}/portal/`,
      httpsPort: frontDoor.port,
      tdsPort: tds.port,
      proxyPort: frontDoor.proxyPort,
      host: config.host,
      dataDir: config.dataDir,
      pid: process.pid,
    };
    writeAtomic(path.join(config.dataDir, ENDPOINTS_FILE), JSON.stringify(endpoints, null, 2) + "\n");
    return {
      endpoints,
      reopened,
      store: { engine: store.engine, description: store.description },
      async stop() {
        probeLoopStarted = false;
        clearInterval(monitor);
        await probing;
        await tds.stop();
        await frontDoor.stop();
        await alerts.stop();
        // Marks this node stopped and frees its leases: the others take its targets at their next renew.
        await cluster.stop();
        await sql.close();
        await store.close();
      },
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}

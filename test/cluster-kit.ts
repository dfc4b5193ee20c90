import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { spawnSync } from "node:child_process";
import pg from "pg";
import { AzureRest, type Credentials } from "../src/doctor/index.js";
import { BIN, startInstance, tempDir, type Instance } from "./harness.js";
import { startPgCluster, type PgCluster } from "./pg-cluster.js";

/**
 * Issue 11's lab (scale-out.md §4.1, §4.2) for tests and benches: one throw-away PostgreSQL with fsync on, one
 * master key file shared by the nodes of the cloud, and N real `tdekv start` processes on loopback (separate
 * data dirs, the same `--store`, every port picked by the OS). Node 1 starts first and bootstraps the tenant
 * in the store; the others join it. Chaos helpers act on the real processes: kill -9, SIGSTOP / SIGCONT,
 * restart on the same data dir.
 */

export interface ClusterOptions {
  nodes: number;
  /** Probe interval, lease TTL and renew period in seconds (the lab's 2 / 3 / 1 by default). */
  probeIntervalSeconds?: number;
  leaseTtlSeconds?: number;
  leaseRenewSeconds?: number;
  /** Extra `tdekv start` arguments for every node. */
  args?: string[];
  /** fsync on (default true): chaos tests that claim 0 lost writes keep it on (scale-out.md §4.1). */
  durable?: boolean;
  env?: Record<string, string>;
}

export interface ClusterNode {
  /** 1-based, as in n1, n2, n3. */
  index: number;
  name: string;
  dataDir: string;
  inst: Instance;
  /** "up", "killed" (kill -9, not restarted), "stopped" (SIGSTOP) or "down" (stopped cleanly). */
  status: "up" | "killed" | "stopped" | "down";
  /** ARM and tdekv admin calls against this node, with its own CA (each data dir has its own). */
  rest: AzureRest;
  /** `tdekv start` ready time of the last start, ms. */
  startMs: number;
  /** The last few KB of the process's stderr (why it died, if it did). */
  stderrTail: () => string;
}

/** What `GET /_tdekv/cluster` answers (the cluster slice of issue 11; src/cluster/cluster.ts ClusterView). */
export interface ClusterView {
  /** This node's id (one per start). */
  self: string;
  nodes: { nodeId: string; name: string; httpsUrl: string; tdsPort: number; pid: number; startedAt: number; seenAt: number; alive: boolean; leases: number; databases: string[] }[];
  leases: { serverKey: string; owner: string | null; ownerName: string | null; epoch: number; leaseUntil: number }[];
  leaseTtlMs: number;
  leaseNowMs: number;
}

/** The `tdekv start` flags this build knows, read from its --help (the cluster slice may not have landed yet). */
export function startFlags(): Set<string> {
  const r = spawnSync(process.execPath, [BIN, "start", "--help"], { encoding: "utf8" });
  return new Set([...(r.stdout ?? "").matchAll(/(--[a-z][a-z0-9-]*)/g)].map((m) => m[1]!));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls (bounded) until `probe` answers something truthy; the deadline is generous, never asserted on as speed. */
export async function until<T>(what: string, probe: () => T | undefined | false | null | Promise<T | undefined | false | null>, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (err) {
      lastErr = err;
    }
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? ` (last error: ${(lastErr as Error).message})` : ""}`);
    await sleep(everyMs);
  }
}

export class Cluster {
  readonly nodes: ClusterNode[] = [];
  readonly pgPool: pg.Pool;
  /** Flags of this build; the cluster ones are passed only when known. */
  readonly flags: Set<string>;
  private closed = false;

  private constructor(
    readonly postgres: PgCluster,
    readonly store: string,
    readonly masterKeyFile: string,
    readonly opts: Required<Pick<ClusterOptions, "probeIntervalSeconds" | "leaseTtlSeconds" | "leaseRenewSeconds">> & ClusterOptions,
  ) {
    this.pgPool = new pg.Pool({ connectionString: store, max: 4 });
    this.pgPool.on("error", () => {});
    this.flags = startFlags();
  }

  /** PostgreSQL, the master key file, node 1 (it bootstraps the tenant), then the others in parallel. */
  static async start(options: ClusterOptions): Promise<Cluster> {
    const pgc = await startPgCluster({ durable: options.durable ?? true });
    let c: Cluster | undefined;
    try {
      const store = await pgc.createDatabase("tdekv_cluster");
      const keyDir = tempDir("cluster-key");
      const masterKeyFile = path.join(keyDir, "master.key");
      fs.writeFileSync(masterKeyFile, randomBytes(32), { mode: 0o600 });
      c = new Cluster(pgc, store, masterKeyFile, { probeIntervalSeconds: 2, leaseTtlSeconds: 3, leaseRenewSeconds: 1, ...options });
      await c.add(1);
      await Promise.all(Array.from({ length: options.nodes - 1 }, (_, i) => c!.add(i + 2)));
      return c;
    } catch (err) {
      if (c) await c.close();
      else await pgc.stop();
      throw err;
    }
  }

  /** Whether this build has the cluster slice (node names, leases, GET /_tdekv/cluster). */
  get clustered(): boolean {
    return this.flags.has("--node-name") && this.flags.has("--lease-ttl-seconds");
  }

  private args(node: { name: string; dataDir: string }): string[] {
    const o = this.opts;
    const a = ["--store", this.store, "--probe-interval", String(o.probeIntervalSeconds), "--token-lifetime", "86400", "--log-level", "warn"];
    if (this.flags.has("--node-name")) a.push("--node-name", node.name);
    if (this.flags.has("--master-key-file")) a.push("--master-key-file", this.masterKeyFile);
    else fs.copyFileSync(this.masterKeyFile, path.join(node.dataDir, "master.key")); // before the flag: <data-dir>/master.key
    if (this.flags.has("--lease-ttl-seconds")) a.push("--lease-ttl-seconds", String(o.leaseTtlSeconds));
    if (this.flags.has("--lease-renew-seconds")) a.push("--lease-renew-seconds", String(o.leaseRenewSeconds));
    return [...a, ...(o.args ?? [])];
  }

  private async launch(name: string, dataDir: string): Promise<{ inst: Instance; startMs: number; stderrTail: () => string }> {
    const t0 = performance.now();
    const inst = await startInstance({ dataDir, args: this.args({ name, dataDir }), env: { ...(this.opts.env ?? {}) } });
    let tail = "";
    inst.child.stderr!.on("data", (d: Buffer) => (tail = (tail + d.toString()).slice(-4000)));
    return { inst, startMs: performance.now() - t0, stderrTail: () => tail };
  }

  /** Whether the node's process has exited (crashed, killed, stopped). */
  exited(node: ClusterNode): boolean {
    return node.inst.child.exitCode !== null || node.inst.child.signalCode !== null;
  }

  private restFor(inst: Instance): AzureRest {
    const ep = inst.endpoints;
    const creds: Credentials = { tenantId: ep.tenantId, clientId: ep.clientId, clientSecret: ep.clientSecret };
    return new AzureRest({ baseUrl: ep.armEndpoint, ca: inst.ca, credentials: creds, admin: creds });
  }

  private async add(index: number): Promise<ClusterNode> {
    const name = `n${index}`;
    const dataDir = tempDir(`cluster-${name}`);
    fs.chmodSync(dataDir, 0o700);
    const { inst, startMs, stderrTail } = await this.launch(name, dataDir);
    const node: ClusterNode = { index, name, dataDir, inst, status: "up", rest: this.restFor(inst), startMs, stderrTail };
    this.nodes[index - 1] = node;
    return node;
  }

  node(nameOrIndex: string | number): ClusterNode {
    const n = typeof nameOrIndex === "number" ? this.nodes[nameOrIndex - 1] : this.nodes.find((x) => x.name === nameOrIndex);
    if (!n) throw new Error(`no node ${nameOrIndex}`);
    return n;
  }

  /** Nodes that answer requests now (not killed, not stopped). */
  live(): ClusterNode[] {
    return this.nodes.filter((n) => n.status === "up");
  }

  /** kill -9: no shutdown path runs; resolves once the process is gone. */
  async kill9(node: ClusterNode): Promise<void> {
    const exited = new Promise<void>((resolve) => (node.inst.child.exitCode !== null || node.inst.child.signalCode !== null ? resolve() : node.inst.child.once("exit", () => resolve())));
    node.inst.child.kill("SIGKILL");
    await exited;
    node.status = "killed";
  }

  /** SIGSTOP: the process freezes with its sockets and leases as they are. */
  stop(node: ClusterNode): void {
    node.inst.child.kill("SIGSTOP");
    node.status = "stopped";
  }

  /** SIGCONT after stop(). */
  cont(node: ClusterNode): void {
    node.inst.child.kill("SIGCONT");
    node.status = "up";
  }

  /** Starts the node again on its data dir (new ports); stops it first (SIGINT) if it still runs. */
  async restart(node: ClusterNode): Promise<ClusterNode> {
    if (node.status === "stopped") this.cont(node);
    if (node.status === "up" && !this.exited(node)) await node.inst.stop();
    const { inst, startMs, stderrTail } = await this.launch(node.name, node.dataDir);
    node.inst = inst;
    node.stderrTail = stderrTail;
    node.rest = this.restFor(inst);
    node.status = "up";
    node.startMs = startMs;
    return node;
  }

  /** GET /_tdekv/cluster on a node, as the bootstrap tenant's principal. */
  async cluster(node: ClusterNode = this.live()[0]!): Promise<ClusterView> {
    return (await node.rest.tdekv("GET", "/_tdekv/cluster")) as ClusterView;
  }

  /** GET /metrics (Prometheus text) on a node. */
  async metrics(node: ClusterNode): Promise<string> {
    const res = await node.rest.request(new URL(node.inst.endpoints.armEndpoint).host, "GET", "/metrics");
    if (res.status !== 200) throw new Error(`GET /metrics on ${node.name}: ${res.status}`);
    return typeof res.body === "string" ? res.body : String(res.body);
  }

  /** One query on the shared store. */
  async pgQuery<R extends pg.QueryResultRow = any>(text: string, params: unknown[] = []): Promise<R[]> {
    return (await this.pgPool.query<R>(text, params)).rows;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(
      this.nodes.map(async (n) => {
        if (!n || n.status === "killed" || n.status === "down") return;
        if (n.status === "stopped") this.cont(n);
        const child = n.inst.child;
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await n.inst.stop().catch(() => undefined);
        clearTimeout(timer);
        n.status = "down";
      }),
    );
    await this.pgPool.end().catch(() => undefined);
    await this.postgres.stop();
    for (const n of this.nodes) if (n) fs.rmSync(n.dataDir, { recursive: true, force: true });
    fs.rmSync(path.dirname(this.masterKeyFile), { recursive: true, force: true });
  }
}

/** A metric's value (the sum over its label sets when `labels` is not given), from Prometheus text; undefined if absent. */
export function metricValue(text: string, name: string, labels?: Record<string, string>): number | undefined {
  let found = false;
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name) || (line[name.length] !== " " && line[name.length] !== "{")) continue;
    const m = /^([^\s{]+)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    if (labels && !Object.entries(labels).every(([k, v]) => (m[2] ?? "").includes(`${k}="${v}"`))) continue;
    found = true;
    sum += Number(m[3]);
  }
  return found ? sum : undefined;
}

/** Runs `work` over `items` with at most `limit` in flight. */
export async function pool<T>(items: T[], limit: number, work: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await work(items[i]!, i);
      }
    }),
  );
}

export const FLEET_RG = "fleet-rg";
export const FLEET_VAULT = "kv-fleet";

export interface Fleet {
  subscriptionId: string;
  vaultId: string;
  kid: string;
  identityId: string;
  principalId: string;
  /** Server resource ids, in creation order. */
  servers: string[];
  /** Per server, its databases' resource ids (empty without databases). */
  databases: string[][];
  /** Wall time of each seeding step, ms. */
  timings: { vaultAndKeyMs: number; serversMs: number; databasesMs: number };
}

/**
 * Seeds probe targets through the real ARM API (scale-out.md §4.4 setup): one vault with one RSA key, one
 * user-assigned identity with get/wrapKey/unwrapKey on it, and `servers` servers created straight onto the
 * key (keyId + primaryUserAssignedIdentityId, one PUT each, as servers.ts supports). Servers go through
 * `via` (node 1 by default), or every live node in turn with `spread`, with at most `concurrency` requests in
 * flight. With `databasesPerServer`, each
 * server gets that many databases, created through `dbVia(serverIndex)` (the node that should serve them).
 */
export async function seedFleet(
  c: Cluster,
  servers: number,
  opts: {
    concurrency?: number;
    via?: ClusterNode;
    /** Servers go to the live nodes in turn instead of all to `via` (each PUT hashes the admin password with scrypt on the node's event loop). */
    spread?: boolean;
    databasesPerServer?: number;
    dbVia?: (serverIndex: number) => ClusterNode;
    prefix?: string;
    onProgress?: (done: number) => void;
  } = {},
): Promise<Fleet> {
  const via = opts.via ?? c.node(1);
  const live = c.live();
  const serverVia = (i: number) => (opts.spread ? live[i % live.length]! : via);
  const rest = via.rest;
  const sub = via.inst.endpoints.subscriptionId;
  const tenantId = via.inst.endpoints.tenantId;
  const concurrency = opts.concurrency ?? 8;
  const rg = `/subscriptions/${sub}/resourceGroups/${FLEET_RG}`;
  const t0 = performance.now();
  await rest.armOk("PUT", `/subscriptions/${sub}/resourcegroups/${FLEET_RG}?api-version=2021-04-01`, { location: "eastus" });
  const adminOid = JSON.parse(Buffer.from((await rest.token("https://management.azure.com/.default")).split(".")[1]!, "base64url").toString("utf8")).oid as string;
  const identityId = `${rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/fleet-id`;
  const identity = await rest.armOk("PUT", `${identityId}?api-version=2023-01-31`, { location: "eastus" });
  const principalId = identity.properties.principalId as string;
  const vaultId = `${rg}/providers/Microsoft.KeyVault/vaults/${FLEET_VAULT}`;
  await rest.armOk("PUT", `${vaultId}?api-version=2022-07-01`, {
    location: "eastus",
    properties: {
      tenantId,
      sku: { family: "A", name: "standard" },
      accessPolicies: [
        { tenantId, objectId: adminOid, permissions: { keys: ["all"] } },
        { tenantId, objectId: principalId, permissions: { keys: ["get", "wrapKey", "unwrapKey"] } },
      ],
      enableSoftDelete: true,
      enablePurgeProtection: true,
    },
  });
  const kid = (await rest.vaultOk(FLEET_VAULT, "POST", "/keys/fleet/create?api-version=7.4", { kty: "RSA", key_size: 2048 })).key.kid as string;
  const t1 = performance.now();
  const prefix = opts.prefix ?? "fleet";
  const ids = Array.from({ length: servers }, (_, i) => `${rg}/providers/Microsoft.Sql/servers/${prefix}-${i}`);
  let done = 0;
  await pool(ids, concurrency, async (id, i) => {
    await retrying(() =>
      serverVia(i).rest.armOk("PUT", `${id}?api-version=2021-11-01`, {
        location: "eastus",
        identity: { type: "UserAssigned", userAssignedIdentities: { [identityId]: {} } },
        properties: { administratorLogin: "fleetadmin", administratorLoginPassword: "Str0ng!Passw0rd", primaryUserAssignedIdentityId: identityId, keyId: kid },
      }),
    );
    opts.onProgress?.(++done);
  });
  const t2 = performance.now();
  const databases: string[][] = ids.map(() => []);
  const per = opts.databasesPerServer ?? 0;
  if (per > 0) {
    const jobs = ids.flatMap((id, i) => Array.from({ length: per }, (_, j) => ({ i, id: `${id}/databases/db${j}` })));
    await pool(jobs, concurrency, async ({ i, id }) => {
      const node = opts.dbVia ? opts.dbVia(i) : via;
      await retrying(() => node.rest.armOk("PUT", `${id}?api-version=2021-11-01`, { location: "eastus" }));
      databases[i]!.push(id);
    });
  }
  const t3 = performance.now();
  return { subscriptionId: sub, vaultId, kid, identityId, principalId, servers: ids, databases, timings: { vaultAndKeyMs: t1 - t0, serversMs: t2 - t1, databasesMs: t3 - t2 } };
}

/** A PUT is idempotent: retry a few times over transient errors (a store serialization retry, a reset socket). */
async function retrying<T>(fn: () => Promise<T>, attempts = 4): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts) throw err;
      await sleep(100 * i);
    }
  }
}

/**
 * The webhook receiver of the alert traffic: a node:http server on loopback that answers 200 to every POST,
 * records every body, and counts distinct Activity Log event ids (common alert schema:
 * data.alertContext.eventDataId; legacy schema: data.context.activityLog.eventDataId).
 */
export class WebhookSink {
  readonly posts: { at: number; eventDataId: string | undefined; body: unknown }[] = [];
  private server: http.Server | undefined;
  port = 0;
  /** Delay before answering, ms (a slow receiver). */
  delayMs = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (d: Buffer) => chunks.push(d));
      req.on("end", () => {
        let body: any = undefined;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        } catch {
          body = Buffer.concat(chunks).toString("utf8");
        }
        const id = body?.data?.alertContext?.eventDataId ?? body?.data?.context?.activityLog?.eventDataId;
        this.posts.push({ at: Date.now(), eventDataId: typeof id === "string" ? id : undefined, body });
        const answer = () => {
          res.writeHead(200, { "content-type": "application/json" });
          res.end("{}");
        };
        if (this.delayMs > 0) setTimeout(answer, this.delayMs);
        else answer();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", () => resolve()));
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** Distinct event ids received, and how many posts repeated an id already received. */
  counts(): { posts: number; distinct: number; duplicates: number; ids: Set<string> } {
    const ids = new Set<string>();
    for (const p of this.posts) if (p.eventDataId) ids.add(p.eventDataId);
    return { posts: this.posts.length, distinct: ids.size, duplicates: this.posts.length - ids.size, ids };
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

export const TRAFFIC_RGS = ["traffic-a", "traffic-b"] as const;
export const MOVE_OPERATION = "Microsoft.Resources/subscriptions/resourceGroups/moveResources/action";

/**
 * Alert traffic. tdekv writes an Administrative Activity Log event for ARM resource moves (one in the source
 * and one in the target group), so the traffic is a set of small servers (service-managed TDE: no probe
 * target) moved back and forth between two resource groups, each move sent to the next live node in turn,
 * at a steady rate. An action group with the sink as its webhook and an activity log alert rule on the
 * subscription's move events turn each event into one outbox row.
 */
export class AlertTraffic {
  moves = 0;
  failedMoves = 0;
  private running = false;
  private loop: Promise<void> | undefined;
  private where: (number | undefined)[] = [];
  private turn = 0;

  constructor(
    readonly c: Cluster,
    readonly sink: WebhookSink,
    readonly resources = 12,
  ) {}

  get sub(): string {
    return this.c.node(1).inst.endpoints.subscriptionId;
  }

  private serverId(i: number, rg: number): string {
    return `/subscriptions/${this.sub}/resourceGroups/${TRAFFIC_RGS[rg]}/providers/Microsoft.Sql/servers/traffic-${i}`;
  }

  /** The resource groups, the traffic servers, the action group and the rule (created last: it fires only for later events). */
  async setup(): Promise<void> {
    const rest = this.c.node(1).rest;
    for (const rg of TRAFFIC_RGS) await rest.armOk("PUT", `/subscriptions/${this.sub}/resourcegroups/${rg}?api-version=2021-04-01`, { location: "eastus" });
    await pool(
      Array.from({ length: this.resources }, (_, i) => i),
      4,
      async (i) => {
        await rest.armOk("PUT", `${this.serverId(i, 0)}?api-version=2021-11-01`, { location: "eastus", properties: { administratorLogin: "trafficadmin", administratorLoginPassword: "Str0ng!Passw0rd" } });
      },
    );
    this.where = Array.from({ length: this.resources }, () => 0);
    const rg = `/subscriptions/${this.sub}/resourceGroups/${TRAFFIC_RGS[0]}`;
    const agId = `${rg}/providers/microsoft.insights/actionGroups/traffic-ag`;
    await rest.armOk("PUT", `${agId}?api-version=2023-01-01`, {
      location: "Global",
      properties: { groupShortName: "traffic", enabled: true, webhookReceivers: [{ name: "sink", serviceUri: this.sink.url, useCommonAlertSchema: true }] },
    });
    await rest.armOk("PUT", `${rg}/providers/microsoft.insights/activityLogAlerts/traffic-moves?api-version=2020-10-01`, {
      location: "Global",
      properties: {
        scopes: [`/subscriptions/${this.sub}`],
        enabled: true,
        condition: { allOf: [{ field: "category", equals: "Administrative" }, { field: "operationName", equals: MOVE_OPERATION }] },
        actions: { actionGroups: [{ actionGroupId: agId }] },
      },
    });
  }

  /** Starts moving at `movesPerSecond` (each move writes 2 events). */
  start(movesPerSecond: number): void {
    if (this.running) return;
    this.running = true;
    const gap = 1000 / movesPerSecond;
    const inFlight = new Set<Promise<void>>();
    this.loop = (async () => {
      let i = 0;
      let next = performance.now();
      while (this.running) {
        const r = i++ % this.resources;
        if (this.where[r] !== undefined && !this.busy.has(r)) {
          const p = this.moveOne(r).finally(() => inFlight.delete(p));
          inFlight.add(p);
        }
        next += gap;
        const wait = next - performance.now();
        if (wait > 0) await sleep(wait);
      }
      await Promise.all(inFlight);
    })();
  }

  private busy = new Set<number>();

  private nextNode(): ClusterNode | undefined {
    const live = this.c.live();
    if (live.length === 0) return undefined;
    return live[this.turn++ % live.length];
  }

  private async moveOne(r: number): Promise<void> {
    const node = this.nextNode();
    const from = this.where[r];
    if (!node || from === undefined) return;
    this.busy.add(r);
    const to = 1 - from;
    try {
      const res = await node.rest.arm("POST", `/subscriptions/${this.sub}/resourceGroups/${TRAFFIC_RGS[from]}/moveResources?api-version=2021-04-01`, {
        resources: [this.serverId(r, from)],
        targetResourceGroup: `/subscriptions/${this.sub}/resourceGroups/${TRAFFIC_RGS[to]}`,
      });
      // The move runs before the 202 is sent (arm/operations.ts): 202 means it happened.
      if (res.status === 202) {
        this.where[r] = to;
        this.moves++;
      } else {
        this.failedMoves++;
        await this.locate(r);
      }
    } catch {
      this.failedMoves++;
      await this.locate(r);
    } finally {
      this.busy.delete(r);
    }
  }

  /** After a failed move (its node died mid-request): find where the server is now. */
  private async locate(r: number): Promise<void> {
    this.where[r] = undefined;
    for (let attempt = 0; attempt < 5 && this.where[r] === undefined; attempt++) {
      const node = this.nextNode();
      if (!node) return;
      try {
        for (const rg of [0, 1]) {
          if ((await node.rest.arm("GET", `${this.serverId(r, rg)}?api-version=2021-11-01`)).status === 200) {
            this.where[r] = rg;
            return;
          }
        }
      } catch {
        await sleep(200);
      }
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

/** Per target: the distinct lastProbeAt values seen by sampling health_targets, with who wrote them. */
export interface ProbeSample {
  at: number;
  rows: Map<string, { lastProbeAt: number | undefined; probedBy: string | null; epoch: number | null; raw: string }>;
}

/** Reads every health_targets row (state JSON, and probed_by / lease_epoch when the cluster slice added them). */
export async function sampleTargets(c: Cluster): Promise<ProbeSample> {
  const cols = await targetColumns(c);
  const rows = await c.pgQuery<{ server_key: string; state: string; probed_by?: string | null; lease_epoch?: string | number | null }>(
    `SELECT server_key, state${cols.has("probed_by") ? ", probed_by" : ""}${cols.has("lease_epoch") ? ", lease_epoch" : ""} FROM health_targets`,
  );
  const at = Date.now();
  const out = new Map<string, { lastProbeAt: number | undefined; probedBy: string | null; epoch: number | null; raw: string }>();
  for (const r of rows) {
    const st = JSON.parse(r.state) as { lastProbeAt?: number };
    out.set(r.server_key, { lastProbeAt: st.lastProbeAt, probedBy: r.probed_by ?? null, epoch: r.lease_epoch === null || r.lease_epoch === undefined ? null : Number(r.lease_epoch), raw: `${r.state}|${r.probed_by ?? ""}|${r.lease_epoch ?? ""}` });
  }
  return { at, rows: out };
}

let columnsCache: Set<string> | undefined;
async function targetColumns(c: Cluster): Promise<Set<string>> {
  if (columnsCache?.has("probed_by")) return columnsCache;
  const rows = await c.pgQuery<{ column_name: string }>(`SELECT column_name FROM information_schema.columns WHERE table_name = 'health_targets'`);
  columnsCache = new Set(rows.map((r) => r.column_name));
  return columnsCache;
}

/** Columns of a table in the store (to use what another slice adds only once it exists). */
export async function columnsOf(c: Cluster, table: string): Promise<Set<string>> {
  const rows = await c.pgQuery<{ column_name: string }>(`SELECT column_name FROM information_schema.columns WHERE table_name = $1`, [table]);
  return new Set(rows.map((r) => r.column_name));
}

/**
 * Samples health_targets in the background and keeps, per target, the lastProbeAt values in order: the max
 * gap between consecutive probes of each target (and from its last probe to the end of sampling).
 */
export class ProbeWatch {
  readonly history = new Map<string, number[]>();
  /** Per target, each probe seen with the node that recorded it (probed_by). */
  readonly writers = new Map<string, { at: number; by: string | null }[]>();
  samples = 0;
  private running = false;
  private loop: Promise<void> | undefined;
  startedAt = 0;
  stoppedAt = 0;
  /** Called with every sample (for the fencing checks). */
  onSample: ((s: ProbeSample) => void) | undefined;

  constructor(
    readonly c: Cluster,
    readonly everyMs = 250,
  ) {}

  start(): void {
    this.running = true;
    this.startedAt = Date.now();
    this.loop = (async () => {
      while (this.running) {
        try {
          const s = await sampleTargets(this.c);
          this.samples++;
          for (const [key, row] of s.rows) {
            if (row.lastProbeAt === undefined) continue;
            let h = this.history.get(key);
            if (!h) this.history.set(key, (h = []));
            if (h[h.length - 1] !== row.lastProbeAt) {
              h.push(row.lastProbeAt);
              let w = this.writers.get(key);
              if (!w) this.writers.set(key, (w = []));
              w.push({ at: row.lastProbeAt, by: row.probedBy });
            }
          }
          this.onSample?.(s);
        } catch {
          /* the store is shared with the chaos: skip a sample */
        }
        await sleep(this.everyMs);
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    this.stoppedAt = Date.now();
  }

  /** Consecutive probes of one target by two different nodes less than `withinMs` apart (scale-out.md §4.2 check 2). */
  overlaps(withinMs: number, from = 0, to = Number.MAX_SAFE_INTEGER): { key: string; a: string | null; b: string | null; apartMs: number }[] {
    const out: { key: string; a: string | null; b: string | null; apartMs: number }[] = [];
    for (const [key, w] of this.writers) {
      for (let i = 1; i < w.length; i++) {
        const p = w[i - 1]!;
        const q = w[i]!;
        if (q.at < from || q.at > to) continue;
        if (p.by !== q.by && q.at - p.at < withinMs) out.push({ key, a: p.by, b: q.by, apartMs: q.at - p.at });
      }
    }
    return out;
  }

  /**
   * Gaps between consecutive probes per target within [from, to] (wall ms = tdekv ms): the probe before
   * `from` counts as the start of the first gap, and `to` closes the last one.
   */
  gaps(keys: string[], from: number, to: number): { max: number; maxKey: string | undefined; p99: number; never: string[]; all: number[] } {
    let max = 0;
    let maxKey: string | undefined;
    const all: number[] = [];
    const never: string[] = [];
    for (const key of keys) {
      const h = this.history.get(key) ?? [];
      const before = h.filter((t) => t < from);
      const inside = h.filter((t) => t >= from && t <= to);
      if (inside.length === 0) never.push(key);
      const points = [before.length ? before[before.length - 1]! : from, ...inside, to];
      for (let i = 1; i < points.length; i++) {
        const g = points[i]! - points[i - 1]!;
        all.push(g);
        if (g > max) {
          max = g;
          maxKey = key;
        }
      }
    }
    const sorted = [...all].sort((a, b) => a - b);
    return { max, maxKey, p99: sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]! : 0, never, all };
  }
}

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { ManualClock, SecretBox, silentLogger } from "../src/platform/index.js";
import { openStore, type OpenedStore } from "../src/storage/index.js";
import { createIdentity } from "../src/identity/index.js";
import { createArm, armAudiences } from "../src/arm/index.js";
import { ActivityLog, type StoredEvent } from "../src/activity/index.js";
import { createAlerts, type Alerts } from "../src/activity/alerts/index.js";
import { AlertClaims, Fenced } from "../src/activity/alerts/claims.js";
import { OutboxStore } from "../src/activity/alerts/outbox-store.js";
import type { NotificationRow } from "../src/activity/alerts/schema.js";
import { type PgCluster, findPgBin, startPgCluster } from "./pg-cluster.js";
import { tempDir } from "./harness.js";
import { seedEvent, waitFor } from "./alerts-kit.js";

/**
 * The alert outbox on several nodes (issue 11; scale-out.md §3.3, §4.2 check 3). Two alerts stacks with
 * their own store connections (what two tdekv nodes are to the store) deliver to a real HTTP receiver that
 * counts posts per queue and event id. Checked: every event reaches every receiver, each receiver sees its
 * events in order and never two sends at once (one node per queue), and when a node dies in the middle of a
 * send the other takes the queue over after the lease runs out, sends it again, and the row counts the
 * redelivery, so that the receiver's duplicates never exceed the rows' redelivered counts. On SQLite (one
 * process per file) the second stack opens the file after the first died. No timed assertions: generous
 * polling deadlines only.
 */
const RG = "claims-rg";
const TTL_MS = 1_500;
const QUEUES = ["q1", "q2", "q3", "q4"];

interface Post {
  queue: string;
  eventDataId: string;
  n: number;
}

/** A webhook receiver: records every POST (even one it never answers), and the most sends it saw at once per path. */
class CountingReceiver {
  readonly posts: Post[] = [];
  private readonly active = new Map<string, number>();
  readonly maxActive = new Map<string, number>();
  /** A post that matches is recorded but never answered (a hung receiver, to catch a node mid-send). */
  hold: ((queue: string, body: string) => boolean) | undefined;
  /**
   * Answers nothing until this many queues have a send open at once, then everything (once). With two queues
   * per node, four open at once can only mean both nodes are delivering.
   */
  gate: number | undefined;
  private readonly gated: (() => void)[] = [];
  private server: http.Server | undefined;
  private n = 0;
  url = "";

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const queue = (req.url ?? "").replace(/^\//, "");
      const now = (this.active.get(queue) ?? 0) + 1;
      this.active.set(queue, now);
      this.maxActive.set(queue, Math.max(this.maxActive.get(queue) ?? 0, now));
      res.on("close", () => this.active.set(queue, (this.active.get(queue) ?? 1) - 1));
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        const eventDataId = /"eventDataId":"([^"]+)"/.exec(text)?.[1] ?? "?";
        this.posts.push({ queue, eventDataId, n: this.n++ });
        if (this.hold?.(queue, text)) return;
        // A short answer time, so that two senders on one queue would overlap here.
        const answer = () =>
          setTimeout(() => {
            res.writeHead(200, { "content-type": "application/json" });
            res.end("{}");
          }, 5);
        if (this.gate === undefined) return answer();
        this.gated.push(answer);
        if ([...this.active.values()].filter((n) => n > 0).length >= this.gate) {
          this.gate = undefined;
          for (const a of this.gated.splice(0)) a();
        }
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", () => resolve()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  count(queue: string, eventDataId: string): number {
    return this.posts.filter((p) => p.queue === queue && p.eventDataId === eventDataId).length;
  }

  /** Event ids in order of first arrival at a queue. */
  firstArrivals(queue: string): string[] {
    const seen = new Set<string>();
    for (const p of this.posts) if (p.queue === queue) seen.add(p.eventDataId);
    return [...seen];
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

interface Node {
  name: string;
  opened: OpenedStore;
  activityLog: ActivityLog;
  alerts: Alerts;
  sub: string;
  tenantId: string;
  call(method: string, p: string, body?: unknown): Promise<{ status: number; body: any }>;
  stop(): Promise<void>;
  /** Dies: its store connection goes first, so nothing is recorded or released; then its sends are cut off. */
  crash(): Promise<void>;
}

/** One tdekv node's alerts stack (as test/alerts-stack.ts builds it) on its own connection to the store. */
async function bootNode(name: string, store: string, masterKey: Buffer, clock: ManualClock): Promise<Node> {
  const opened = await openStore(store);
  const identity = await createIdentity({ db: opened.db, clock, box: new SecretBox(masterKey), tokenLifetimeSeconds: 365 * 24 * 3600 });
  const boot = await identity.directory.bootstrap();
  const arm = createArm({ db: opened.db, clock, directory: identity.directory, tokens: identity.tokens, audiences: () => armAudiences([]), adminTenantId: () => boot.tenant.id });
  const activityLog = new ActivityLog(opened.db, clock, 0);
  const alerts = createAlerts({
    db: opened.db,
    clock,
    log: silentLogger(),
    arm: arm.services,
    activityLog,
    smtpUrl: undefined,
    nodeId: `node-${name}-${randomBytes(3).toString("hex")}`,
    engine: opened.engine,
    leaseTtlMs: TTL_MS,
    // Two queues at a time per node, four queues: both nodes have to serve.
    maxQueuesInFlight: 2,
  });
  for (const p of alerts.providers) arm.register(p);
  const principal = await identity.directory.findPrincipal({ objectId: boot.credentials.objectId });
  const token = (await identity.tokens.issue(principal!, "https://management.azure.com/")).accessToken;
  alerts.start();
  let closing: Promise<void> | undefined;
  return {
    name,
    opened,
    activityLog,
    alerts,
    sub: boot.subscription.id,
    tenantId: boot.tenant.id,
    async call(method, p, body) {
      const [pathname, query = ""] = p.split("?");
      const res = await arm.surface({
        method,
        host: "management.azure.com",
        origin: "https://management.azure.com",
        path: pathname!,
        query: new URLSearchParams(query),
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(body)),
        requestId: "r",
        correlationId: "c",
        remoteAddress: "127.0.0.1",
      });
      return { status: res.status, body: res.body as any };
    },
    async stop() {
      if (closing) return closing;
      closing = alerts.stop().then(() => opened.close());
      return closing;
    },
    async crash() {
      if (closing) return closing;
      // The pool is ended first, so the stop below can record and release nothing. Ending it can take the
      // pool's connect timeout when a query was queued behind a transaction; a dead node does not wait.
      closing = opened.close().catch(() => {});
      await Promise.race([closing, new Promise((r) => setTimeout(r, 200))]);
      await alerts.stop();
    },
  };
}

/** The action group (one webhook per queue) and the rule that sends every SQL database write to it. */
async function configure(node: Node, receiver: CountingReceiver): Promise<void> {
  const rg = `/subscriptions/${node.sub}/resourceGroups/${RG}`;
  const put = async (p: string, body: unknown) => {
    const res = await node.call("PUT", p, body);
    assert.ok(res.status === 200 || res.status === 201, `${p}: ${res.status} ${JSON.stringify(res.body)}`);
  };
  await put(`${rg}?api-version=2021-04-01`, { location: "eastus" });
  const ag = `${rg}/providers/microsoft.insights/actionGroups/claims-ag`;
  await put(`${ag}?api-version=2022-06-01`, {
    location: "Global",
    properties: { groupShortName: "claims", enabled: true, webhookReceivers: QUEUES.map((q) => ({ name: q, serviceUri: `${receiver.url}/${q}`, useCommonAlertSchema: true })) },
  });
  await put(`${rg}/providers/microsoft.insights/activityLogAlerts/claims-rule?api-version=2017-04-01`, {
    location: "global",
    properties: {
      scopes: [rg],
      condition: { allOf: [{ field: "category", equals: "Administrative" }, { field: "operationName", equals: "Microsoft.Sql/servers/databases/write" }] },
      actions: { actionGroups: [{ actionGroupId: ag }] },
      enabled: true,
    },
  });
}

const event = (node: Node, database: string) =>
  seedEvent({ subscriptionId: node.sub, tenantId: node.tenantId, rg: RG, server: "srv1", database, eventName: "MakeDatabaseInaccessible", status: "Started" });

interface Row {
  queue_key: string;
  event_data_id: string;
  status: string;
  redelivered: number;
  sending_by: string | null;
  id: string;
}

async function rows(node: Node): Promise<Row[]> {
  const all = await (node.opened.db as any).selectFrom("alert_notifications").select(["id", "queue_key", "event_data_id", "status", "redelivered", "sending_by"]).execute();
  return all.map((r: Row) => ({ ...r, queue_key: r.queue_key.split("|").pop()!, redelivered: Number(r.redelivered) }));
}

/** scale-out.md §4.2 check 3: every (queue, event) row reached the receiver, and duplicates only where redelivered. */
function assertAtLeastOnceCounted(receiver: CountingReceiver, all: Row[]): void {
  for (const r of all) {
    const got = receiver.count(r.queue_key, r.event_data_id);
    assert.ok(got >= 1, `${r.queue_key} ${r.event_data_id}: never received`);
    assert.ok(got - 1 <= r.redelivered, `${r.queue_key} ${r.event_data_id}: ${got - 1} duplicates but redelivered = ${r.redelivered}`);
  }
}

/** Each queue received its events first in seq order (FIFO per receiver), and never two sends at once. */
function assertInOrder(receiver: CountingReceiver, appended: StoredEvent[]): void {
  const bySeq = [...appended].sort((a, b) => a.seq - b.seq).map((e) => e.data.eventDataId);
  for (const q of QUEUES) {
    const arrived = receiver.firstArrivals(q).filter((id) => bySeq.includes(id));
    assert.deepEqual(arrived, bySeq, `${q} in seq order`);
    assert.equal(receiver.maxActive.get(q), 1, `${q}: one send at a time, across nodes`);
  }
}

/**
 * Holds q1's copy of a new event at the receiver, kills the node sending it, and lets `takeOver` bring the
 * survivor. Returns the held event and a later one.
 */
async function holdAndKill(receiver: CountingReceiver, nodes: Node[], appendVia: Node, takeOver: (victim: Node) => Promise<Node>): Promise<{ survivor: Node; held: string; later: string }> {
  // The event's id is known only once appended, and the dispatcher may be faster: hold by its database.
  receiver.hold = (queue, body) => queue === "q1" && body.includes("/databases/db-held");
  const heldId = (await appendVia.activityLog.append(event(appendVia, "db-held"))).data.eventDataId;
  // Some node is now sending q1's copy, and the receiver holds it unanswered.
  await waitFor("q1's copy of the held event at the receiver", () => receiver.count("q1", heldId) >= 1, 30_000);
  const row = await waitFor("q1's row marked in flight", async () => (await rows(appendVia)).find((r) => r.queue_key === "q1" && r.event_data_id === heldId && r.sending_by), 30_000);
  const victim = nodes.find((n) => n.alerts.nodeId === row.sending_by);
  assert.ok(victim, `the sender ${row.sending_by} is one of the nodes`);
  // From now on the receiver answers (the held request stays unanswered until its sender dies).
  receiver.hold = undefined;
  await victim.crash();
  const survivor = await takeOver(victim);
  const later = (await survivor.activityLog.append(event(survivor, "db-after"))).data.eventDataId;
  return { survivor, held: heldId, later };
}

async function assertTakenOver(receiver: CountingReceiver, survivor: Node, held: string, later: string): Promise<void> {
  await waitFor("the survivor redelivers the held event to q1", () => receiver.count("q1", held) >= 2, 60_000);
  for (const q of QUEUES) await waitFor(`${q}: the later event`, () => receiver.count(q, later) >= 1, 60_000);
  const all = await waitFor("every row settled", async () => {
    const r = await rows(survivor);
    return r.every((x) => x.status === "Delivered") && r;
  });
  const heldRow = all.find((r) => r.queue_key === "q1" && r.event_data_id === held)!;
  assert.equal(heldRow.redelivered, 1, "the takeover's send is counted as a possible duplicate");
  assert.equal(heldRow.sending_by, null, "the in-flight mark is cleared when the attempt is recorded");
  const attempts = await (survivor.opened.db as any).selectFrom("alert_attempts").selectAll().where("notification_id", "=", heldRow.id).execute();
  assert.equal(attempts.length, 1, `the dead node's send was never recorded; the survivor's was: ${JSON.stringify(attempts)} (survivor ${survivor.alerts.nodeId})`);
  assert.equal(attempts[0].outcome, "Delivered");
  assert.equal(attempts[0].node_id, survivor.alerts.nodeId);
  assert.match(attempts[0].detail, /redelivery: node node-\w+-\w+ was sending it since .* and recorded no attempt/);
  assert.ok(survivor.alerts.redeliveries() >= 1);
  assertAtLeastOnceCounted(receiver, all);
  // FIFO across the takeover: q1 got the held event before the later one.
  const q1 = receiver.firstArrivals("q1");
  assert.ok(q1.indexOf(held) < q1.indexOf(later), "q1 stays in order across the takeover");
  for (const q of QUEUES) assert.equal(receiver.maxActive.get(q), 1, `${q}: one send at a time, across the takeover`);
}

const clock = new ManualClock(Date.UTC(2026, 10, 28, 15, 0, 0));
const masterKey = randomBytes(32);
const N = 40;

describe("alert claims on PostgreSQL: two nodes, one store", { skip: findPgBin() ? false : "no PostgreSQL server binaries" }, () => {
  let cluster: PgCluster | undefined;
  let url = "";
  const receiver = new CountingReceiver();
  const nodes: Node[] = [];

  before(async () => {
    cluster = await startPgCluster();
    url = await cluster.createDatabase();
    await receiver.start();
    nodes.push(await bootNode("a", url, masterKey, clock));
    nodes.push(await bootNode("b", url, masterKey, clock));
    await configure(nodes[0]!, receiver);
  });
  after(async () => {
    for (const n of nodes) await n.stop().catch(() => {});
    await receiver.stop();
    await cluster?.stop();
  });

  it("both nodes deliver: every event reaches every receiver once, in order, one send at a time per receiver", async () => {
    receiver.gate = QUEUES.length;
    // Appended through both nodes at once: seqs are granted in commit order (migration 0011).
    const appended = await Promise.all(Array.from({ length: N }, (_, i) => nodes[i % 2]!.activityLog.append(event(nodes[i % 2]!, `db${i}`))));
    for (const q of QUEUES) await waitFor(`${q}: all ${N} events`, () => receiver.firstArrivals(q).length >= N, 60_000);
    assertInOrder(receiver, appended);
    const all = await waitFor("every row delivered", async () => {
      const r = await rows(nodes[0]!);
      return r.length === N * QUEUES.length && r.every((x) => x.status === "Delivered") && r;
    });
    assertAtLeastOnceCounted(receiver, all);
    // All four queues had a send open at once (the gate opened), two at most per node: both nodes delivered.
    assert.equal(receiver.gate, undefined);
    // Each attempt names its node.
    const senders = await (nodes[0]!.opened.db as any).selectFrom("alert_attempts").select("node_id").distinct().execute();
    assert.deepEqual(senders.map((s: { node_id: string }) => s.node_id).sort(), nodes.map((n) => n.alerts.nodeId).sort());
    // One dispatcher at a time: the lease row names one of the two.
    const lease = await (nodes[0]!.opened.db as any).selectFrom("alert_leases").selectAll().where("name", "=", "dispatcher").executeTakeFirst();
    assert.ok(nodes.some((n) => n.alerts.nodeId === lease.owner));
  });

  it("a node that dies mid-send: the other takes its queue over after the lease runs out, sends again, and counts it", async () => {
    const { survivor, held, later } = await holdAndKill(receiver, nodes, nodes[0]!, async (victim) => nodes.find((n) => n !== victim)!);
    await assertTakenOver(receiver, survivor, held, later);
    // q1's lease moved on: claimed by the survivor (a new epoch), and held or given back since.
    const q1 = await (survivor.opened.db as any).selectFrom("alert_queues").selectAll().where("queue_key", "like", "%|q1").executeTakeFirst();
    assert.notEqual(q1.owner, nodes.find((n) => n !== survivor)!.alerts.nodeId);
    assert.equal(survivor.alerts.fencedWrites(), 0);
  });

  it("SKIP LOCKED claims are disjoint, and a node paused past its leases writes nothing (fencing)", async () => {
    // Its own database: no running stack claims these queues.
    const db = await cluster!.createDatabase();
    const [sa, sb] = [await openStore(db), await openStore(db)];
    try {
      const log = silentLogger();
      const a = new AlertClaims(sa.db, { engine: "postgres", nodeId: "paused-a", ttlMs: 400, log });
      const b = new AlertClaims(sb.db, { engine: "postgres", nodeId: "other-b", ttlMs: 60_000, log });
      await a.start();
      await b.start();
      const outA = new OutboxStore(sa.db);
      const outB = new OutboxStore(sb.db);
      await outA.enqueue(Array.from({ length: 12 }, (_, i) => notification(i)));
      // Both claim at once: disjoint, and together every queue.
      const [ca, cb] = await Promise.all([a.claimQueues(12), b.claimQueues(12)]);
      assert.equal(ca.filter((k) => cb.includes(k)).length, 0, `disjoint: ${ca} / ${cb}`);
      assert.equal(new Set([...ca, ...cb]).size, 12);
      // Give `a` a queue of its own for sure, then let it "freeze" past its 400 ms lease.
      await b.release(cb);
      const mine = ca[0] ?? (await a.claimQueues(1))[0]!;
      const epoch = a.queue(mine)!.epoch;
      const row = (await outA.pending(mine, 1))[0]!;
      await waitFor("a's lease to run out and b to claim the queue", async () => (await b.claimQueues(12)).includes(mine));
      assert.equal(b.queue(mine)!.epoch, epoch + 1, "a claim bumps the fencing token");
      const fenceA = (trx: any) => a.fenceQueue(trx, mine, epoch);
      await assert.rejects(outA.markSending(row.id, "paused-a", Date.now(), fenceA), Fenced);
      await assert.rejects(outA.recordAttempt(row, { startedAt: 1, durationMs: 1, outcome: "Delivered", detail: "HTTP 200" }, { status: "Delivered", nextAttemptAt: 1, detail: "HTTP 200", deliveredAt: 1 }, { fence: fenceA, nodeId: "paused-a" }), Fenced);
      const after = await outB.get(row.id);
      assert.equal(after!.row.status, "Pending");
      assert.equal(after!.row.attempts, 0);
      assert.equal(after!.attempts.length, 0, "the stale attempt was not written");
      await a.renew();
      assert.equal(a.queue(mine), undefined, "renewal drops the lost queue");
      // The dispatcher lease fences the cursor the same way.
      await b.releaseAll();
      const ea = (await a.dispatcherEpoch())!;
      await waitFor("b to take the dispatcher lease once a's runs out", async () => (await b.dispatcherEpoch()) !== undefined);
      await assert.rejects(outA.commit("activity-log-dispatcher", 99, [notification(99)], 1, (trx) => a.fenceDispatcher(trx, ea)), Fenced);
      assert.equal(await outB.cursor("activity-log-dispatcher"), 0, "the paused node moved no cursor");
      assert.equal(await outB.get("n99"), undefined, "and enqueued nothing");
      const eb = (await b.dispatcherEpoch())!;
      assert.equal(await outB.commit("activity-log-dispatcher", 99, [notification(99)], 1, (trx) => b.fenceDispatcher(trx, eb)), 1);
      assert.equal(await outB.cursor("activity-log-dispatcher"), 99);
    } finally {
      await sa.close();
      await sb.close();
    }
  });
});

/** A bare outbox row on its own queue `k{i}`. */
function notification(i: number): NotificationRow {
  return {
    id: `n${i}`,
    dedupe_key: `ev${i}|rule|ag|webhook|k${i}`,
    subscription_id: "sub",
    event_seq: i,
    event_data_id: `ev${i}`,
    event_name: "MakeDatabaseInaccessible",
    event_status: "Started",
    resource_id: "/x",
    alert_id: `a${i}`,
    rule_id: "rule",
    action_group_id: "ag",
    receiver_kind: "webhook",
    receiver_name: `k${i}`,
    queue_key: `k${i}`,
    channel: "http",
    target: "http://127.0.0.1:9/never",
    schema_id: "azureMonitorCommonAlertSchema",
    payload: "{}",
    status: "Pending",
    detail: null,
    attempts: 0,
    next_attempt_at: 0,
    created_at: i,
    last_attempt_at: null,
    delivered_at: null,
  };
}

describe("alert claims on SQLite: one process per file, a node dies mid-send and the next one takes over", () => {
  const dir = tempDir("alerts-claims");
  const file = path.join(dir, "tdekv.db");
  const receiver = new CountingReceiver();
  const nodes: Node[] = [];

  before(async () => {
    await receiver.start();
    nodes.push(await bootNode("a", file, masterKey, clock));
    await configure(nodes[0]!, receiver);
  });
  after(async () => {
    for (const n of nodes) await n.stop().catch(() => {});
    await receiver.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("the one node claims every queue and delivers in order", async () => {
    const appended: StoredEvent[] = [];
    for (let i = 0; i < 10; i++) appended.push(await nodes[0]!.activityLog.append(event(nodes[0]!, `db${i}`)));
    for (const q of QUEUES) await waitFor(`${q}: all 10 events`, () => receiver.firstArrivals(q).length >= 10, 30_000);
    assertInOrder(receiver, appended);
    assertAtLeastOnceCounted(receiver, await rows(nodes[0]!));
  });

  it("the node dies mid-send; the next process on the file sends it again at once and counts the redelivery", async () => {
    const { survivor, held, later } = await holdAndKill(receiver, nodes, nodes[0]!, async () => {
      const next = await bootNode("b", file, masterKey, clock);
      nodes.push(next);
      return next;
    });
    await assertTakenOver(receiver, survivor, held, later);
  });
});

import type { Transaction } from "kysely";
import type { Clock, Logger } from "../../platform/index.js";
import { type AlertClaims, Fenced } from "./claims.js";
import type { EmailMessage, EmailSender } from "./email-sender.js";
import type { OutboxStore } from "./outbox-store.js";
import type { AlertTables, AttemptOutcome, NotificationRow, NotificationStatus } from "./schema.js";
import { originOf, postJson, type SendResult } from "./webhook-sender.js";

/**
 * Retry schedule. Azure retries a failed webhook up to 5 times (5, 20, 5, 40 and 5 s apart) and then leaves
 * the endpoint alone for 15 minutes (action-groups.md, "Webhook retry behavior"). A rehearsal needs the
 * notification to arrive once the receiver is back, so tdekv keeps retrying the same answers (no response,
 * 408, 429, 503, 504) with exponential backoff, 1 s doubling to 5 minutes, for a day before giving up.
 */
export const BACKOFF_BASE_MS = 1_000;
export const BACKOFF_CAP_MS = 5 * 60_000;
export const GIVE_UP_AFTER_MS = 24 * 60 * 60_000;
/** Receivers served at once; each receiver gets one send at a time. */
const MAX_IN_FLIGHT = 32;
/** Rows a receiver's run takes from its queue before the worker looks at the database again. */
const RUN = 100;

export const backoffMs = (attempt: number): number => Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempt - 1));

/**
 * Delivers outbox rows. Each receiver has a queue (the same receiver across rules, `queue_key`), served in
 * event order, one send at a time, and the queues are served in parallel: a receiver that is down or slow
 * delays only its own notifications. A run takes the due head of a queue and carries on down the queue
 * while sends succeed. Every attempt is recorded. Nothing here is on the path of the lifecycle or of
 * Activity Log writers.
 *
 * Several nodes (issue 11): a node serves a queue only while it holds the queue's lease (`AlertClaims`),
 * so one node at a time sends down a queue, in order. Before a send the row is marked in flight by this
 * node; recording the attempt clears the mark. Both writes are fenced by the lease. A node that takes a
 * queue over and finds its head marked by a send nobody recorded sends it again (at least once) and counts
 * a redelivery: a possible duplicate, which receivers drop by the event ids in the payload.
 */
export class DeliveryWorker {
  private readonly inFlight = new Map<string, AbortController>();
  /** performance.now() of this process's last attempt per notification (see `waitMs`). */
  private readonly lastTry = new Map<string, number>();
  private readonly sends = new Set<Promise<void>>();
  private stopping = false;
  private redeliveryCount = 0;
  private fencedCount = 0;
  private readonly maxInFlight: number;

  constructor(
    private readonly deps: {
      outbox: OutboxStore;
      claims: AlertClaims;
      clock: Clock;
      log: Logger;
      email: EmailSender | undefined;
      onSettled: () => void;
      /** Queues served at once by this node (default 32). */
      maxInFlight?: number;
    },
  ) {
    this.maxInFlight = deps.maxInFlight ?? MAX_IN_FLIGHT;
  }

  /** Sends made again after an unrecorded send by this or another node (possible duplicates), since start. */
  get redeliveries(): number {
    return this.redeliveryCount;
  }

  /** Writes (in-flight marks and attempts) refused because the queue's lease was gone: dropped. */
  get fencedWrites(): number {
    return this.fencedCount;
  }

  /**
   * Milliseconds (real time) until a row may be tried again; 0 when due. A retry falls due at its
   * `next_attempt_at` on tdekv's clock, or once its backoff has passed in real time since this process last
   * tried it: a manual clock stands still, and a receiver that comes back must not wait for `clock advance`.
   * A row this process has not tried yet (after a restart, or taken over from another node) is due at once.
   */
  private waitMs(row: NotificationRow, now: number): number {
    const last = this.lastTry.get(row.id);
    if (last === undefined || row.next_attempt_at <= now) return 0;
    return Math.max(0, Math.min(row.next_attempt_at - now, backoffMs(row.attempts) - (performance.now() - last)));
  }

  /**
   * Claims queues with pending rows (as many as there is room for), gives back the ones it holds that have
   * drained, and starts the sends that are due on the queues it holds. Returns the real-time ms until the
   * next one not yet due, if any.
   */
  async pass(): Promise<number | undefined> {
    if (this.stopping) return undefined;
    const { outbox, claims } = this.deps;
    await claims.claimQueues(this.maxInFlight - this.inFlight.size);
    const pending = await outbox.pendingQueues();
    const hasPending = new Set(pending);
    await claims.release(claims.heldQueues().filter((k) => !hasPending.has(k) && !this.inFlight.has(k)));
    const now = this.deps.clock.now();
    let next: number | undefined;
    for (const key of pending) {
      if (this.inFlight.has(key)) continue;
      if (this.inFlight.size >= this.maxInFlight) break;
      const claim = claims.queue(key);
      if (!claim) continue;
      const rows = await outbox.pending(key, RUN);
      const head = rows[0];
      if (!head || this.stopping) continue;
      const wait = this.waitMs(head, now);
      if (wait > 0) {
        next = next === undefined ? wait : Math.min(next, wait);
        continue;
      }
      this.start(key, claim.epoch, rows);
    }
    return next;
  }

  private start(key: string, epoch: number, rows: NotificationRow[]): void {
    const abort = new AbortController();
    this.inFlight.set(key, abort);
    const p = this.run(key, epoch, rows, abort.signal)
      .catch((err: Error) => this.deps.log.error({ notification: rows[0]?.id, err: err.message }, "alert delivery bookkeeping failed"))
      .finally(() => {
        this.inFlight.delete(key);
        this.sends.delete(p);
        if (!this.stopping) this.deps.onSettled();
      });
    this.sends.add(p);
  }

  private async send(row: NotificationRow, signal: AbortSignal): Promise<SendResult> {
    if (row.channel === "http") return postJson(row.target, row.payload, { signal });
    if (row.channel === "smtp" && this.deps.email) return this.deps.email.send({ ...(JSON.parse(row.payload) as EmailMessage), date: new Date(this.deps.clock.now()) });
    return { ok: false, retryable: false, detail: `no way to send over channel '${row.channel}'` };
  }

  /**
   * Sends down one queue in order while each send is delivered (or fails for good), the next is due, and this
   * node still holds the queue under the epoch the run started with.
   */
  private async run(key: string, epoch: number, rows: NotificationRow[], signal: AbortSignal): Promise<void> {
    for (const row of rows) {
      if (signal.aborted || this.waitMs(row, this.deps.clock.now()) > 0) return;
      if (this.deps.claims.queue(key)?.epoch !== epoch) return;
      if (!(await this.deliver(key, epoch, row, signal))) return;
    }
  }

  /** Runs a fenced write; false (and the queue dropped here) when the lease was gone and nothing was written. */
  private async fenced<T>(key: string, epoch: number, row: NotificationRow, what: string, write: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false }> {
    try {
      return { ok: true, value: await write() };
    } catch (err) {
      if (!(err instanceof Fenced)) throw err;
      this.fencedCount++;
      this.deps.claims.lost(key, epoch);
      this.deps.log.warn({ notification: row.id, node: this.deps.claims.nodeId, queue: key, epoch }, `alert ${what} dropped: the queue's lease is no longer this node's`);
      return { ok: false };
    }
  }

  /** One attempt. True when the row is settled (Delivered or Failed) and the queue may move on. */
  private async deliver(key: string, epoch: number, queued: NotificationRow, signal: AbortSignal): Promise<boolean> {
    const { clock, outbox, log, claims } = this.deps;
    const fence = (trx: Transaction<AlertTables>) => claims.fenceQueue(trx, key, epoch);
    const marked = await this.fenced(key, epoch, queued, "in-flight mark", () => outbox.markSending(queued.id, claims.nodeId, clock.now(), fence));
    // Fenced out, or settled meanwhile (by this queue's previous owner): look at the queue again.
    if (!marked.ok || !marked.value) return false;
    const mark = marked.value;
    const row: NotificationRow = { ...queued, attempts: mark.attempts };
    const startedAt = clock.now();
    const t0 = performance.now();
    const result = await this.send(row, signal);
    // Stopped mid-send: record nothing, so the row is sent again after a restart (at least once); the
    // in-flight mark stays, so that send is counted as a possible duplicate.
    if (signal.aborted) return false;
    this.lastTry.set(row.id, performance.now());
    const durationMs = performance.now() - t0;
    const attempt = row.attempts + 1;
    const now = clock.now();
    const where = row.channel === "http" ? originOf(row.target) : row.receiver_kind;
    const redelivery = mark.previousSender !== null;
    let note = "";
    if (redelivery) {
      this.redeliveryCount++;
      const since = mark.previousSendingAt === null ? "" : ` since ${new Date(mark.previousSendingAt).toISOString()}`;
      note = ` (redelivery: node ${mark.previousSender} was sending it${since} and recorded no attempt; the receiver may get it twice)`;
      log.warn({ notification: row.id, receiver: `${row.receiver_kind}:${row.receiver_name}`, previousSender: mark.previousSender, node: claims.nodeId }, "alert notification redelivered: possible duplicate");
    }
    const record = async (a: { outcome: AttemptOutcome; detail: string }, next: { status: NotificationStatus; nextAttemptAt: number; detail: string | null; deliveredAt: number | null }) =>
      (await this.fenced(key, epoch, row, "attempt record", () => outbox.recordAttempt(row, { startedAt, durationMs, outcome: a.outcome, detail: a.detail + note }, next, { fence, nodeId: claims.nodeId, redelivery }))).ok;
    if (result.ok) {
      this.lastTry.delete(row.id);
      if (!(await record({ outcome: "Delivered", detail: result.detail }, { status: "Delivered", nextAttemptAt: now, detail: result.detail, deliveredAt: now }))) return false;
      log.info({ notification: row.id, receiver: `${row.receiver_kind}:${row.receiver_name}`, to: where, attempt, ms: Math.round(durationMs) }, "alert notification delivered");
      return true;
    }
    const expired = now - row.created_at >= GIVE_UP_AFTER_MS;
    if (!result.retryable || expired) {
      const detail = result.retryable ? `${result.detail}; gave up after ${attempt} attempts over ${Math.round((now - row.created_at) / 60_000)} minutes` : result.detail;
      this.lastTry.delete(row.id);
      if (!(await record({ outcome: "PermanentFailure", detail: result.detail }, { status: "Failed", nextAttemptAt: now, detail, deliveredAt: null }))) return false;
      log.warn({ notification: row.id, receiver: `${row.receiver_kind}:${row.receiver_name}`, to: where, attempt, result: result.detail }, "alert notification failed");
      return true;
    }
    const nextAttemptAt = now + backoffMs(attempt);
    if (!(await record({ outcome: "RetryableFailure", detail: result.detail }, { status: "Pending", nextAttemptAt, detail: `${result.detail}; next attempt at ${new Date(nextAttemptAt).toISOString()}`, deliveredAt: null }))) return false;
    log.warn({ notification: row.id, receiver: `${row.receiver_kind}:${row.receiver_name}`, to: where, attempt, result: result.detail }, "alert notification will be retried");
    return false;
  }

  /** Aborts sends in flight (they are retried after a restart) and waits for them to settle. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const a of this.inFlight.values()) a.abort();
    this.deps.email?.close();
    await Promise.allSettled([...this.sends]);
  }
}

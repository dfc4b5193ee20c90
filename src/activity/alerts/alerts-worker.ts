import type { Clock, Logger } from "../../platform/index.js";
import type { ActivityLog } from "../activity-log.js";
import type { AlertClaims } from "./claims.js";
import type { DeliveryWorker } from "./delivery-worker.js";
import type { Dispatcher } from "./dispatcher.js";

/** Safety net: look again at least this often (manual and scaled clocks, other writers of the log). */
const TICK_MS = 500;

/**
 * Runs the two workers: the dispatcher (woken by ActivityLog.onAppend, by the tick, and at the moment a
 * delayed event becomes visible) and the delivery worker (woken when rows are enqueued, when a send
 * settles and when a retry falls due). Each runs one pass at a time; a wake-up during a pass schedules
 * exactly one more. `onAppend` only sets a flag and returns: an Activity Log writer never waits on alerts.
 * A third, independent loop renews this node's leases (scale-out.md §3.1): it never waits behind a send, so
 * a slow receiver cannot make the node lose its queues or the dispatcher lease.
 */
export class AlertsWorker {
  private timer: NodeJS.Timeout | undefined;
  private dispatchTimer: NodeJS.Timeout | undefined;
  private deliveryTimer: NodeJS.Timeout | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> | undefined;
  /** The claims' start (SQLite: leases of a dead previous process freed); every pass waits for it. */
  private ready: Promise<void> = Promise.resolve();
  private unsubscribe: (() => void) | undefined;
  private readonly loops = new Map<"dispatch" | "deliver", { running: Promise<void> | undefined; again: boolean }>([
    ["dispatch", { running: undefined, again: false }],
    ["deliver", { running: undefined, again: false }],
  ]);
  private stopped = true;

  constructor(private readonly deps: { clock: Clock; log: Logger; activityLog: ActivityLog; claims: AlertClaims; dispatcher: Dispatcher; delivery: DeliveryWorker }) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.ready = this.deps.claims.start().catch((err: Error) => this.deps.log.error({ err: err.message }, "alert leases could not be prepared"));
    this.renewTimer = setInterval(() => this.renewOnce(), this.deps.claims.renewEveryMs);
    this.renewTimer.unref();
    this.unsubscribe = this.deps.activityLog.onAppend(() => this.kick("dispatch"));
    this.timer = setInterval(() => {
      this.kick("dispatch");
      this.kick("deliver");
    }, TICK_MS);
    this.timer.unref();
    this.kick("dispatch");
    this.kick("deliver");
  }

  /** Schedules a pass (or one more after the current one). Never awaits it. */
  kick(which: "dispatch" | "deliver"): void {
    if (this.stopped) return;
    const loop = this.loops.get(which)!;
    if (loop.running) {
      loop.again = true;
      return;
    }
    loop.running = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => (which === "dispatch" ? this.dispatchOnce() : this.deliverOnce()))
      .catch((err: Error) => this.deps.log.error({ err: err.message, worker: which }, "alerts worker pass failed"))
      .finally(() => {
        loop.running = undefined;
        if (loop.again) {
          loop.again = false;
          this.kick(which);
        }
      });
  }

  /** One renewal at a time; a tick that finds one still running skips (the next tick comes soon). */
  private renewOnce(): void {
    if (this.stopped || this.renewing) return;
    this.renewing = this.deps.claims
      .renew()
      .catch((err: Error) => this.deps.log.error({ err: err.message }, "alert lease renewal failed"))
      .finally(() => (this.renewing = undefined));
  }

  /** Real-time delay until a clock time, bounded so scaled and manual clocks are re-read often. */
  private delayUntil(at: number): number {
    return Math.min(TICK_MS, Math.max(5, at - this.deps.clock.now()));
  }

  private async dispatchOnce(): Promise<void> {
    await this.ready;
    const r = await this.deps.dispatcher.pass();
    if (r.enqueued > 0) this.kick("deliver");
    if (r.waitUntil !== undefined && !this.stopped) {
      clearTimeout(this.dispatchTimer);
      this.dispatchTimer = setTimeout(() => this.kick("dispatch"), this.delayUntil(r.waitUntil));
      this.dispatchTimer.unref();
    }
  }

  private async deliverOnce(): Promise<void> {
    await this.ready;
    const waitMs = await this.deps.delivery.pass();
    if (waitMs !== undefined && !this.stopped) {
      clearTimeout(this.deliveryTimer);
      this.deliveryTimer = setTimeout(() => this.kick("deliver"), Math.min(TICK_MS, Math.max(5, waitMs)));
      this.deliveryTimer.unref();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    clearInterval(this.timer);
    clearTimeout(this.dispatchTimer);
    clearTimeout(this.deliveryTimer);
    clearInterval(this.renewTimer);
    for (const loop of this.loops.values()) await loop.running;
    await this.deps.delivery.stop();
    await this.renewing;
    await this.ready;
    // Hand the leases back so another node (or this data dir's next process) need not wait for a TTL.
    await this.deps.claims.releaseAll().catch((err: Error) => this.deps.log.warn({ err: err.message }, "alert leases not released; they run out on their own"));
  }
}

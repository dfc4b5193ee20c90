import type { Clock, Logger } from "../../platform/index.js";
import type { ActivityLog } from "../activity-log.js";
import type { DeliveryWorker } from "./delivery-worker.js";
import type { Dispatcher } from "./dispatcher.js";

/** Safety net: look again at least this often (manual and scaled clocks, other writers of the log). */
const TICK_MS = 500;

/**
 * Runs the two workers: the dispatcher (woken by ActivityLog.onAppend, by the tick, and at the moment a
 * delayed event becomes visible) and the delivery worker (woken when rows are enqueued, when a send
 * settles and when a retry falls due). Each runs one pass at a time; a wake-up during a pass schedules
 * exactly one more. `onAppend` only sets a flag and returns: an Activity Log writer never waits on alerts.
 */
export class AlertsWorker {
  private timer: NodeJS.Timeout | undefined;
  private dispatchTimer: NodeJS.Timeout | undefined;
  private deliveryTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly loops = new Map<"dispatch" | "deliver", { running: Promise<void> | undefined; again: boolean }>([
    ["dispatch", { running: undefined, again: false }],
    ["deliver", { running: undefined, again: false }],
  ]);
  private stopped = true;

  constructor(private readonly deps: { clock: Clock; log: Logger; activityLog: ActivityLog; dispatcher: Dispatcher; delivery: DeliveryWorker }) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
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

  /** Real-time delay until a clock time, bounded so scaled and manual clocks are re-read often. */
  private delayUntil(at: number): number {
    return Math.min(TICK_MS, Math.max(5, at - this.deps.clock.now()));
  }

  private async dispatchOnce(): Promise<void> {
    const r = await this.deps.dispatcher.pass();
    if (r.enqueued > 0) this.kick("deliver");
    if (r.waitUntil !== undefined && !this.stopped) {
      clearTimeout(this.dispatchTimer);
      this.dispatchTimer = setTimeout(() => this.kick("dispatch"), this.delayUntil(r.waitUntil));
      this.dispatchTimer.unref();
    }
  }

  private async deliverOnce(): Promise<void> {
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
    for (const loop of this.loops.values()) await loop.running;
    await this.deps.delivery.stop();
  }
}

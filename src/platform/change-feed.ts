import type { Clock } from "./clock.js";

/**
 * The in-process change bus behind the portal's hint stream (portal.md §3.5, issue 9 §4). Components say
 * "something about this resource changed"; the portal then re-reads the public API, so a hint carries no
 * state and a lost hint costs one poll, never a wrong screen. Emitting is synchronous, cheap and never throws.
 */
export type HintType = "resource.changed" | "activity.appended" | "health.changed" | "notification.sent" | "clock";

export interface Hint {
  /** Monotonic, as a decimal string; the SSE `id:` and the `Last-Event-ID` a client reconnects with. */
  id: string;
  type: HintType;
  resourceId?: string;
  /** tdekv's clock (epoch ms), not the wall clock: the portal's countdown runs on server time. */
  at: number;
}

/** What components hold: one call per change, nothing to await. */
export interface ChangeSink {
  emit(type: HintType, resourceId?: string): void;
}

export type FeedItem = { kind: "hint"; hint: Hint } | { kind: "clock" };

/** At most one hint per (type, resource) per this many ms; the last change inside the window is still hinted. */
export const COALESCE_MS = 100;
/** Hints kept for `Last-Event-ID` replay after a reconnect. */
export const REPLAY_CAPACITY = 512;

export class ChangeFeed implements ChangeSink {
  private readonly listeners = new Set<(item: FeedItem) => void>();
  private readonly ring: Hint[] = [];
  private readonly last = new Map<string, { at: number; timer?: NodeJS.Timeout }>();
  /**
   * Ids start from the wall clock at process start (μs), so an id remembered from an earlier process is
   * always older than anything in this one's ring and triggers a full re-read instead of a wrong replay.
   */
  private nextId = Date.now() * 1000;

  constructor(private readonly clock: Clock) {}

  subscribe(listener: (item: FeedItem) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The id of the newest hint (or of "nothing yet"): where a client that re-reads everything stands. */
  latestId(): string {
    return String(this.nextId - 1);
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  emit(type: HintType, resourceId?: string): void {
    const key = `${type} ${resourceId?.toLowerCase() ?? ""}`;
    const now = performance.now();
    const prev = this.last.get(key);
    if (prev?.timer) return; // a trailing hint is already scheduled and will cover this change
    if (prev && now - prev.at < COALESCE_MS) {
      const timer = setTimeout(() => {
        this.last.set(key, { at: performance.now() });
        this.publish(type, resourceId);
      }, COALESCE_MS - (now - prev.at));
      timer.unref();
      this.last.set(key, { at: prev.at, timer });
      return;
    }
    this.last.set(key, { at: now });
    if (this.last.size > 4096) this.prune(now);
    this.publish(type, resourceId);
  }

  /** The clock moved by hand (or its rate changed): every stream sends a fresh `event: clock`. */
  clockMoved(): void {
    this.emit("clock");
    for (const l of this.listeners) {
      try {
        l({ kind: "clock" });
      } catch {
        // as in publish()
      }
    }
  }

  /**
   * Hints after `lastId`, oldest first; undefined when the ring no longer reaches back that far (or the id
   * is not one of ours), which the stream answers with a catch-all hint.
   */
  since(lastId: string): Hint[] | undefined {
    if (!/^\d{1,20}$/.test(lastId)) return undefined;
    const n = Number(lastId);
    const first = this.ring[0];
    const newest = this.ring[this.ring.length - 1];
    if (!newest) return n === this.nextId - 1 ? [] : undefined;
    if (n > Number(newest.id)) return undefined;
    if (n < Number(first!.id) - 1) return undefined;
    return this.ring.filter((h) => Number(h.id) > n);
  }

  private publish(type: HintType, resourceId: string | undefined): void {
    const hint: Hint = { id: String(this.nextId++), type, at: this.clock.now(), ...(resourceId ? { resourceId } : {}) };
    this.ring.push(hint);
    if (this.ring.length > REPLAY_CAPACITY) this.ring.shift();
    for (const l of this.listeners) {
      try {
        l({ kind: "hint", hint });
      } catch {
        // A broken stream must not stop the write that emitted the hint.
      }
    }
  }

  private prune(now: number): void {
    for (const [k, v] of this.last) if (!v.timer && now - v.at >= COALESCE_MS) this.last.delete(k);
  }
}

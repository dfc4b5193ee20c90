import { type ChangeFeed, type Clock, type FeedItem, type Hint, type StreamSink, type SurfaceRequest, type SurfaceResponse, header } from "../platform/index.js";

/**
 * `GET /_tdekv/events`: server-sent events that only hint "something changed" (issue 9 §4, portal.md §3.5).
 * The portal re-reads the public API on a hint, so nothing here is state the API does not have.
 *   retry: 2000            reconnect after 2 s
 *   event: hint            data {id, type, resourceId?, at}, with `id:` for Last-Event-ID
 *   event: clock           data {now, rate}: at connect, when the clock is moved by hand, every 15 s
 *   : ping                 every 15 s, so idle proxies and the client's watchdog see a live stream
 */
export const PING_INTERVAL_MS = 15_000;
export const RETRY_MS = 2_000;
/** Hints waiting for a slow client; beyond this the oldest are dropped (the client re-reads anyway). */
export const QUEUE_LIMIT = 256;
/** Open streams per process: one per portal tab is the design, so this only stops runaway clients. */
export const MAX_STREAMS = 200;

export interface EventsDeps {
  feed: ChangeFeed;
  clock: Clock;
  /** How fast tdekv's clock runs against real time: 0 manual, 1 system, N scaled. */
  clockRate(): number;
}

const frame = (event: string, data: unknown, id?: string): string => `${id !== undefined ? `id: ${id}\n` : ""}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

export function createEventsStream(deps: EventsDeps) {
  let open = 0;

  const clockFrame = () => frame("clock", { now: deps.clock.now(), rate: deps.clockRate() });
  const hintFrame = (h: Hint) => frame("hint", h, h.id);

  return {
    get openStreams() {
      return open;
    },
    respond(req: SurfaceRequest): SurfaceResponse {
      if (open >= MAX_STREAMS) {
        return { status: 503, headers: { "retry-after": "5" }, body: { error: { code: "ServerBusy", message: `tdekv already serves ${MAX_STREAMS} event streams; close some portal tabs.` } } };
      }
      const lastEventId = header(req, "last-event-id");
      return {
        status: 200,
        headers: {
          "content-type": "text/event-stream; charset=utf-8",
          "cache-control": "no-cache, no-transform",
          "x-accel-buffering": "no",
          "x-content-type-options": "nosniff",
        },
        stream: (sink: StreamSink) => {
          open++;
          const queue: string[] = [];
          let blocked = false;
          const flush = () => {
            blocked = false;
            while (queue.length) {
              if (!sink.write(queue.shift()!)) {
                blocked = true;
                sink.onDrain(flush);
                return;
              }
            }
          };
          const send = (chunk: string) => {
            queue.push(chunk);
            if (queue.length > QUEUE_LIMIT) queue.shift();
            if (!blocked) flush();
          };
          send(`retry: ${RETRY_MS}\n: connected\n\n`);
          send(clockFrame());
          if (lastEventId !== undefined) {
            const missed = deps.feed.since(lastEventId.trim());
            if (missed) for (const h of missed) send(hintFrame(h));
            // Too old to replay (or from an earlier process): one hint without a resource means "re-read all".
            else send(hintFrame({ id: deps.feed.latestId(), type: "resource.changed", at: deps.clock.now() }));
          }
          const unsubscribe = deps.feed.subscribe((item: FeedItem) => send(item.kind === "hint" ? hintFrame(item.hint) : clockFrame()));
          const timer = setInterval(() => send(`: ping\n\n${clockFrame()}`), PING_INTERVAL_MS);
          timer.unref();
          sink.onClose(() => {
            open--;
            unsubscribe();
            clearInterval(timer);
            queue.length = 0;
          });
        },
      };
    },
  };
}

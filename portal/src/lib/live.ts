// Live updates (issue 9 §4, portal.md §3.5): one SSE stream per tab, read with fetch so it can carry the bearer
// (EventSource cannot). Hints only say "something changed"; pages re-read the public API. While the stream is down
// the page says so and polls every 5 s.
import { useEffect, useRef, useState } from "preact/hooks";
import { accessToken } from "./auth";
import { armOrigin, tdekv } from "./api";
import type { Hint } from "./types";

export type LiveStatus = "live" | "reconnecting";
const POLL_MS = 5_000;

/** A hint, or null for "re-read everything" (a poll tick while down, or the stream coming back). */
type Listener = (h: Hint | null) => void;
const listeners = new Set<Listener>();
const statusListeners = new Set<() => void>();
const clockListeners = new Set<() => void>();
let status: LiveStatus = "live";
let started = false;
let lastEventId: string | undefined;
let pollTimer: ReturnType<typeof setInterval> | undefined;
/** The server clock: `now` (epoch ms) as of `perf` (performance.now()), advancing at `rate` (0 for a manual clock). */
let clock: { now: number; perf: number; rate: number } | undefined;
/** One 1-second ticker for every useServerNow() on the page (a table of <Time>s must not start one each). */
const tickers = new Set<() => void>();
let tick: ReturnType<typeof setInterval> | undefined;

function emit(h: Hint | null): void {
  for (const l of [...listeners]) l(h);
}

function setStatus(s: LiveStatus): void {
  if (s === status) return;
  status = s;
  if (s === "reconnecting") {
    pollTimer ??= setInterval(() => {
      emit(null);
      void seedClock();
    }, POLL_MS);
  } else {
    if (pollTimer) clearInterval(pollTimer);
    pollTimer = undefined;
    emit(null); // hints may have been missed while down
  }
  for (const l of [...statusListeners]) l();
}

function setClock(now: number, rate?: number): void {
  if (!Number.isFinite(now)) return;
  clock = { now, perf: performance.now(), rate: rate ?? clock?.rate ?? 0 };
  for (const l of [...clockListeners]) l();
}

/** GET /_tdekv/clock: `{now: ISO, nowMs, rate, mode}`. Seeds the server clock before the first clock event. */
async function seedClock(): Promise<void> {
  try {
    const c = await tdekv<{ now: string | number; nowMs?: number; mode?: string; rate?: number }>("GET", "/_tdekv/clock");
    const now = c.nowMs ?? (typeof c.now === "number" ? c.now : Date.parse(c.now));
    setClock(now, c.rate ?? (c.mode === "manual" ? 0 : 1));
  } catch {
    /* the stream's clock events or the next poll will seed it */
  }
}

function dispatch(event: string, data: string): void {
  let body: unknown;
  try {
    body = JSON.parse(data);
  } catch {
    return;
  }
  if (event === "clock") {
    const c = body as { now: number | string; rate?: number };
    setClock(typeof c.now === "number" ? c.now : Date.parse(c.now), c.rate);
    return;
  }
  if (event === "hint" || event === "message") {
    const h = body as Hint;
    if (h.type === "clock") void seedClock();
    emit(h);
  }
}

/** Reads one stream until it ends or fails; resolves with the server's `retry:` advice. */
async function readStream(res: Response, onRetry: (ms: number) => void): Promise<void> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value;
    let m: RegExpExecArray | null;
    while ((m = /\r?\n\r?\n/.exec(buf))) {
      const block = buf.slice(0, m.index);
      buf = buf.slice(m.index + m[0].length);
      let event = "message";
      const data: string[] = [];
      for (const line of block.split(/\r?\n/)) {
        if (!line || line.startsWith(":")) continue; // ": ping" keeps proxies from idling the stream out
        const i = line.indexOf(":");
        const field = i < 0 ? line : line.slice(0, i);
        const v = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
        if (field === "event") event = v;
        else if (field === "data") data.push(v);
        else if (field === "id") lastEventId = v;
        else if (field === "retry" && /^\d+$/.test(v)) onRetry(Number(v));
      }
      if (data.length) dispatch(event, data.join("\n"));
    }
  }
}

async function run(): Promise<void> {
  let retry = 1_000;
  for (;;) {
    try {
      let res: Response | undefined;
      for (const force of [false, true]) {
        const headers: Record<string, string> = { Authorization: `Bearer ${await accessToken("arm", force)}`, Accept: "text/event-stream" };
        if (lastEventId) headers["Last-Event-ID"] = lastEventId;
        res = await fetch(`${armOrigin}/_tdekv/events`, { headers, cache: "no-store" });
        if (res.status !== 401) break;
      }
      if (!res?.ok || !res.body) throw new Error(`events: HTTP ${res?.status}`);
      setStatus("live");
      await readStream(res, (ms) => (retry = ms));
    } catch {
      /* falls through to reconnecting */
    }
    setStatus("reconnecting");
    await new Promise((r) => setTimeout(r, Math.min(Math.max(retry, 500), POLL_MS)));
  }
}

/** Starts the one stream of this tab (idempotent); the shell calls it once signed in. */
export function startLive(): void {
  if (started) return;
  started = true;
  void seedClock();
  void run();
}

/**
 * A number that changes whenever a matching hint arrives (default: any hint), and every 5 s while the stream is
 * down. Put it in an effect's dependencies to re-read.
 */
export function useLiveVersion(match?: (h: Hint) => boolean): number {
  const [v, setV] = useState(0);
  const matchRef = useRef(match);
  matchRef.current = match;
  useEffect(() => {
    const l: Listener = (h) => {
      // A hint without a resource (after a Last-Event-ID too old to replay) means "re-read everything" (S).
      if (!h || !matchRef.current || (h.type !== "clock" && !h.resourceId) || matchRef.current(h)) setV((x) => x + 1);
    };
    listeners.add(l);
    return () => void listeners.delete(l);
  }, []);
  return v;
}

export function useLiveStatus(): LiveStatus {
  const [s, setS] = useState(status);
  useEffect(() => {
    const l = () => setS(status);
    statusListeners.add(l);
    l();
    return () => void statusListeners.delete(l);
  }, []);
  return s;
}

/** Server time now (epoch ms), from tdekv's clock, advanced locally by its rate; 0 until the server clock is known. */
export function serverNow(): number {
  return clock ? clock.now + (performance.now() - clock.perf) * clock.rate : 0;
}

/**
 * The server's clock, re-rendering every second and on every clock event. Countdowns use this, never the browser's
 * Date.now() (portal.md §3.5: a skewed browser clock showed the wrong remaining time). 0 until known.
 */
export function useServerNow(): number {
  const [now, setNow] = useState(serverNow);
  useEffect(() => {
    const l = () => setNow(serverNow());
    clockListeners.add(l);
    tickers.add(l);
    tick ??= setInterval(() => tickers.forEach((t) => t()), 1_000);
    l();
    return () => {
      clockListeners.delete(l);
      tickers.delete(l);
      if (!tickers.size && tick) {
        clearInterval(tick);
        tick = undefined;
      }
    };
  }, []);
  return now;
}

import { ArmError, armErrors, armResponses } from "../arm/index.js";
import { ManualClock, type Clock, type SurfaceRequest, type SurfaceResponse } from "../platform/index.js";
import type { Lifecycle } from "./lifecycle.js";

/** Parses "31m", "2h", "90s", "1500ms" or a bare number of milliseconds. */
export function parseDuration(v: unknown): number | undefined {
  if (typeof v === "number" && Number.isFinite(v) && v >= 0) return v;
  if (typeof v !== "string") return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/i.exec(v);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = (m[2] ?? "ms").toLowerCase();
  return n * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as Record<string, number>)[unit]!;
}

export interface FaultControl {
  set(vault: string, fault: { kind: "unreachable" | "slow" | "5xx" | "intermittent"; rate?: number; delayMs?: number }): void;
  clear(vault?: string): void;
  list(): Record<string, unknown>;
}

/**
 * tdekv's own controls for drills and tests (bootstrap-tenant principals only): run a probe pass now, read
 * or move the clock (`--clock manual`), and inject the faults no Azure operation can cause.
 */
export function createHealthAdminRoutes(deps: {
  lifecycle: Lifecycle;
  clock: Clock;
  faults: FaultControl;
  authorize(req: SurfaceRequest): Promise<void>;
  onClockMoved(now: number): Promise<void>;
  /** The auto-heal window (--autoheal-window), reported with the clock for `tdekv doctor`. */
  windowMs?: number;
  /** Calls made to Key Vault so far, to report per pass. */
  vaultCalls(): number;
  /** How fast the clock runs against real time (0 manual, 1 system, N scaled), for the portal's countdown. */
  clockRate?: () => number;
}) {
  const body = (req: SurfaceRequest): Record<string, unknown> => {
    try {
      const v = JSON.parse(req.body.toString("utf8") || "{}");
      return typeof v === "object" && v ? v : {};
    } catch {
      throw armErrors.invalidRequestContent("invalid JSON");
    }
  };
  return async function admin(req: SurfaceRequest): Promise<SurfaceResponse | undefined> {
    const path = req.path.replace(/\/+$/, "").toLowerCase();
    if (!path.startsWith("/_tdekv/health/") && !path.startsWith("/_tdekv/clock") && !path.startsWith("/_tdekv/chaos")) return undefined;
    try {
      await deps.authorize(req);
      if (path === "/_tdekv/health/probe" && req.method === "POST") {
        const calls = deps.vaultCalls();
        const cpu = process.cpuUsage();
        const started = performance.now();
        const pass = await deps.lifecycle.pass();
        const used = process.cpuUsage(cpu);
        return armResponses.ok({ ...pass, vaultCalls: deps.vaultCalls() - calls, cpuMs: (used.user + used.system) / 1000, wallMs: performance.now() - started });
      }
      if (path === "/_tdekv/clock" && req.method === "GET") {
        const now = deps.clock.now();
        return armResponses.ok({
          now: new Date(now).toISOString(),
          mode: deps.clock instanceof ManualClock ? "manual" : "system",
          ...(deps.windowMs !== undefined ? { autohealWindowSeconds: deps.windowMs / 1000 } : {}),
          // The same numbers as the portal's `event: clock` (issue 9 §3: the countdown runs on server time).
          nowMs: now,
          ...(deps.clockRate ? { rate: deps.clockRate() } : {}),
          ...(deps.windowMs !== undefined ? { windowMs: deps.windowMs } : {}),
        });
      }
      if (path === "/_tdekv/clock/advance" && req.method === "POST") {
        if (!(deps.clock instanceof ManualClock)) throw new ArmError(409, "ClockNotManual", "The clock only moves by hand when tdekv runs with --clock manual.");
        const by = parseDuration(body(req).by);
        if (by === undefined) throw armErrors.invalidParameter("'by' must be a duration such as 31m, 2h, 90s or a number of milliseconds.", "by");
        deps.clock.advance(by);
        await deps.onClockMoved(deps.clock.now());
        // The window is measured on this clock: evaluate at once so a test sees the consequence.
        const pass = await deps.lifecycle.pass();
        return armResponses.ok({ now: new Date(deps.clock.now()).toISOString(), pass });
      }
      if (path === "/_tdekv/chaos/faults" && req.method === "GET") return armResponses.ok({ faults: deps.faults.list() });
      if (path === "/_tdekv/chaos/faults" && req.method === "DELETE") {
        deps.faults.clear();
        return armResponses.ok({ faults: {} });
      }
      const m = /^\/_tdekv\/chaos\/faults\/([a-z0-9-]{3,24})$/.exec(path);
      if (m && req.method === "PUT") {
        const b = body(req);
        const kind = String(b.kind ?? "");
        if (!["unreachable", "slow", "5xx", "intermittent"].includes(kind)) throw armErrors.invalidParameter("'kind' must be unreachable, slow, 5xx or intermittent.", "kind");
        const rate = b.rate === undefined ? undefined : Number(b.rate);
        if (rate !== undefined && !(rate >= 0 && rate <= 1)) throw armErrors.invalidParameter("'rate' must be between 0 and 1.", "rate");
        const delayMs = b.delay === undefined ? undefined : parseDuration(b.delay);
        if (b.delay !== undefined && delayMs === undefined) throw armErrors.invalidParameter("'delay' must be a duration.", "delay");
        deps.faults.set(m[1]!, { kind: kind as "unreachable", ...(rate !== undefined ? { rate } : {}), ...(delayMs !== undefined ? { delayMs } : {}) });
        return armResponses.ok({ faults: deps.faults.list() });
      }
      if (m && req.method === "DELETE") {
        deps.faults.clear(m[1]!);
        return armResponses.ok({ faults: deps.faults.list() });
      }
      throw armErrors.pathNotFound(req.path);
    } catch (err) {
      if (err instanceof ArmError) return armResponses.armErrorResponse(err);
      throw err;
    }
  };
}

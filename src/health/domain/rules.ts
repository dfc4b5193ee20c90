/**
 * The key-access lifecycle as pure rules (architecture.md: `evaluate(state, probe, now) -> {next, events}`).
 * Time is a parameter; nothing here does I/O. Every threshold is a named constant citing the seed.
 */

/** Seed "Introduction": "For the first 30 minutes … the database will auto-heal". Configurable (--autoheal-window). */
export const DEFAULT_AUTOHEAL_WINDOW_MS = 30 * 60 * 1000;

/**
 * Telling a blip from a loss (issue 5 §1). Each probe already retries once inside itself. A *definitive*
 * failure (the vault answered: permission revoked, key disabled/expired/deleted, identity gone, vault
 * deleted, firewall 403) is a loss at the first failed probe, as Azure reacts to 4xx. A *transient* one
 * (network error, timeout, 5xx) must fail this many probes in a row first: the seed's "intermittent network
 * outage" needs no action.
 */
export const TRANSIENT_FAILURES_FOR_LOSS = 3;

/** Hysteresis against flapping: a lost target must pass this many probes in a row before it heals. */
export const SUCCESSES_FOR_HEAL = 2;

export type ProbeOutcome =
  | { ok: true }
  | {
      ok: false;
      /** Seed cause, e.g. missing-permissions, key-disabled, vault-unreachable, network-error. */
      cause: string;
      transient: boolean;
      /** The seed's error code and status for this cause, e.g. 401 AzureKeyVaultMissingPermissions. */
      code: string;
      status: number;
      message: string;
    };

export interface TargetState {
  lost: boolean;
  failures: number;
  successes: number;
  lastCause?: string;
  lastCode?: string;
  lastStatus?: number;
  lastMessage?: string;
  lastProbeAt?: number;
}

export const freshTarget = (): TargetState => ({ lost: false, failures: 0, successes: 0 });

export type Verdict = "lost" | "restored" | null;

export function applyProbe(t: TargetState, o: ProbeOutcome, now: number): { next: TargetState; verdict: Verdict } {
  if (o.ok) {
    const successes = t.successes + 1;
    const restored = t.lost && successes >= SUCCESSES_FOR_HEAL;
    return { next: { ...t, lost: restored ? false : t.lost, failures: 0, successes, lastProbeAt: now }, verdict: restored ? "restored" : null };
  }
  const failures = t.failures + 1;
  const lost = !t.lost && (!o.transient || failures >= TRANSIENT_FAILURES_FOR_LOSS);
  return {
    next: { ...t, lost: t.lost || lost, failures, successes: 0, lastCause: o.cause, lastCode: o.code, lastStatus: o.status, lastMessage: o.message, lastProbeAt: now },
    verdict: lost ? "lost" : null,
  };
}

export type LifeEvent =
  | "inaccessible-started"
  | "inaccessible-succeeded"
  | "accessible-started"
  | "accessible-succeeded"
  | "accessible-failed";

export interface DatabaseLife {
  state: "Online" | "Inaccessible";
  /** When access was lost. */
  since?: number;
  /** autoheal: within the window; revalidate: past it, only a revalidation brings it back. */
  phase?: "autoheal" | "revalidate";
  cause?: string;
  code?: string;
}

export const onlineLife = (): DatabaseLife => ({ state: "Online" });

/** Access lost: the database starts denying connections (seed "Event when the service loses access"). */
export function onLoss(db: DatabaseLife, now: number, cause: string, code: string): { next: DatabaseLife; events: LifeEvent[] } {
  if (db.state === "Inaccessible") return { next: db, events: [] };
  return { next: { state: "Inaccessible", since: now, phase: "autoheal", cause, code }, events: ["inaccessible-started"] };
}

/** The window closes: "Event when the issue wasn't resolved within 30 minutes". */
export function onTick(db: DatabaseLife, now: number, windowMs: number): { next: DatabaseLife; events: LifeEvent[] } {
  if (db.state === "Inaccessible" && db.phase === "autoheal" && db.since !== undefined && now - db.since > windowMs) {
    return { next: { ...db, phase: "revalidate" }, events: ["inaccessible-succeeded"] };
  }
  return { next: db, events: [] };
}

/** Access back within the window heals by itself; past it nothing happens until a revalidation. */
export function onRestored(db: DatabaseLife, now: number, windowMs: number): { next: DatabaseLife; events: LifeEvent[]; heals: boolean } {
  const ticked = onTick(db, now, windowMs);
  if (ticked.next.state === "Inaccessible" && ticked.next.phase === "autoheal") {
    return { next: onlineLife(), events: [...ticked.events, "accessible-started", "accessible-succeeded"], heals: true };
  }
  return { next: ticked.next, events: ticked.events, heals: false };
}

/**
 * A revalidation (server or database `…/encryptionProtector/current/revalidate`). Success after the window
 * loses the settings the seed names (failover group, PITR history, tags).
 */
export function onRevalidate(db: DatabaseLife, ok: boolean): { next: DatabaseLife; events: LifeEvent[]; loseSettings: boolean } {
  if (db.state !== "Inaccessible") return { next: db, events: [], loseSettings: false };
  if (!ok) return { next: db, events: ["accessible-started", "accessible-failed"], loseSettings: false };
  return { next: onlineLife(), events: ["accessible-started", "accessible-succeeded"], loseSettings: db.phase === "revalidate" };
}

/**
 * A probe target's key access as one name (issue 11 §4, metrics and read-outs). Derived from TargetState, never
 * stored: Accessible (last probes passed), Failing (transient failures not yet counted as a loss, the seed's
 * "intermittent network outage"), Inaccessible (lost: its databases are Inaccessible), Recovering (lost, and
 * passing probes but not yet SUCCESSES_FOR_HEAL of them).
 */
export type KeyAccessState = "Accessible" | "Failing" | "Inaccessible" | "Recovering";
export const KEY_ACCESS_STATES: readonly KeyAccessState[] = ["Accessible", "Failing", "Inaccessible", "Recovering"];

export function keyAccessState(t: TargetState): KeyAccessState {
  if (t.lost) return t.successes > 0 ? "Recovering" : "Inaccessible";
  return t.failures > 0 ? "Failing" : "Accessible";
}

/**
 * Milliseconds left in the auto-heal window of an Inaccessible database at `now`, or undefined when it is not
 * inside one (Online, or past the window even if the pass that records it has not run yet). onTick closes
 * the window when `now - since > windowMs`, so at exactly `windowMs` 0 ms are left and it is still open.
 */
export function autohealLeftMs(db: DatabaseLife, now: number, windowMs: number): number | undefined {
  if (db.state !== "Inaccessible" || db.phase !== "autoheal" || db.since === undefined) return undefined;
  const elapsed = now - db.since;
  if (elapsed > windowMs) return undefined;
  return Math.max(0, windowMs - elapsed);
}

import { backupErrors } from "./errors.js";

/**
 * Failover group rules (pitr-fog.md §1.5): Manual or Automatic read-write failover; Automatic needs a grace
 * period of at least one hour ("cannot be set below one hour"), Manual must not have one; the read-only
 * endpoint is Disabled or Enabled.
 */
export const MIN_GRACE_MINUTES = 60;

export interface ReadWriteEndpoint {
  failoverPolicy: "Manual" | "Automatic";
  failoverWithDataLossGracePeriodMinutes?: number;
}

export function validateReadWrite(v: unknown): ReadWriteEndpoint {
  const rw = (typeof v === "object" && v !== null ? v : {}) as Record<string, unknown>;
  const policy = String(rw.failoverPolicy ?? "");
  const grace = rw.failoverWithDataLossGracePeriodMinutes;
  if (policy.toLowerCase() === "manual") {
    if (grace !== undefined && grace !== null) throw backupErrors.fogGraceForManual();
    return { failoverPolicy: "Manual" };
  }
  if (policy.toLowerCase() !== "automatic") throw backupErrors.fogInvalidPolicy("readWriteEndpoint.failoverPolicy", rw.failoverPolicy);
  if (grace === undefined || grace === null) throw backupErrors.fogGraceRequired();
  if (typeof grace !== "number" || !Number.isInteger(grace)) throw backupErrors.fogInvalidPolicy("readWriteEndpoint.failoverWithDataLossGracePeriodMinutes", grace);
  if (grace < MIN_GRACE_MINUTES) throw backupErrors.fogGraceTooShort(MIN_GRACE_MINUTES);
  return { failoverPolicy: "Automatic", failoverWithDataLossGracePeriodMinutes: grace };
}

export function validateReadOnly(v: unknown): { failoverPolicy: "Disabled" | "Enabled" } {
  const ro = (typeof v === "object" && v !== null ? v : {}) as Record<string, unknown>;
  const p = String(ro.failoverPolicy ?? "Disabled");
  if (p.toLowerCase() === "disabled") return { failoverPolicy: "Disabled" };
  if (p.toLowerCase() === "enabled") return { failoverPolicy: "Enabled" };
  throw backupErrors.fogInvalidPolicy("readOnlyEndpoint.failoverPolicy", ro.failoverPolicy);
}

/**
 * Automatic failover: once the primary has been down (unreachable, or its databases Inaccessible) for the
 * grace period measured on tdekv's clock, the secondary is promoted with possible data loss (FOG doc:
 * "failoverWithDataLossGracePeriodMinutes").
 */
export function automaticFailoverDue(rw: ReadWriteEndpoint, downSince: number | undefined, now: number): boolean {
  if (rw.failoverPolicy !== "Automatic" || downSince === undefined) return false;
  return now - downSince >= (rw.failoverWithDataLossGracePeriodMinutes ?? MIN_GRACE_MINUTES) * 60_000;
}

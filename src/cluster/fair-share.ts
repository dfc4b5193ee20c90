/**
 * How many probe leases a node should claim or shed (scale-out.md §3.1), as a pure rule: no I/O, no clock.
 * Fair share is `ceil(total / live)`. A node under it claims the shortfall; a node more than
 * SHED_SLACK over it sheds down to it, which is how a new or restarted node gets work back (the lab
 * rebalanced 1,000 targets to 334/332/334 within seconds). The slack stops two nodes trading one target.
 */
export const SHED_SLACK = 2;

export function fairShare(total: number, live: number): number {
  return Math.ceil(total / Math.max(1, live));
}

export function rebalance(held: number, total: number, live: number): { claim: number; shed: number } {
  const fair = fairShare(total, live);
  if (held < fair) return { claim: fair - held, shed: 0 };
  if (held > fair + SHED_SLACK) return { claim: 0, shed: held - fair };
  return { claim: 0, shed: 0 };
}

/**
 * Where this node stops acting on a lease, on its own monotonic clock: `lease_until − margin` translated from
 * the lease clock (scale-out.md §3.1). A node that froze past it does nothing more with the target even
 * before the store's fence refuses it. The margin is a fifth of the TTL, at most one second.
 */
export function actUntil(monotonicNow: number, leaseUntil: number, leaseNow: number, ttlMs: number): number {
  return monotonicNow + (leaseUntil - leaseNow) - leaseMarginMs(ttlMs);
}

export const leaseMarginMs = (ttlMs: number): number => Math.min(1000, ttlMs / 5);

/**
 * A member is alive while it has not stopped and was seen (heartbeat) within one lease TTL, both on the lease
 * clock. The same rule as LeaseStore.liveCount, which counts it in SQL.
 */
export const nodeAlive = (n: { stoppedAt: number | null; seenAt: number }, leaseNow: number, ttlMs: number): boolean => n.stoppedAt === null && n.seenAt > leaseNow - ttlMs;

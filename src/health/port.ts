import type { Transaction } from "kysely";
import type { ProbeOutcome } from "./domain/rules.js";

/** A (server or managed instance, protector) pair the monitor probes. */
export interface ProbeTarget {
  serverId: string;
  serverKey: string;
  serverName: string;
  managed: boolean;
  subscriptionId: string;
  tenantId: string;
  /** The protector's key id, or undefined for a service-managed protector. */
  kid: string | undefined;
}

export interface DatabaseRef {
  id: string;
  name: string;
  /** The database's file id (stable across moves). */
  databaseId: string;
  location: string;
}

/**
 * What the lifecycle needs from Microsoft.Sql (implemented in sql/lifecycle-port.ts). The lifecycle decides;
 * the port acts: probe, close a file and forget its DEK, reopen it by unwrapping, and set the ARM status.
 */
export interface LifecyclePort {
  /** Servers whose protector is a customer-managed key (one probe each, whatever their database count). */
  targets(): Promise<ProbeTarget[]>;
  /** The keys (lower-cased server ids) of targets(), cheaply and in the same order. */
  targetKeys(): Promise<string[]>;
  target(serverId: string): Promise<ProbeTarget | undefined>;
  /** get the key as the server's identity (enabled, nbf, exp), then wrap and unwrap a canary. */
  probe(target: ProbeTarget): Promise<ProbeOutcome>;
  databases(target: ProbeTarget): Promise<DatabaseRef[]>;
  /**
   * Whether this node holds the database's file (local-disk mode, issue 11 slice 2). A node that does not must
   * not claim to close or open it: the owner does, when it sees the transition in the store.
   */
  holds(db: DatabaseRef): Promise<boolean>;
  close(db: DatabaseRef): void;
  /** Reopens the file by unwrapping its DEK (opening is also a probe). */
  open(target: ProbeTarget, db: DatabaseRef): Promise<ProbeOutcome>;
  setStatus(db: DatabaseRef, status: "Online" | "Inaccessible", opts?: { loseSettings?: boolean }): Promise<void>;
}

/** A probe lease this node holds (src/cluster): the fencing token and when to stop acting on it. */
export interface ProbeLease {
  serverKey: string;
  /** The fencing token: bumped by every claim, so a write under an older epoch is refused. */
  epoch: number;
  /** On ownership.monotonicNow(): lease_until − margin, after which this node stops acting on its own clock. */
  actUntil: number;
}

/**
 * Which targets this node probes and whether its writes still stand (issue 11 slice 2, scale-out.md §3.1).
 * The cluster component implements it; health knows nothing of nodes, tables or loops beyond this.
 */
export interface ProbeOwnership {
  /** This node's member name, recorded as `probed_by`. */
  nodeName(): string;
  /** The leases this node holds among these targets (a new target is claimed first if this node has room). */
  held(serverKeys: string[]): Promise<Map<string, ProbeLease>>;
  /** The lease held on one target right now (the lease loop may have renewed, shed or reclaimed it mid-pass). */
  lease(serverKey: string): ProbeLease | undefined;
  /** A monotonic clock in ms (not tdekv's Clock: leases are about real time). */
  monotonicNow(): number;
  /**
   * Inside the write's transaction, first: true when the lease still holds; its row then stays locked until
   * commit, so a takeover waits for this write. False: the result must be dropped.
   */
  fence(trx: Transaction<any>, lease: ProbeLease): Promise<boolean>;
  /** A probe result was dropped because the lease had lapsed (counted, logged at info). */
  dropped(lease: ProbeLease, why: "fence" | "own-clock"): void;
}

/** One node alone: it holds every target and nothing can fence it (the seed's behaviour, and unit wiring). */
export const soleOwnership: ProbeOwnership = {
  nodeName: () => "local",
  held: async (keys) => new Map(keys.map((k) => [k, { serverKey: k, epoch: 0, actUntil: Number.POSITIVE_INFINITY }])),
  lease: (k) => ({ serverKey: k, epoch: 0, actUntil: Number.POSITIVE_INFINITY }),
  monotonicNow: () => performance.now(),
  fence: async () => true,
  dropped: () => {},
};

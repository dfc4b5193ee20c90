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
  target(serverId: string): Promise<ProbeTarget | undefined>;
  /** get the key as the server's identity (enabled, nbf, exp), then wrap and unwrap a canary. */
  probe(target: ProbeTarget): Promise<ProbeOutcome>;
  databases(target: ProbeTarget): Promise<DatabaseRef[]>;
  close(db: DatabaseRef): void;
  /** Reopens the file by unwrapping its DEK (opening is also a probe). */
  open(target: ProbeTarget, db: DatabaseRef): Promise<ProbeOutcome>;
  setStatus(db: DatabaseRef, status: "Online" | "Inaccessible", opts?: { loseSettings?: boolean }): Promise<void>;
}

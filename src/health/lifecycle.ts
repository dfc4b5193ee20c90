import type { ActivityLog } from "../activity/index.js";
import { type Clock, type Logger, newGuid } from "../platform/index.js";
import { eventText } from "./domain/event-texts.js";
import { type DatabaseLife, type KeyAccessState, type LifeEvent, type ProbeOutcome, applyProbe, autohealLeftMs, keyAccessState, onLoss, onRestored, onRevalidate, onTick } from "./domain/rules.js";
import { type Availability, type DatabaseRecord, HealthStore } from "./health-store.js";
import type { DatabaseRef, LifecyclePort, ProbeTarget } from "./port.js";

export interface PassSummary {
  targets: number;
  lost: string[];
  restored: string[];
  failing: { server: string; cause: string; code: string }[];
}

type Life = DatabaseLife & { correlationId?: string };

/** A read-out of the lifecycle for metrics (issue 11 §4): no probe runs, nothing is written. */
export interface LifecycleSnapshot {
  /** Every probe target (server or managed instance with a customer-managed protector) and its key access. */
  targets: { serverId: string; kid: string | undefined; state: KeyAccessState }[];
  /** Inaccessible databases still inside their auto-heal window, measured on the injected clock. */
  windows: { databaseResourceId: string; serverId: string; leftMs: number }[];
}

/**
 * The key-access lifecycle (seed, issue 5): probes each (server, protector) pair, turns losses into
 * Inaccessible databases whose files are closed and DEKs forgotten, heals them within the window, requires a
 * revalidation after it, and writes every step to the Activity Log. All mutations run one at a time.
 */
export class Lifecycle {
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly deps: { store: HealthStore; activity: ActivityLog; port: LifecyclePort; clock: Clock; log: Logger; windowMs: number },
  ) {}

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** One probe of every target, then the window clock for every inaccessible database. */
  pass(): Promise<PassSummary> {
    return this.exclusive(async () => {
      const summary: PassSummary = { targets: 0, lost: [], restored: [], failing: [] };
      for (const t of await this.deps.port.targets()) {
        summary.targets++;
        const outcome = await this.deps.port.probe(t);
        if (!outcome.ok) summary.failing.push({ server: t.serverName, cause: outcome.cause, code: outcome.code });
        const verdict = await this.applyOutcome(t, outcome);
        if (verdict === "lost") summary.lost.push(t.serverName);
        if (verdict === "restored") summary.restored.push(t.serverName);
        await this.tick(t);
      }
      return summary;
    });
  }

  /** Opening a database is also a probe (issue 5 §1): a failed open at start feeds the same rules. */
  openFailed(target: ProbeTarget, outcome: ProbeOutcome): Promise<void> {
    return this.exclusive(async () => {
      await this.applyOutcome(target, outcome);
    });
  }

  /**
   * `…/encryptionProtector/current/revalidate` for a server (all its inaccessible databases) or one database.
   * Returns the probe outcome; on failure every affected database records MakeDatabaseAccessible Failed.
   */
  revalidate(serverId: string, databaseId?: string): Promise<ProbeOutcome> {
    return this.exclusive(async () => {
      const t = await this.deps.port.target(serverId);
      if (!t) return { ok: true } as ProbeOutcome;
      const outcome = t.kid ? await this.deps.port.probe(t) : ({ ok: true } as ProbeOutcome);
      const store = this.deps.store;
      const now = this.deps.clock.now();
      if (outcome.ok) {
        const state = await store.target(t.serverKey);
        await store.saveTarget(t.serverKey, { ...state, lost: false, failures: 0, successes: 0, lastProbeAt: now });
      }
      for (const db of await this.deps.port.databases(t)) {
        if (databaseId && db.databaseId !== databaseId) continue;
        const rec = await store.database(db.databaseId, t.serverKey, now);
        if (rec.life.state !== "Inaccessible") continue;
        let ok = outcome.ok;
        if (ok) {
          const opened = await this.deps.port.open(t, db);
          ok = opened.ok;
        }
        const r = onRevalidate(rec.life, ok);
        if (ok) await this.deps.port.setStatus(db, "Online", { loseSettings: r.loseSettings });
        await store.saveDatabase({ ...rec, life: { ...r.next } });
        await this.emit(t, db, r.events, rec.life, newGuid());
        if (ok) await this.setAvailability(t, db, { ...rec, life: r.next }, "Available");
      }
      return outcome;
    });
  }

  /** A connection was refused with 40613: Resource Health turns Unavailable (azure-sql-tde.md §4.4). */
  denied(target: ProbeTarget, db: DatabaseRef): Promise<void> {
    return this.exclusive(async () => {
      const rec = await this.deps.store.database(db.databaseId, target.serverKey, this.deps.clock.now());
      await this.setAvailability(target, db, rec, "Unavailable");
    });
  }

  /** Reads the current state of every target and the auto-heal windows still open (read-only, not serialised). */
  async snapshot(): Promise<LifecycleSnapshot> {
    const { store, port, clock } = this.deps;
    const now = clock.now();
    const out: LifecycleSnapshot = { targets: [], windows: [] };
    for (const t of await port.targets()) {
      out.targets.push({ serverId: t.serverId, kid: t.kid, state: keyAccessState(await store.target(t.serverKey)) });
      const inaccessible = await store.inaccessibleOf(t.serverKey);
      if (inaccessible.size === 0) continue;
      for (const db of await port.databases(t)) {
        if (!inaccessible.has(db.databaseId)) continue;
        const left = autohealLeftMs((await store.database(db.databaseId, t.serverKey, now)).life, now, this.deps.windowMs);
        if (left !== undefined) out.windows.push({ databaseResourceId: db.id, serverId: t.serverId, leftMs: left });
      }
    }
    return out;
  }

  async lifeOf(databaseId: string, serverKey: string): Promise<DatabaseRecord> {
    return this.deps.store.database(databaseId, serverKey, this.deps.clock.now());
  }

  private async applyOutcome(t: ProbeTarget, outcome: ProbeOutcome): Promise<"lost" | "restored" | null> {
    const { store, clock, port } = this.deps;
    const now = clock.now();
    const { next, verdict } = applyProbe(await store.target(t.serverKey), outcome, now);
    await store.saveTarget(t.serverKey, next);
    if (verdict === "lost" && !outcome.ok) {
      this.deps.log.warn({ server: t.serverId, cause: outcome.cause, code: outcome.code }, "TDE protector lost: databases go Inaccessible");
      for (const db of await port.databases(t)) {
        const rec = await store.database(db.databaseId, t.serverKey, now);
        const r = onLoss(rec.life, now, outcome.cause, outcome.code);
        if (!r.events.length) continue;
        // Close the file and zero the DEK first: from here on the key is really needed again.
        port.close(db);
        await port.setStatus(db, "Inaccessible");
        const life: Life = { ...r.next, correlationId: newGuid() };
        await store.saveDatabase({ ...rec, life });
        await this.emit(t, db, r.events, life, life.correlationId!);
      }
    }
    if (verdict === "restored") {
      for (const db of await port.databases(t)) {
        const rec = await store.database(db.databaseId, t.serverKey, now);
        const r = onRestored(rec.life, now, this.deps.windowMs);
        if (!r.heals) {
          if (r.events.length) {
            await store.saveDatabase({ ...rec, life: { ...(rec.life as Life), ...r.next } });
            await this.emit(t, db, r.events, rec.life, (rec.life as Life).correlationId ?? newGuid());
          }
          continue;
        }
        const opened = await port.open(t, db);
        if (!opened.ok) {
          this.deps.log.warn({ database: db.id, cause: opened.cause }, "auto-heal could not reopen the database");
          continue;
        }
        await port.setStatus(db, "Online");
        await store.saveDatabase({ ...rec, life: r.next });
        await this.emit(t, db, r.events.filter((e) => e.startsWith("accessible")), rec.life, newGuid());
        await this.setAvailability(t, db, { ...rec, life: r.next }, "Available");
      }
    }
    return verdict;
  }

  private async tick(t: ProbeTarget): Promise<void> {
    const { store, clock, port } = this.deps;
    const now = clock.now();
    // Only inaccessible databases have a window to watch: one indexed query per server, not one per database.
    const inaccessible = await store.inaccessibleOf(t.serverKey);
    if (inaccessible.size === 0) return;
    for (const db of await port.databases(t)) {
      if (!inaccessible.has(db.databaseId)) continue;
      const rec = await store.database(db.databaseId, t.serverKey, now);
      const r = onTick(rec.life, now, this.deps.windowMs);
      if (!r.events.length) continue;
      const life = { ...(rec.life as Life), ...r.next };
      await store.saveDatabase({ ...rec, life });
      await this.emit(t, db, r.events, life, life.correlationId ?? newGuid());
    }
  }

  private async setAvailability(t: ProbeTarget, db: DatabaseRef, rec: DatabaseRecord, to: Availability): Promise<void> {
    if (rec.availability === to) return;
    const now = this.deps.clock.now();
    rec.availability = to;
    rec.availabilityChangedAt = now;
    await this.deps.store.saveDatabase(rec);
    const activated = to === "Unavailable";
    await this.deps.activity.append({
      subscriptionId: t.subscriptionId,
      tenantId: t.tenantId,
      resourceId: db.id,
      category: "ResourceHealth",
      operationName: activated ? "Microsoft.Resourcehealth/healthevent/Activated/action" : "Microsoft.Resourcehealth/healthevent/Resolved/action",
      operationLocalized: activated ? "Health Event Activated" : "Health Event Resolved",
      eventName: activated ? "Activated" : "Resolved",
      status: activated ? "Active" : "Resolved",
      level: activated ? "Critical" : "Informational",
      caller: "Microsoft.ResourceHealth",
      description: activated
        ? `The database ${db.name} is unavailable: its server lost access to the Azure Key Vault key that protects it, and connections are refused.`
        : `The database ${db.name} is available again.`,
      properties: {
        title: activated ? "Database unavailable" : "Database available",
        details: activated ? "The TDE protector in Azure Key Vault cannot be reached by the server." : "Access to the TDE protector was re-established.",
        currentHealthStatus: to,
        previousHealthStatus: activated ? "Available" : "Unavailable",
        type: "Downtime",
        cause: "UserInitiated",
      },
    });
  }

  private async emit(t: ProbeTarget, db: DatabaseRef, events: LifeEvent[], life: DatabaseLife, correlationId: string): Promise<void> {
    for (const kind of events) {
      const text = eventText(kind, t.managed, db.name, t.serverName);
      await this.deps.activity.append({
        subscriptionId: t.subscriptionId,
        tenantId: t.tenantId,
        resourceId: db.id,
        category: "Administrative",
        operationName: t.managed ? "Microsoft.Sql/managedInstances/databases/write" : "Microsoft.Sql/servers/databases/write",
        operationLocalized: t.managed ? "Create/Update Managed Instance Database" : "Update SQL database",
        eventName: text.eventName,
        status: text.status,
        description: text.description,
        correlationId,
        caller: "Microsoft.Sql",
        level: kind === "inaccessible-succeeded" ? "Critical" : kind === "inaccessible-started" || kind === "accessible-failed" ? "Error" : "Informational",
        properties: { cause: life.cause, errorCode: life.code, keyUri: t.kid ?? null, serverName: t.serverName, databaseName: db.name },
      });
    }
  }
}

import type { ActivityLog, NewEvent, StoredEvent } from "../activity/index.js";
import { type Clock, type Logger, newGuid } from "../platform/index.js";
import { withRetry } from "../storage/index.js";
import { eventText } from "./domain/event-texts.js";
import { type DatabaseLife, type KeyAccessState, type LifeEvent, type ProbeOutcome, applyProbe, autohealLeftMs, keyAccessState, onLoss, onRestored, onRevalidate, onTick } from "./domain/rules.js";
import { type Availability, type DatabaseRecord, type ProbedBy, HealthStore } from "./health-store.js";
import { type DatabaseRef, type LifecyclePort, type ProbeLease, type ProbeOwnership, type ProbeTarget, soleOwnership } from "./port.js";

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

/** What one transaction of the lifecycle writes through: the bound store, and events that commit with it. */
interface Tx {
  store: HealthStore;
  append(e: NewEvent): Promise<void>;
}

/** A decided transition of one database: the record to compare-and-set, and the events it emits. */
interface Decision {
  next: DatabaseRecord;
  events: NewEvent[];
}

/**
 * The key-access lifecycle (seed, issue 5): probes each (server, protector) pair, turns losses into
 * Inaccessible databases whose files are closed and DEKs forgotten, heals them within the window, requires a
 * revalidation after it, and writes every step to the Activity Log. All mutations run one at a time.
 *
 * Several nodes (issue 11 slice 2, scale-out.md §3.1-§3.2): a pass probes only the targets this node holds a
 * lease on (`ownership`), and every write a probe causes commits in one transaction that first checks the
 * lease (the fence), with its Activity Log events; events are announced only after the commit. Database
 * transitions compare-and-set on the row's version, so one happens once even when two nodes race. Files are
 * closed or opened only on the node that holds them; the others leave that to the owner's placement poller.
 */
export class Lifecycle {
  private chain: Promise<unknown> = Promise.resolve();
  private readonly own: ProbeOwnership;

  constructor(
    private readonly deps: { store: HealthStore; activity: ActivityLog; port: LifecyclePort; clock: Clock; log: Logger; windowMs: number; ownership?: ProbeOwnership },
  ) {
    this.own = deps.ownership ?? soleOwnership;
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /**
   * One probe of every target this node holds, then the window clock for every inaccessible database. The lease
   * is looked up per target as the pass reaches it: a long pass sees the lease loop's renewals, sheds and claims.
   */
  pass(): Promise<PassSummary> {
    return this.exclusive(async () => {
      const summary: PassSummary = { targets: 0, lost: [], restored: [], failing: [] };
      const keys = await this.deps.port.targetKeys();
      await this.own.held(keys);
      for (const key of keys) {
        const lease = this.own.lease(key);
        if (!lease) continue;
        // scale-out.md §3.1: stop acting on one's own clock at lease_until − margin.
        if (this.own.monotonicNow() >= lease.actUntil) {
          this.own.dropped(lease, "own-clock");
          continue;
        }
        const t = await this.deps.port.target(key);
        if (!t?.kid) continue;
        summary.targets++;
        const outcome = await this.deps.port.probe(t);
        if (!outcome.ok) summary.failing.push({ server: t.serverName, cause: outcome.cause, code: outcome.code });
        // Renewed meanwhile: write under the fresher deadline; reclaimed under another epoch, or gone: the
        // probe ran under `lease`, so its epoch is what the fence must check.
        const current = () => {
          const l = this.own.lease(key);
          return l && l.epoch === lease.epoch ? l : lease;
        };
        const verdict = await this.applyOutcome(t, outcome, current());
        if (verdict === "lost") summary.lost.push(t.serverName);
        if (verdict === "restored") summary.restored.push(t.serverName);
        await this.tick(t, current());
      }
      return summary;
    });
  }

  /** Opening a database is also a probe (issue 5 §1): a failed open at start feeds the same rules (unfenced). */
  openFailed(target: ProbeTarget, outcome: ProbeOutcome): Promise<void> {
    return this.exclusive(async () => {
      await this.applyOutcome(target, outcome, undefined);
    });
  }

  /**
   * `…/encryptionProtector/current/revalidate` for a server (all its inaccessible databases) or one database.
   * Returns the probe outcome; on failure every affected database records MakeDatabaseAccessible Failed.
   * User-driven: not fenced by a lease, but each transition is a compare-and-set.
   */
  revalidate(serverId: string, databaseId?: string): Promise<ProbeOutcome> {
    return this.exclusive(async () => {
      const t = await this.deps.port.target(serverId);
      if (!t) return { ok: true } as ProbeOutcome;
      const outcome = t.kid ? await this.deps.port.probe(t) : ({ ok: true } as ProbeOutcome);
      const { store, port } = this.deps;
      const now = this.deps.clock.now();
      if (outcome.ok) {
        await this.commit(undefined, async (tx) => {
          const state = await tx.store.target(t.serverKey);
          await tx.store.saveTarget(t.serverKey, { ...state, lost: false, failures: 0, successes: 0, lastProbeAt: now });
        });
      }
      for (const db of await port.databases(t)) {
        if (databaseId && db.databaseId !== databaseId) continue;
        const rec = await store.database(db.databaseId, t.serverKey, now);
        if (rec.life.state !== "Inaccessible") continue;
        let ok = outcome.ok;
        let opened = false;
        // Only the node that holds the file opens it; elsewhere the owner reopens it when it sees the change.
        if (ok && (await port.holds(db))) {
          ok = (await port.open(t, db)).ok;
          opened = ok;
        }
        let loseSettings = false;
        let moved: DatabaseRecord | undefined;
        await this.commit(undefined, async (tx) => {
          moved = await this.transition(tx, t, db, now, (cur) => {
            if (cur.life.state !== "Inaccessible") return undefined;
            const r = onRevalidate(cur.life, ok);
            loseSettings = r.loseSettings;
            const next: DatabaseRecord = { ...cur, life: { ...r.next } };
            const events = this.lifeEvents(t, db, r.events, cur.life, newGuid());
            if (ok) this.availability(t, db, next, "Available", now, events);
            return { next, events };
          });
        });
        if (ok && moved) await port.setStatus(db, "Online", { loseSettings });
        else if (opened && !moved) port.close(db); // someone else decided first: leave the file as the store says
      }
      return outcome;
    });
  }

  /** A connection was refused with 40613: Resource Health turns Unavailable (azure-sql-tde.md §4.4). */
  denied(target: ProbeTarget, db: DatabaseRef): Promise<void> {
    return this.exclusive(async () => {
      const now = this.deps.clock.now();
      await this.commit(undefined, async (tx) => {
        await this.transition(tx, target, db, now, (cur) => {
          const next: DatabaseRecord = { ...cur };
          const events: NewEvent[] = [];
          return this.availability(target, db, next, "Unavailable", now, events) ? { next, events } : undefined;
        });
      });
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

  /**
   * Runs `work` in one transaction. With a lease, the fence comes first: 0 rows and nothing is written (issue
   * 11 slice 2). Events are announced after the commit only: listeners never hear of a rolled-back event.
   * Returns false when the result was dropped. Retried on the engine's serialization and deadlock errors.
   */
  private async commit(lease: ProbeLease | undefined, work: (tx: Tx) => Promise<void>): Promise<boolean> {
    if (lease && this.own.monotonicNow() >= lease.actUntil) {
      this.own.dropped(lease, "own-clock");
      return false;
    }
    let stored: StoredEvent[] = [];
    const ok = await withRetry(() => {
      stored = [];
      return this.deps.store.transaction(async (store, trx) => {
        if (lease && !(await this.own.fence(trx, lease))) return false;
        await work({ store, append: async (e) => void stored.push(await this.deps.activity.appendIn(trx, e)) });
        return true;
      });
    });
    if (!ok) {
      this.own.dropped(lease!, "fence");
      return false;
    }
    for (const e of stored) this.deps.activity.announce(e);
    return true;
  }

  /**
   * One database's transition as a compare-and-set (scale-out.md §3.2): read, decide with the pure rule, save
   * only the version read. When another writer moved first, re-read and decide once more (maybe nothing).
   * Returns the saved record, or undefined when there was nothing (left) to do.
   */
  private async transition(tx: Tx, t: ProbeTarget, db: DatabaseRef, now: number, decide: (cur: DatabaseRecord) => Decision | undefined): Promise<DatabaseRecord | undefined> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const cur = await tx.store.database(db.databaseId, t.serverKey, now);
      const d = decide(cur);
      if (!d) return undefined;
      if (await tx.store.saveDatabase(d.next)) {
        for (const e of d.events) await tx.append(e);
        return d.next;
      }
      this.deps.log.debug({ database: db.id }, "lifecycle transition lost a race: re-reading");
    }
    return undefined;
  }

  private async applyOutcome(t: ProbeTarget, outcome: ProbeOutcome, lease: ProbeLease | undefined): Promise<"lost" | "restored" | null> {
    const { store, clock, port } = this.deps;
    const now = clock.now();
    const { next, verdict } = applyProbe(await store.target(t.serverKey), outcome, now);
    const by: ProbedBy | undefined = lease ? { node: this.own.nodeName(), epoch: lease.epoch } : undefined;
    const saveTarget = (tx: Tx) => tx.store.saveTarget(t.serverKey, next, by);
    if (verdict === "lost" && !outcome.ok) {
      const dbs = await port.databases(t);
      const moved: DatabaseRef[] = [];
      const ok = await this.commit(lease, async (tx) => {
        moved.length = 0;
        await saveTarget(tx);
        for (const db of dbs) {
          const done = await this.transition(tx, t, db, now, (cur) => {
            const r = onLoss(cur.life, now, outcome.cause, outcome.code);
            if (!r.events.length) return undefined;
            const life: Life = { ...r.next, correlationId: newGuid() };
            return { next: { ...cur, life }, events: this.lifeEvents(t, db, r.events, life, life.correlationId!) };
          });
          if (done) moved.push(db);
        }
      });
      if (!ok) return null;
      this.deps.log.warn({ server: t.serverId, cause: outcome.cause, code: outcome.code }, "TDE protector lost: databases go Inaccessible");
      for (const db of moved) {
        // Close the file and zero the DEK: from here on the key is really needed again. Only the node that
        // holds the file can; another node's placement poller closes its own when it sees the commit.
        if (await port.holds(db)) port.close(db);
        await port.setStatus(db, "Inaccessible");
      }
      return verdict;
    }
    if (verdict === "restored") {
      const dbs = await port.databases(t);
      // Reopening unwraps the DEK (a network call): before the transaction, on the node that holds the file.
      const opened = new Set<string>();
      const unopenable = new Set<string>();
      for (const db of dbs) {
        const rec = await store.database(db.databaseId, t.serverKey, now);
        if (!onRestored(rec.life, now, this.deps.windowMs).heals || !(await port.holds(db))) continue;
        const o = await port.open(t, db);
        if (o.ok) opened.add(db.databaseId);
        else {
          unopenable.add(db.databaseId);
          this.deps.log.warn({ database: db.id, cause: o.cause }, "auto-heal could not reopen the database");
        }
      }
      const healed: DatabaseRef[] = [];
      const ok = await this.commit(lease, async (tx) => {
        healed.length = 0;
        await saveTarget(tx);
        for (const db of dbs) {
          const done = await this.transition(tx, t, db, now, (cur) => {
            const r = onRestored(cur.life, now, this.deps.windowMs);
            if (!r.heals) {
              if (!r.events.length) return undefined;
              const life = cur.life as Life;
              return { next: { ...cur, life: { ...life, ...r.next } }, events: this.lifeEvents(t, db, r.events, cur.life, life.correlationId ?? newGuid()) };
            }
            if (unopenable.has(db.databaseId)) return undefined;
            const nextRec: DatabaseRecord = { ...cur, life: r.next };
            const events = this.lifeEvents(t, db, r.events.filter((e) => e.startsWith("accessible")), cur.life, newGuid());
            this.availability(t, db, nextRec, "Available", now, events);
            return { next: nextRec, events };
          });
          if (done && done.life.state === "Online") healed.push(db);
        }
      });
      const healedIds = new Set(healed.map((d) => d.databaseId));
      for (const db of dbs) {
        // Opened for a heal that did not commit (fenced, or another writer decided first): close it again.
        if (opened.has(db.databaseId) && (!ok || !healedIds.has(db.databaseId))) port.close(db);
      }
      if (!ok) return null;
      for (const db of healed) await port.setStatus(db, "Online");
      return verdict;
    }
    return (await this.commit(lease, saveTarget)) ? verdict : null;
  }

  private async tick(t: ProbeTarget, lease: ProbeLease | undefined): Promise<void> {
    const { store, clock, port } = this.deps;
    const now = clock.now();
    // Only inaccessible databases have a window to watch: one indexed query per server, not one per database.
    const inaccessible = await store.inaccessibleOf(t.serverKey);
    if (inaccessible.size === 0) return;
    const due: DatabaseRef[] = [];
    for (const db of await port.databases(t)) {
      if (!inaccessible.has(db.databaseId)) continue;
      if (onTick((await store.database(db.databaseId, t.serverKey, now)).life, now, this.deps.windowMs).events.length) due.push(db);
    }
    if (!due.length) return;
    await this.commit(lease, async (tx) => {
      for (const db of due) {
        await this.transition(tx, t, db, now, (cur) => {
          const r = onTick(cur.life, now, this.deps.windowMs);
          if (!r.events.length) return undefined;
          const life = { ...(cur.life as Life), ...r.next };
          return { next: { ...cur, life }, events: this.lifeEvents(t, db, r.events, life, life.correlationId ?? newGuid()) };
        });
      }
    });
  }

  /**
   * Moves a record's Resource Health availability to `to` and adds its Activity Log event (written as the
   * record commits). False when it already was `to`.
   */
  private availability(t: ProbeTarget, db: DatabaseRef, rec: DatabaseRecord, to: Availability, now: number, events: NewEvent[]): boolean {
    if (rec.availability === to) return false;
    rec.availability = to;
    rec.availabilityChangedAt = now;
    const activated = to === "Unavailable";
    events.push({
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
    return true;
  }

  private lifeEvents(t: ProbeTarget, db: DatabaseRef, kinds: LifeEvent[], life: DatabaseLife, correlationId: string): NewEvent[] {
    return kinds.map((kind) => {
      const text = eventText(kind, t.managed, db.name, t.serverName);
      return {
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
      };
    });
  }
}

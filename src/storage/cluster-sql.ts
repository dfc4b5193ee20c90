import { type SelectQueryBuilder, type RawBuilder, type Transaction, sql } from "kysely";
import type { StoreTarget } from "./store-target.js";

/**
 * The two dialect-aware pieces that issue 11's leases and claims need (scale-out.md §1.4, §2.2). Everything
 * else stays in the PG-wire subset that SQLite also speaks.
 */
export type StoreEngine = StoreTarget["kind"];

/**
 * The lease clock in epoch ms, read inside the statement: the database's clock on a shared engine, never a
 * node's (scale-out.md §1.4 rule 1: nodes' clocks drift, and a frozen node's clock is stale when it wakes).
 * clock_timestamp(), not now(): now() is the transaction's start, which a long transaction would hold still.
 * On SQLite (one process per file) it is the process's wall clock, read by SQLite itself. Never tdekv's
 * injected Clock: a manual clock stands still and a scaled one runs fast, and leases are about real time.
 */
export function leaseNowMs(engine: StoreEngine): RawBuilder<number> {
  return engine === "postgres"
    ? sql<number>`(floor(extract(epoch from clock_timestamp()) * 1000))::bigint`
    : sql<number>`cast(unixepoch('subsec') * 1000 as integer)`;
}

/**
 * `FOR UPDATE SKIP LOCKED` where the engine has it (PostgreSQL, CockroachDB, YugabyteDB): N nodes claim
 * disjoint rows without waiting on each other. SQLite rejects the clause and needs none (one writer at a time).
 */
export function skipLocked<DB, TB extends keyof DB, O>(engine: StoreEngine, q: SelectQueryBuilder<DB, TB, O>): SelectQueryBuilder<DB, TB, O> {
  return engine === "postgres" ? q.forUpdate().skipLocked() : q;
}

/** A lease row as the fence names it: its table, its key column and key, and who claims to hold it under which epoch. */
export interface LeaseRef {
  table: string;
  keyColumn: string;
  key: string;
  owner: string;
  epoch: number;
}

/**
 * The fence (scale-out.md §3.1), the first statement of a transaction that acts on a lease: a no-op update of
 * the lease row that matches only while `owner` still holds it under `epoch` and it has not run out on the
 * lease clock. One row: the lease holds, and the row stays locked until commit, so a takeover waits for this
 * transaction. Zero rows: the holder paused past its lease, shed it or lost it; the caller rolls back.
 */
export async function leaseHolds(trx: Transaction<any>, engine: StoreEngine, lease: LeaseRef): Promise<boolean> {
  const r = await trx
    .updateTable(lease.table)
    .set({ epoch: sql<number>`epoch` })
    .where(lease.keyColumn, "=", lease.key)
    .where("owner", "=", lease.owner)
    .where("epoch", "=", lease.epoch)
    .where("lease_until", ">", leaseNowMs(engine))
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** SQLSTATEs a transaction is retried on: serialization failure (CockroachDB, SERIALIZABLE) and deadlock. */
export const RETRYABLE_SQLSTATES = new Set(["40001", "40P01"]);

/** Runs `fn` again (up to `attempts` times, with jittered backoff) when the engine asks for a retry. */
export async function withRetry<T>(fn: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (i >= attempts || typeof code !== "string" || !RETRYABLE_SQLSTATES.has(code)) throw err;
      await new Promise((r) => setTimeout(r, Math.random() * 10 * 2 ** i));
    }
  }
}

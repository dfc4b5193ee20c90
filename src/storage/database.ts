import fs from "node:fs";
import path from "node:path";
import SQLite from "better-sqlite3-multiple-ciphers";
import pg from "pg";
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from "kysely";
import type { Database } from "./schema.js";
import { migrationProvider } from "./migrations/index.js";
import { type StoreTarget, describeStore, parseStoreTarget, redactStoreUrl } from "./store-target.js";

export type Db = Kysely<Database>;

export interface OpenedStore {
  db: Db;
  engine: StoreTarget["kind"];
  /** The SQLite file or the redacted URL: safe to print and log. */
  description: string;
  close(): Promise<void>;
}

/**
 * Opens the control-plane store. SQLite in WAL mode with synchronous=FULL: a crash at any point loses no
 * committed transaction and leaves the file openable (durability standard).
 */
export async function openSqliteStore(file: string, opts: { migrate?: boolean } = {}): Promise<OpenedStore> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const sqlite = new SQLite(file);
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("synchronous = FULL");
  sqlite.pragma("busy_timeout = 5000");
  sqlite.pragma("foreign_keys = ON");
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  if (opts.migrate !== false) await migrate(db);
  return {
    db,
    engine: "sqlite",
    description: file,
    async close() {
      await db.destroy();
    },
  };
}

/**
 * Opens a PostgreSQL-wire store (PostgreSQL; CockroachDB and YugabyteDB through the same SQL subset).
 *
 * One connection (pool max 1), on purpose: better-sqlite3 is one serialized connection, and components rely
 * on that. They read-then-write inside transactions (ActivityLog's cached seq, KeyStore's next_seq,
 * ResourceStore.put's created_at) and those reads are only safe while no two transactions interleave (under
 * PostgreSQL's READ COMMITTED two of them could both read max(seq) and collide). With one pooled client, Kysely queues every query and transaction behind the
 * previous one exactly as its SQLite mutex does, so behaviour matches the embedded store. Concurrency across
 * nodes (leases, compare-and-set, SKIP LOCKED claims) is the later slices of issue 11, not this one.
 */
export async function openPostgresStore(url: string, opts: StoreOptions = {}): Promise<OpenedStore> {
  // int8 (bigint: epoch-ms times, seqs, count(*)) comes back as a string from pg by default; the code stores
  // and compares them as JS numbers, which hold every value below 2^53. Set on this pool's own type table,
  // not pg's global one, so other pg users in the process are unaffected.
  const types = new pg.TypeOverrides();
  types.setTypeParser(20, (v: string) => Number(v));
  const pool = new pg.Pool({
    connectionString: url,
    max: 1,
    types,
    idleTimeoutMillis: 0,
    connectionTimeoutMillis: 15_000,
    // A node frozen mid-transaction (SIGSTOP, a VM pause) holds its row locks, e.g. the fence on a probe lease,
    // and a takeover would wait for it forever. The server ends such a session after this long idle inside a
    // transaction, releasing the locks; the frozen node's transaction then fails when it wakes, so its write
    // is fenced out too (issue 11 §2). No transaction of tdekv's waits on anything but the store between statements.
    ...(opts.idleInTransactionMs ? { idle_in_transaction_session_timeout: opts.idleInTransactionMs } : {}),
  });
  // An idle client whose server went away emits 'error' on the pool; without a listener that would kill the
  // process. The next query gets a fresh connection (or fails and is reported by its caller).
  pool.on("error", () => {});
  // A checked-out client whose session the server ends (idle_in_transaction_session_timeout after a freeze, a
  // restart) emits 'error' too: without a listener that kills the process; with it the transaction in hand
  // fails and the pool replaces the client.
  pool.on("connect", (client) => client.on("error", () => {}));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    await checkByteOrder(db);
    if (opts.migrate !== false) await migrate(db);
  } catch (err) {
    await db.destroy().catch(() => {});
    throw new Error(`store ${redactStoreUrl(url)}: ${scrub(err instanceof Error ? err.message : String(err), url)}`);
  }
  return {
    db,
    engine: "postgres",
    description: redactStoreUrl(url),
    async close() {
      await db.destroy();
    },
  };
}

export interface StoreOptions {
  /** Run the migrations first (default true). */
  migrate?: boolean;
  /** PostgreSQL: end a session idle inside a transaction after this many ms (a frozen node's locks). */
  idleInTransactionMs?: number;
}

/** Opens the store a `--store` value names: a postgres:// URL or a SQLite file path. */
export async function openStore(target: StoreTarget | string, opts: StoreOptions = {}): Promise<OpenedStore> {
  const t = typeof target === "string" ? parseStoreTarget(target) : target;
  return t.kind === "postgres" ? openPostgresStore(t.url, opts) : openSqliteStore(t.file, opts);
}

/**
 * Runs the numbered migrations (`tdekv migrate`, and `tdekv start` before it serves). Returns the names that
 * ran now (empty when the schema was current). Throws with the failing migration's name.
 */
export async function migrate(db: Db): Promise<string[]> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === "Error");
    throw new Error(`migration ${failed?.migrationName ?? "?"} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  return (results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName);
}

/**
 * Resource ids nest by prefix, and the resource store finds a subtree with the range ('id/', 'id0'); key-set
 * paging orders by text too. Both need byte-order text comparison, which SQLite, CockroachDB and YugabyteDB
 * have, and PostgreSQL has only in a database created with the C collation. A linguistic collation (en_US)
 * would silently drop child resources from cascades, so refuse it with the fix.
 */
async function checkByteOrder(db: Db): Promise<void> {
  const { rows } = await sql<{ ok: boolean }>`select (${sql.lit("a/b")} < ${sql.lit("a0")} and ${sql.lit("B")} < ${sql.lit("a")}) as ok`.execute(db);
  if (!rows[0]?.ok) {
    throw new Error(
      "the database compares text by a linguistic collation; tdekv needs byte order. Create it with: CREATE DATABASE tdekv TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'",
    );
  }
}

/** Removes the URL and its password from a driver message, should one ever quote them. */
function scrub(message: string, url: string): string {
  let out = message.split(url).join(redactStoreUrl(url));
  try {
    const pw = decodeURIComponent(new URL(url).password);
    if (pw) out = out.split(pw).join("***");
  } catch {
    /* unparseable URLs were rejected earlier */
  }
  return out;
}

export { describeStore };

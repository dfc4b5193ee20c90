import SQLite from "better-sqlite3-multiple-ciphers";
import type { DataAccess, OpenedDatabase } from "../sql/index.js";
import type { QueryResult } from "../tde/index.js";

/** Where a session's statements run: an encrypted database, or the session's own master. */
export interface QueryTarget {
  /** The database name clients see (DB_NAME()). */
  name: string;
  /** The engine file, for the transaction gate and for closing sessions when it turns Inaccessible. */
  file?: string;
  /** Waits until no other session holds this database's transaction (TransactionGate). */
  enter(owner: object, signal: AbortSignal): Promise<void>;
  hold(owner: object): void;
  release(owner: object): void;
  query(sql: string, params: unknown[]): QueryResult;
  close(): void;
}

export function databaseTarget(access: DataAccess, db: OpenedDatabase): QueryTarget {
  return {
    name: db.name,
    file: db.file,
    enter: (owner, signal) => access.transactions.enter(db.file, owner, signal),
    hold: (owner) => access.transactions.hold(db.file, owner),
    release: (owner) => access.transactions.release(db.file, owner),
    query: (sql, params) => access.query(db, sql, params),
    close() {},
  };
}

/**
 * `master`: where clients land without a database (FreeTDS and mssql without `database`). Azure's master
 * holds no user data; here each session gets an empty in-memory SQLite, enough for `SELECT 1`, @@VERSION
 * and the connection checks tools make.
 */
export function masterTarget(): QueryTarget {
  let db: SQLite.Database | undefined;
  return {
    name: "master",
    enter: async () => {},
    hold() {},
    release() {},
    query(sql, params) {
      db ??= new SQLite(":memory:");
      const stmt = db.prepare(sql);
      if (stmt.reader) {
        const rows = stmt.all(...params) as Record<string, unknown>[];
        return { columns: stmt.columns().map((c) => c.name), rows, changes: 0 };
      }
      return { columns: [], rows: [], changes: stmt.run(...params).changes };
    },
    close() {
      db?.close();
      db = undefined;
    },
  };
}

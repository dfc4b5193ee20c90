import fs from "node:fs";
import path from "node:path";
import SQLite from "better-sqlite3-multiple-ciphers";
import { Kysely, Migrator, SqliteDialect } from "kysely";
import type { Database } from "./schema.js";
import { migrationProvider } from "./migrations/index.js";

export type Db = Kysely<Database>;

export interface OpenedStore {
  db: Db;
  close(): Promise<void>;
}

/**
 * Opens the control-plane store. SQLite in WAL mode with synchronous=FULL: a crash at any point loses no
 * committed transaction and leaves the file openable (durability standard).
 */
export async function openSqliteStore(file: string): Promise<OpenedStore> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const sqlite = new SQLite(file);
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("synchronous = FULL");
  sqlite.pragma("busy_timeout = 5000");
  sqlite.pragma("foreign_keys = ON");
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  await migrate(db);
  return {
    db,
    async close() {
      await db.destroy();
    },
  };
}

/** Runs the numbered migrations (also `tdekv migrate` later). Throws with the failing migration's name. */
export async function migrate(db: Db): Promise<void> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === "Error");
    throw new Error(`migration ${failed?.migrationName ?? "?"} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

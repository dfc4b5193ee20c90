import type { Logger } from "../platform/index.js";
import type { BootRecord } from "../tde/index.js";
import { currentProtector, unwrapperForServer } from "./protector-ops.js";
import type { DatabaseBody, ServerBody, SqlContext } from "./sql-context.js";

/**
 * DEK regeneration, as SQL Server spells it: `ALTER DATABASE ENCRYPTION KEY REGENERATE WITH ALGORITHM =
 * AES_256` starts a re-encryption scan; `sys.dm_database_encryption_keys` shows its progress
 * (encryption_state 5 "key change in progress" with percent_complete, then 3 "encrypted"). Unlike a
 * protector change it rewrites every page, so it runs as a long-running operation.
 */
export const REGENERATE = /^\s*ALTER\s+DATABASE\s+ENCRYPTION\s+KEY\s+REGENERATE\s+WITH\s+ALGORITHM\s*=\s*AES_256\s*;?\s*$/i;
export const DM_ENCRYPTION_KEYS = /^\s*SELECT\s+(.+?)\s+FROM\s+sys\.dm_database_encryption_keys\s*;?\s*$/i;

interface Progress {
  percent: number;
  state: "running" | "done" | "failed";
  startedAt: number;
  finishedAt?: number;
  error?: string;
}

export class DekRegenerations {
  private readonly progress = new Map<string, Progress>();

  constructor(
    private readonly ctx: SqlContext,
    private readonly log: Logger,
  ) {}

  isRunning(databaseId: string): boolean {
    return this.progress.get(databaseId)?.state === "running";
  }

  /** Starts the scan and returns at once; the caller reads progress from the DMV. */
  start(server: ServerBody, db: DatabaseBody): void {
    const id = db.properties.databaseId;
    const entry: Progress = { percent: 0, state: "running", startedAt: this.ctx.clock.now() };
    this.progress.set(id, entry);
    void (async () => {
      try {
        const protector = await currentProtector(this.ctx, server);
        await this.ctx.tde.engine.rotateDek(id, unwrapperForServer(this.ctx, server), protector, (p) => (entry.percent = p));
        entry.state = "done";
      } catch (err) {
        entry.state = "failed";
        entry.error = (err as Error).message;
        this.log.warn({ database: db.id, err: entry.error }, "DEK regeneration failed");
      } finally {
        entry.finishedAt = this.ctx.clock.now();
      }
    })();
  }

  /** One row of sys.dm_database_encryption_keys for a database. */
  row(db: DatabaseBody, boot: BootRecord): Record<string, unknown> {
    const p = this.progress.get(db.properties.databaseId);
    const running = p?.state === "running";
    return {
      database_id: 5,
      database_name: db.name,
      encryption_state: running ? 5 : 3,
      encryption_state_desc: running ? "ENCRYPTION_KEY_CHANGE_IN_PROGRESS" : "ENCRYPTED",
      create_date: new Date(boot.createdAt).toISOString(),
      regenerate_date: new Date(boot.updatedAt).toISOString(),
      key_algorithm: "AEGIS",
      key_length: 256,
      encryptor_thumbprint: boot.dek.protector.thumbprint,
      encryptor_type: boot.dek.protector.kind === "AzureKeyVault" ? "ASYMMETRIC KEY" : "CERTIFICATE",
      percent_complete: running ? p!.percent : 0,
      last_regeneration_state: p?.state ?? null,
      last_regeneration_error: p?.error ?? null,
    };
  }
}

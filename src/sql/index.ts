import path from "node:path";
import type { ArmServices } from "../arm/index.js";
import type { Directory, TokenService } from "../identity/index.js";
import type { Clock, Logger, SecretBox } from "../platform/index.js";
import type { Db } from "../storage/index.js";
import { ServiceManagedProtector, TdeEngine } from "../tde/index.js";
import type { ServerKeyVault } from "./key-access.js";
import { Logins } from "./logins.js";
import { sqlProvider } from "./providers/sql-provider.js";
import { createQueryRoute } from "./query-route.js";
import { createArmForward } from "./arm-forward.js";
import { ProtectorFollower } from "./protector-follow.js";
import { type LifecycleHooks, type PlacementHooks, type SqlContext, noLifecycle, noPlacement } from "./sql-context.js";
import { lifecyclePort } from "./lifecycle-port.js";
import { reopenAll, reopenFile, type ReopenReport } from "./startup.js";
import { TdeService } from "./tde-service.js";
import { autoRotationPass } from "./auto-rotation.js";
import { DekRegenerations } from "./dek-regeneration.js";
import { DataAccess } from "./data-access.js";
import { createBackup, noBackup, type SqlPort } from "../backup/index.js";
import { KeyAccessError } from "./key-access.js";
import { currentProtector, keyAccessToArm, unwrapperForServer } from "./protector-ops.js";
import type { ServerBody } from "./sql-context.js";

export { type ServerKeyVault, type VaultKeyInfo, KeyAccessError, type KeyAccessCause, classifyVaultError, validateKey } from "./key-access.js";
export type { ReopenReport } from "./startup.js";
export type { LifecycleHooks, PlacementHooks } from "./sql-context.js";
export { DataAccess, DataAccessError, TransactionGate, accessErrors, SQL_AUDIENCES, type ServerRef, type OpenedDatabase } from "./data-access.js";

export interface SqlDeps {
  db: Db;
  clock: Clock;
  box: SecretBox;
  log: Logger;
  directory: Directory;
  tokens: TokenService;
  arm: ArmServices;
  vault: ServerKeyVault;
  dataDir: string;
  audiences: () => string[];
  /** How often protectors with autoRotationEnabled look for a new key version (Azure: up to 60 minutes). */
  rotationCheckMs: number;
}

/** Microsoft.Sql with real TDE: the resource provider, the encryption engine and the query route. */
export function createSql(deps: SqlDeps) {
  const engine = new TdeEngine(path.join(deps.dataDir, "databases"), deps.clock);
  const tde = new TdeService(engine, new ServiceManagedProtector(deps.box), deps.vault);
  const ctx: SqlContext = { arm: deps.arm, directory: deps.directory, clock: deps.clock, log: deps.log, db: deps.db, tde, vault: deps.vault, lifecycle: noLifecycle, placement: noPlacement, backup: noBackup };
  // Backups, restores and geo-replication (issue 10): the archive runs as the engine's hooks.
  const backup = createBackup({ arm: deps.arm, db: deps.db, clock: deps.clock, log: deps.log, engine, dataDir: deps.dataDir, sql: backupPort(ctx) });
  ctx.backup = backup.hooks;
  const logins = new Logins(deps.db);
  const dataAccess = new DataAccess(ctx, logins, deps.tokens, new DekRegenerations(ctx, deps.log));
  const protectorFollower = new ProtectorFollower(ctx);
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  return {
    /** Starts the auto-rotation worker; a slow pass never overlaps the next. */
    startWorkers() {
      timer = setInterval(() => {
        running = running.then(() => autoRotationPass(ctx, deps.log)).catch((err: Error) => deps.log.error({ err: err.message }, "auto-rotation pass failed"));
      }, deps.rotationCheckMs);
      timer.unref();
      backup.start();
    },
    rotationPass: () => autoRotationPass(ctx, deps.log),
    provider: sqlProvider(ctx, logins),
    /** The lifecycle's view of Microsoft.Sql (health/ decides, this acts). */
    lifecyclePort: lifecyclePort(ctx, (file) => dataAccess.databaseClosed(file)),
    setLifecycle(hooks: LifecycleHooks) {
      ctx.lifecycle = hooks;
    },
    /** Where database files live across nodes (issue 11 slice 2); before this, every file is this node's. */
    setPlacement(hooks: PlacementHooks) {
      ctx.placement = hooks;
    },
    /**
     * The files this node holds, as the placement poller acts on them when another node decided a transition:
     * close (file closed, DEK zeroed, TDS sessions ended, as the lifecycle port's close) and reopen.
     */
    files: {
      isOpen: (databaseId: string) => engine.isOpen(databaseId),
      close(databaseId: string) {
        engine.close(databaseId);
        dataAccess.databaseClosed(databaseId);
      },
      reopen: (databaseId: string) => reopenFile(ctx, databaseId),
    },
    /** Rewraps this node's files of servers whose protector another node changed (several nodes only). */
    followProtectors: () => protectorFollower.pass(),
    queryRoute: createQueryRoute(dataAccess, deps.tokens, deps.audiences),
    /** ARM writes for a database another node holds go to that node (issue 11 §3); undefined: serve here. */
    armForward: createArmForward(dataAccess),
    /** Servers, logins and databases as the TDS endpoint and the query route reach them. */
    dataAccess,
    logins,
    engine,
    reopenAll: async (): Promise<ReopenReport> => {
      await backup.init();
      return reopenAll(ctx);
    },
    /** Backups, restores, geo-replication and failover groups (issue 10). */
    backup,
    async close() {
      if (timer) clearInterval(timer);
      await running;
      await backup.stop();
      engine.closeAll();
      backup.close();
    },
  };
}

/** What backup/ needs from Microsoft.Sql: the protectors and unwrappers of a server, and the seed's key errors. */
function backupPort(ctx: SqlContext): SqlPort {
  return {
    currentProtector: (server) => currentProtector(ctx, server as ServerBody),
    unwrapper: (server) => unwrapperForServer(ctx, server as ServerBody),
    keyAccessError: (serverName, err, kid) => (err instanceof KeyAccessError ? keyAccessToArm(serverName, err, kid) : undefined),
  };
}

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
import { type LifecycleHooks, type SqlContext, noLifecycle } from "./sql-context.js";
import { lifecyclePort } from "./lifecycle-port.js";
import { reopenAll, type ReopenReport } from "./startup.js";
import { TdeService } from "./tde-service.js";
import { autoRotationPass } from "./auto-rotation.js";
import { DekRegenerations } from "./dek-regeneration.js";

export { type ServerKeyVault, type VaultKeyInfo, KeyAccessError, type KeyAccessCause, classifyVaultError, validateKey } from "./key-access.js";
export type { ReopenReport } from "./startup.js";
export type { LifecycleHooks } from "./sql-context.js";

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
  const ctx: SqlContext = { arm: deps.arm, directory: deps.directory, clock: deps.clock, log: deps.log, db: deps.db, tde, vault: deps.vault, lifecycle: noLifecycle };
  const logins = new Logins(deps.db);
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  return {
    /** Starts the auto-rotation worker; a slow pass never overlaps the next. */
    startWorkers() {
      timer = setInterval(() => {
        running = running.then(() => autoRotationPass(ctx, deps.log)).catch((err: Error) => deps.log.error({ err: err.message }, "auto-rotation pass failed"));
      }, deps.rotationCheckMs);
      timer.unref();
    },
    rotationPass: () => autoRotationPass(ctx, deps.log),
    provider: sqlProvider(ctx, logins),
    /** The lifecycle's view of Microsoft.Sql (health/ decides, this acts). */
    lifecyclePort: lifecyclePort(ctx),
    setLifecycle(hooks: LifecycleHooks) {
      ctx.lifecycle = hooks;
    },
    queryRoute: createQueryRoute(ctx, deps.tokens, deps.audiences, new DekRegenerations(ctx, deps.log)),
    logins,
    engine,
    reopenAll: (): Promise<ReopenReport> => reopenAll(ctx),
    async close() {
      if (timer) clearInterval(timer);
      await running;
      engine.closeAll();
    },
  };
}

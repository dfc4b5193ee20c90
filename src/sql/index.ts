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
import type { SqlContext } from "./sql-context.js";
import { reopenAll, type ReopenReport } from "./startup.js";
import { TdeService } from "./tde-service.js";

export { type ServerKeyVault, type VaultKeyInfo, KeyAccessError, type KeyAccessCause, classifyVaultError, validateKey } from "./key-access.js";
export type { ReopenReport } from "./startup.js";

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
}

/** Microsoft.Sql with real TDE: the resource provider, the encryption engine and the query route. */
export function createSql(deps: SqlDeps) {
  const engine = new TdeEngine(path.join(deps.dataDir, "databases"), deps.clock);
  const tde = new TdeService(engine, new ServiceManagedProtector(deps.box), deps.vault);
  const ctx: SqlContext = { arm: deps.arm, directory: deps.directory, clock: deps.clock, log: deps.log, db: deps.db, tde, vault: deps.vault };
  const logins = new Logins(deps.db);
  return {
    provider: sqlProvider(ctx, logins),
    queryRoute: createQueryRoute(ctx, deps.tokens, deps.audiences),
    logins,
    engine,
    reopenAll: (): Promise<ReopenReport> => reopenAll(ctx),
    close: () => engine.closeAll(),
  };
}

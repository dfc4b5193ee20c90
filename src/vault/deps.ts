import type { Db } from "../storage/index.js";
import type { Clock, Logger, SecretBox } from "../platform/index.js";
import type { Directory, TokenService } from "../identity/index.js";
import type { ArmServices } from "../arm/index.js";

/** What the vault component gets from the composition root. */
export interface VaultDeps {
  db: Db;
  clock: Clock;
  box: SecretBox;
  log: Logger;
  directory: Directory;
  tokens: TokenService;
  arm: ArmServices;
  /** The HTTPS port of the front door, for direct-mode vault URIs (https://{name}.vault.localhost:{port}/). */
  httpsPort: () => number;
  /** A key was created, changed or deleted through the data plane (ARM id of its vault): the portal's hint. */
  onKeysChanged?: (vaultId: string) => void;
}

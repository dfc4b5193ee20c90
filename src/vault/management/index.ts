import type { ResourceProvider } from "../../arm/index.js";
import type { VaultDeps } from "../deps.js";
import type { VaultRegistry } from "../vault-registry.js";

export interface VaultManagement {
  /** ARM resource providers (Microsoft.KeyVault, Microsoft.Authorization). */
  providers: ResourceProvider[];
  registry: VaultRegistry;
}

/** Stub: the management plane is being built (issue 3). */
export function createVaultManagement(_deps: VaultDeps): VaultManagement {
  return {
    providers: [],
    registry: {
      async findVault() {
        return undefined;
      },
      async dataActionsFor() {
        return [];
      },
    },
  };
}

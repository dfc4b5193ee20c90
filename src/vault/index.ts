import type { VaultDeps } from "./deps.js";
import { createVaultManagement, type VaultManagement } from "./management/index.js";
import { createVaultDataPlane, type VaultDataPlane } from "./data-plane/index.js";

export type { VaultDeps } from "./deps.js";
export type * from "./vault-registry.js";

export interface Vault {
  management: VaultManagement;
  dataPlane: VaultDataPlane;
}

/** Key Vault: the management plane (ARM) and the data plane (keys), joined by the VaultRegistry seam. */
export function createVault(deps: VaultDeps): Vault {
  const management = createVaultManagement(deps);
  const dataPlane = createVaultDataPlane({ ...deps, registry: management.registry });
  // A vault gone for good takes its keys with it (purge, or delete without soft delete).
  management.onVaultPurged((v) => dataPlane.forgetVault(v));
  return { management, dataPlane };
}

import type { SurfaceHandler } from "../../platform/index.js";
import type { VaultDeps } from "../deps.js";
import type { VaultRegistry } from "../vault-registry.js";

export interface VaultDataPlane {
  /** The Key Vault HTTP surface for *.vault.azure.net and *.vault.localhost hosts. */
  surface: SurfaceHandler;
}

/** Stub: the data plane is being built (issue 3). */
export function createVaultDataPlane(_deps: VaultDeps & { registry: VaultRegistry }): VaultDataPlane {
  return { surface: async () => undefined };
}

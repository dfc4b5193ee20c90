import type { SurfaceHandler } from "../../platform/index.js";
import type { VaultDeps } from "../deps.js";
import type { VaultRecord, VaultRegistry } from "../vault-registry.js";
import { Authorizer, VerifiedTokens } from "./authorize.js";
import { kvErrors } from "./errors.js";
import { createKeysSurface } from "./http-surface.js";
import { createInProcessApi, type KeyInvocation, type KeyInvocationResult } from "./in-process.js";
import { KeyService } from "./key-service.js";
import { KeyStore } from "./key-store.js";

export { KeyVaultError, kvErrors, type KeyVaultErrorReason, type KeyVaultErrorDetail } from "./errors.js";
export type { KeyInvocation, KeyInvocationResult } from "./in-process.js";
export type { KeysTables } from "./schema.js";

export interface VaultDataPlane {
  /** The Key Vault HTTP surface for *.vault.azure.net and *.vault.localhost hosts. */
  surface: SurfaceHandler;
  /**
   * In-process access for tdekv's own services (issue 4/5): same authorization, firewall, key-state and
   * crypto as HTTP; throws KeyVaultError with a distinguishing `reason`.
   */
  invoke(inv: KeyInvocation): Promise<KeyInvocationResult>;
  /**
   * Drops every key of a vault gone for good (purged, or deleted without soft delete). Wire it to the
   * management plane's `onVaultPurged` (it passes `{ name, uid }`).
   */
  forgetVault(vault: { name: string; uid: string }): Promise<void>;
}

/** Key Vault's data plane: keys, crypto and authorization (issue 3 §2-§4). */
export function createVaultDataPlane(deps: VaultDeps & { registry: VaultRegistry }): VaultDataPlane {
  const registry = deps.registry;
  const svc = new KeyService(new KeyStore(deps.db), deps.box, deps.clock);
  const authorizer = new Authorizer(deps.registry);
  const tokens = new VerifiedTokens(deps.tokens, deps.clock);

  async function resolveVault(name: string): Promise<VaultRecord> {
    const vault = await registry.findVault(name.toLowerCase());
    if (vault) return vault;
    const deleted = registry.findDeletedVault ? Boolean(await registry.findDeletedVault(name.toLowerCase())) : false;
    throw kvErrors.vaultNotFound(name.toLowerCase(), deleted);
  }

  const surface = createKeysSurface({ svc, box: deps.box, tokens, authorizer, log: deps.log, resolveVault, ...(deps.onKeysChanged ? { onKeysChanged: deps.onKeysChanged } : {}) });
  const invoke = createInProcessApi({ svc, tokens, authorizer, resolveVault });
  return {
    surface,
    invoke,
    forgetVault: (vault) => svc.forgetVault(vault),
  };
}

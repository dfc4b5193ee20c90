import type { Clock, SurfaceRequest } from "../../platform/index.js";
import type { ArmServices } from "../../arm/index.js";
import type { VaultBody, VaultRow, VaultStore } from "./vault-store.js";
import { vaultUriFor } from "./vault-rules.js";

/** What the Microsoft.KeyVault handlers share. */
export interface MgmtContext {
  services: ArmServices;
  store: VaultStore;
  clock: Clock;
  httpsPort: () => number;
  /** Clears the registry's caches after any write. */
  changed: () => void;
  /** Tells listeners a vault is gone for good (purged, or deleted without soft delete). */
  purged: (row: VaultRow) => Promise<void>;
}

/** The vault as GET returns it: the stored body plus a vaultUri for the host the caller used. */
export function renderVault(ctx: MgmtContext, body: VaultBody, req: SurfaceRequest): VaultBody {
  return { ...body, properties: { ...body.properties, vaultUri: vaultUriFor(body.name, req.host, ctx.httpsPort()) } };
}

export const iso = (ms: number): string => new Date(ms).toISOString();

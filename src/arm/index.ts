import type { Db } from "../storage/index.js";
import type { Clock, SurfaceRequest, SurfaceResponse } from "../platform/index.js";
import type { Directory, TokenService } from "../identity/index.js";
import { ResourceStore } from "./resource-store.js";
import { Operations } from "./operations.js";
import { createArmSurface } from "./http/arm-surface.js";
import type { ArmServices, ResourceProvider } from "./provider.js";
import { managedIdentityProvider } from "./providers/managed-identity.js";
import { createAdminRoutes, authorizeAdmin } from "./http/admin-routes.js";
import { armAudiences } from "./auth.js";

export { armAudiences, authorizeAdmin };

export { ArmError, armErrors } from "./domain/errors.js";
export { type ArmServices, type ResourceProvider, type ProviderCall, type ArmOperationEvent } from "./provider.js";
export { ResourceStore, type StoredResource } from "./resource-store.js";
export { Operations } from "./operations.js";
export * from "./domain/resource-id.js";
export { parseFilter, type FilterTerm } from "./domain/filter.js";
export * as armResponses from "./http/responses.js";
export * as tracked from "./providers/tracked.js";

export interface Arm {
  services: ArmServices;
  /** Later components add their resource providers here before the surface serves traffic. */
  register(provider: ResourceProvider): void;
  surface: (req: SurfaceRequest) => Promise<SurfaceResponse>;
}

/** Builds ARM core: the resource store, LROs, Microsoft.Resources and Microsoft.ManagedIdentity. */
export function createArm(deps: { db: Db; clock: Clock; directory: Directory; tokens: TokenService; audiences: () => string[]; adminTenantId: () => string }): Arm {
  const store = new ResourceStore(deps.db, deps.clock);
  const providers: ResourceProvider[] = [];
  const services: ArmServices = {
    store,
    operations: new Operations(deps.db, deps.clock),
    directory: deps.directory,
    clock: deps.clock,
    async deleteTree(id) {
      const removed = await store.removeTree(id);
      const ids = removed.map((r) => r.id);
      for (const p of providers) await p.onDeleted?.(ids, removed);
      return ids;
    },
    recordOperation: async () => {},
    async moveTree(oldId, newId, target) {
      await store.move(oldId, newId, target);
      // Identities follow their resources, whatever the provider (system-assigned ones included).
      await deps.directory.moveManagedIdentities(oldId, newId);
      for (const p of providers) await p.onMoved?.(oldId, newId);
    },
  };
  providers.push(managedIdentityProvider(services));
  let surface: Arm["surface"] | undefined;
  const arm: Arm = {
    services,
    register(provider) {
      if (surface) throw new Error("providers must be registered before the ARM surface is built");
      providers.push(provider);
    },
    get surface() {
      if (!surface) {
        const core = createArmSurface({ services, tokens: deps.tokens, audiences: deps.audiences, providers });
        const admin = createAdminRoutes(deps);
        surface = async (req) => (await admin(req)) ?? core(req);
      }
      return surface;
    },
  };
  return arm;
}

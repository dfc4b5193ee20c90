import type { SurfaceResponse } from "../../platform/index.js";
import { type ProviderCall, type ResourceProvider, armErrors, armResponses, parseResourceId, tracked, typeKey } from "../../arm/index.js";
import { type MgmtContext, iso, renderVault } from "./context.js";
import { kvErrors } from "./errors.js";
import { handleAccessPolicies } from "./access-policies.js";
import { handleDeletedVaults, recoverVault, sweepExpired, vaultRemoved } from "./deleted-vaults.js";
import { NameTaken, VAULT_TYPE_KEY, type VaultBody, type VaultRow } from "./vault-store.js";
import { VAULT_TYPE, bodyToProps, isValidVaultName, propsToBody, readCreateMode, resolveVaultProps } from "./vault-rules.js";

const NAMESPACE = "Microsoft.KeyVault";

/**
 * `Microsoft.KeyVault`: vaults (keyvault.md §2.5, sdk-compat.md §4, az-cli-compat.md §6), their access
 * policies, deleted vaults, checkNameAvailability, and empty managed-HSM lists so that `az keyvault list`
 * and `list-deleted` (which also ask for HSMs) work. Every PUT and PATCH finishes synchronously with the
 * full body and provisioningState "Succeeded" and no LRO headers: arm-keyvault 5 and az then need one
 * round trip, and arm-keyvault's PATCH throws on 202.
 */
export function keyVaultProvider(ctx: MgmtContext): ResourceProvider {
  const { store, services } = ctx;

  const notFound = (call: ProviderCall) => armErrors.resourceNotFound(VAULT_TYPE, call.ref.names[0]!, call.ref.resourceGroup);

  async function requireTenant(tenantId: string): Promise<void> {
    if (!(await services.directory.getTenant(tenantId))) throw kvErrors.invalidValue("tenantId");
  }

  async function save(call: ProviderCall, body: VaultBody, existing: VaultRow | undefined): Promise<void> {
    try {
      await store.putActive({ uid: existing?.uid, subscriptionId: call.subscription.id, resourceGroup: call.ref.resourceGroup, body, isNew: !existing });
    } catch (err) {
      if (err instanceof NameTaken) throw kvErrors.vaultAlreadyExists(call.ref.names[0]!);
      throw err;
    }
    ctx.changed();
  }

  function systemData(call: ProviderCall, existing: VaultRow | undefined): Record<string, string> {
    const now = iso(ctx.clock.now());
    const created = existing?.body.systemData ?? { createdBy: call.caller.oid, createdByType: "Application", createdAt: now };
    return { ...created, lastModifiedBy: call.caller.oid, lastModifiedByType: "Application", lastModifiedAt: now };
  }

  /**
   * Create or update. Names are global across subscriptions and tenants, soft-deleted vaults included:
   * a deleted vault of this subscription gives ConflictError, any other holder VaultAlreadyExists.
   */
  async function put(call: ProviderCall): Promise<SurfaceResponse> {
    const name = call.ref.names[0]!;
    if (!isValidVaultName(name)) throw kvErrors.vaultNameNotValid(name);
    const body = tracked.requireObjectBody(call.body);
    if (!tracked.isObject(body.properties)) throw kvErrors.propertiesRequired();
    const createMode = readCreateMode(body.properties);
    await sweepExpired(ctx);
    const claimed = await store.byName(name);
    if (createMode === "recover") return recoverVault(ctx, call, claimed);
    const existing = claimed?.state === "active" && claimed.vaultId.toLowerCase() === call.id.toLowerCase() ? claimed : undefined;
    if (claimed && !existing) {
      if (claimed.state === "deleted" && claimed.subscriptionId === call.subscription.id) throw kvErrors.deletedVaultConflict();
      throw kvErrors.vaultAlreadyExists(name);
    }
    const location = tracked.normalizeLocation(body.location);
    tracked.checkLocationUnchanged(existing?.body.location, location, name, call.ref.resourceGroup);
    const tags = tracked.readTags(body.tags);
    const before = existing ? bodyToProps(existing.body.properties) : undefined;
    const next = resolveVaultProps(before, body.properties, "put");
    if (next.tenantId !== before?.tenantId) await requireTenant(next.tenantId);
    const vault: VaultBody = {
      id: existing?.vaultId ?? call.id,
      name: existing?.body.name ?? name,
      type: VAULT_TYPE,
      location,
      tags: tags ?? existing?.body.tags ?? {},
      systemData: systemData(call, existing),
      properties: propsToBody(next),
    };
    await save(call, vault, existing);
    return armResponses.okOrCreated(!existing, renderVault(ctx, vault, call.req));
  }

  /** PATCH merges the given properties and tags; always a synchronous 200 (sdk-compat.md §0.9). */
  async function patch(call: ProviderCall, row: VaultRow): Promise<SurfaceResponse> {
    const body = tracked.requireObjectBody(call.body);
    const props = body.properties ?? {};
    if (!tracked.isObject(props)) throw kvErrors.invalidValue("properties");
    const tags = tracked.readTags(body.tags);
    const before = bodyToProps(row.body.properties);
    const next = resolveVaultProps(before, props, "patch");
    if (next.tenantId !== before.tenantId) await requireTenant(next.tenantId);
    const vault: VaultBody = { ...row.body, tags: tags ?? row.body.tags ?? {}, systemData: systemData(call, row), properties: propsToBody(next) };
    await save(call, vault, row);
    return armResponses.ok(renderVault(ctx, vault, call.req));
  }

  async function vaults(call: ProviderCall): Promise<SurfaceResponse> {
    if (call.kind === "collection") {
      if (call.method !== "GET") throw armErrors.methodNotAllowed(call.method, call.req.path);
      const rows = await services.store.listByType<VaultBody>({
        subscriptionId: call.subscription.id,
        typeKey: VAULT_TYPE_KEY,
        ...(call.ref.scope === "resourceGroup" ? { resourceGroup: call.ref.resourceGroup } : {}),
      });
      const top = Number(call.req.query.get("$top"));
      const value = rows.map((r) => renderVault(ctx, r.body, call.req));
      return armResponses.list(Number.isInteger(top) && top > 0 ? value.slice(0, top) : value);
    }
    if (call.kind !== "instance" || call.ref.scope !== "resourceGroup") throw armErrors.pathNotFound(call.req.path);
    if (call.method === "PUT") return put(call);
    const row = await store.byVaultId(call.id);
    switch (call.method) {
      case "GET":
        if (!row) throw notFound(call);
        return armResponses.ok(renderVault(ctx, row.body, call.req));
      case "PATCH":
        if (!row) throw notFound(call);
        return patch(call, row);
      case "DELETE":
        // arm-keyvault expects 200 or 204 (not an LRO); onDeleted turns the removal into a soft delete.
        if (!row) return armResponses.noContent();
        await services.deleteTree(row.vaultId);
        return { status: 200 };
      default:
        throw armErrors.methodNotAllowed(call.method, call.req.path);
    }
  }

  /** `POST /subscriptions/{s}/providers/Microsoft.KeyVault/checkNameAvailability` {name, type}. */
  async function checkName(call: ProviderCall): Promise<SurfaceResponse> {
    if (call.method !== "POST" || call.ref.scope !== "subscription") throw armErrors.methodNotAllowed(call.method, call.req.path);
    const body = tracked.requireObjectBody(call.body);
    if (typeof body.name !== "string") throw kvErrors.invalidValue("name");
    if (typeof body.type !== "string" || body.type.toLowerCase() !== VAULT_TYPE.toLowerCase()) throw kvErrors.invalidValue("type");
    if (!isValidVaultName(body.name)) return armResponses.ok({ nameAvailable: false, reason: "AccountNameInvalid", message: kvErrors.vaultNameNotValid(body.name).message });
    await sweepExpired(ctx);
    if (await store.byName(body.name)) return armResponses.ok({ nameAvailable: false, reason: "AlreadyExists", message: `The vault name '${body.name}' is already in use.` });
    return armResponses.ok({ nameAvailable: true });
  }

  return {
    namespace: NAMESPACE,
    types: ["vaults", "vaults/accessPolicies", "deletedVaults", "locations/deletedVaults", "checkNameAvailability", "managedHSMs", "deletedManagedHSMs"],
    async handle(call) {
      switch (call.type) {
        case "vaults":
          return vaults(call);
        case "vaults/accessPolicies":
          return handleAccessPolicies(ctx, call);
        case "deletedVaults":
        case "locations/deletedVaults":
          return handleDeletedVaults(ctx, call);
        case "checkNameAvailability":
          return checkName(call);
        default:
          // Managed HSMs are out of scope; their lists are empty so az's combined listings work.
          if (call.kind === "collection" && call.method === "GET") return armResponses.list([]);
          throw armErrors.resourceNotFound(`${NAMESPACE}/${call.type}`, call.ref.names.at(-1) ?? "", call.ref.resourceGroup);
      }
    },
    async onDeleted(ids) {
      for (const id of ids) {
        const ref = parseResourceId(id);
        if (ref && typeKey(ref.namespace, ref.types) === VAULT_TYPE_KEY) await vaultRemoved(ctx, id);
      }
    },
    async onMoved(oldId, newId) {
      const row = await store.byVaultId(oldId);
      const ref = parseResourceId(newId);
      if (!row || !ref) return;
      // The vault keeps its name and uid (so its keys) wherever it goes, another subscription included.
      await store.moved(row, newId, ref.subscriptionId);
      ctx.changed();
    },
  };
}

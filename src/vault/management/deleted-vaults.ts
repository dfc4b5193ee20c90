import type { SurfaceResponse } from "../../platform/index.js";
import { type ProviderCall, armErrors, armResponses, tracked } from "../../arm/index.js";
import { type MgmtContext, iso, renderVault } from "./context.js";
import { kvErrors } from "./errors.js";
import { type VaultBody, type VaultRow, NameTaken } from "./vault-store.js";
import { bodyToProps, purgeAllowed, scheduledPurgeDate } from "./vault-rules.js";

/**
 * Soft delete (keyvault.md §2.5, soft-delete-overview.md): a deleted vault keeps its name, body and keys
 * until it is recovered (`PUT vaults/{name}` with `createMode: recover`), purged (`POST
 * locations/{loc}/deletedVaults/{name}/purge`, refused under purge protection) or reaches its scheduled
 * purge date, when the service purges it by itself.
 */

export function deletedVaultBody(row: VaultRow) {
  return {
    id: `/subscriptions/${row.subscriptionId}/providers/Microsoft.KeyVault/locations/${row.location}/deletedVaults/${row.body.name}`,
    name: row.body.name,
    type: "Microsoft.KeyVault/deletedVaults",
    properties: {
      vaultId: row.vaultId,
      location: row.location,
      deletionDate: iso(row.deletionDate ?? 0),
      scheduledPurgeDate: iso(row.scheduledPurgeDate ?? 0),
      tags: row.body.tags ?? {},
      purgeProtectionEnabled: bodyToProps(row.body.properties).enablePurgeProtection,
    },
  };
}

/** Purges what has outlived its retention: lazily, whenever names or deleted vaults are consulted. */
export async function sweepExpired(ctx: MgmtContext): Promise<void> {
  const expired = await ctx.store.expired(ctx.clock.now());
  for (const row of expired) {
    await ctx.store.remove(row.nameKey);
    await ctx.purged(row);
  }
  if (expired.length > 0) ctx.changed();
}

/** After ARM removed a vault's row (its DELETE, or its resource group's): soft delete it, or free the name. */
export async function vaultRemoved(ctx: MgmtContext, id: string): Promise<void> {
  const row = await ctx.store.byVaultId(id);
  if (!row) return;
  const props = bodyToProps(row.body.properties);
  const now = ctx.clock.now();
  if (props.enableSoftDelete) {
    await ctx.store.markDeleted(row.nameKey, now, scheduledPurgeDate(now, props.softDeleteRetentionInDays));
  } else {
    await ctx.store.remove(row.nameKey);
    await ctx.purged(row);
  }
  ctx.changed();
}

async function findDeleted(ctx: MgmtContext, call: ProviderCall): Promise<VaultRow> {
  const [location, name] = call.ref.names as [string, string];
  await sweepExpired(ctx);
  const row = await ctx.store.byName(name);
  const loc = location.replace(/\s+/g, "").toLowerCase();
  if (!row || row.state !== "deleted" || row.subscriptionId !== call.subscription.id || row.location !== loc) throw kvErrors.deletedVaultNotFound(location, name);
  return row;
}

/** deletedVaults (subscription list), locations/{loc}/deletedVaults/{name} (GET) and its purge action. */
export async function handleDeletedVaults(ctx: MgmtContext, call: ProviderCall): Promise<SurfaceResponse> {
  if (call.ref.scope !== "subscription") throw armErrors.pathNotFound(call.req.path);
  if (call.type === "deletedVaults") {
    if (call.kind !== "collection" || call.method !== "GET") throw armErrors.methodNotAllowed(call.method, call.req.path);
    await sweepExpired(ctx);
    return armResponses.list((await ctx.store.listDeleted(call.subscription.id)).map(deletedVaultBody));
  }
  if (call.kind === "instance" && call.method === "GET") return armResponses.ok(deletedVaultBody(await findDeleted(ctx, call)));
  if (call.kind === "action" && call.action?.toLowerCase() === "purge" && call.method === "POST") {
    const row = await findDeleted(ctx, call);
    const props = bodyToProps(row.body.properties);
    if (!purgeAllowed(props.enablePurgeProtection, row.scheduledPurgeDate ?? 0, ctx.clock.now())) throw kvErrors.purgeNotAllowed();
    await ctx.store.remove(row.nameKey);
    await ctx.purged(row);
    ctx.changed();
    // 200 without LRO headers finishes arm-keyvault's and az's purge pollers in one round trip (sdk-compat.md §4.3).
    return { status: 200 };
  }
  throw armErrors.methodNotAllowed(call.method, call.req.path);
}

/**
 * `PUT vaults/{name}` with `createMode: recover` (what `az keyvault recover` sends): brings back the
 * soft-deleted vault of this subscription with its properties, access policies, uid (hence its keys) and
 * location, into the resource group of the request. Role assignments are not restored, as in Azure.
 */
export async function recoverVault(ctx: MgmtContext, call: ProviderCall, claimed: VaultRow | undefined): Promise<SurfaceResponse> {
  const name = call.ref.names[0]!;
  if (claimed?.state === "active") {
    if (claimed.vaultId.toLowerCase() === call.id.toLowerCase()) return armResponses.ok(renderVault(ctx, claimed.body, call.req));
    throw kvErrors.vaultAlreadyExists(name);
  }
  if (!claimed || claimed.subscriptionId !== call.subscription.id) throw kvErrors.softDeletedVaultDoesNotExist(name);
  const body = tracked.requireObjectBody(call.body);
  const tags = tracked.readTags(body.tags);
  const now = iso(ctx.clock.now());
  const restored: VaultBody = {
    ...claimed.body,
    // The name keeps the casing it was created with; the resource group is the request's.
    id: `${call.id.slice(0, call.id.length - name.length)}${claimed.body.name}`,
    tags: tags ?? claimed.body.tags ?? {},
    systemData: { ...claimed.body.systemData, lastModifiedBy: call.caller.oid, lastModifiedByType: "Application", lastModifiedAt: now },
    properties: { ...claimed.body.properties, provisioningState: "Succeeded" },
  };
  try {
    await ctx.store.putActive({ uid: claimed.uid, subscriptionId: call.subscription.id, resourceGroup: call.ref.resourceGroup, body: restored, isNew: false });
  } catch (err) {
    if (err instanceof NameTaken) throw kvErrors.vaultAlreadyExists(name);
    throw err;
  }
  ctx.changed();
  return armResponses.ok(renderVault(ctx, restored, call.req));
}

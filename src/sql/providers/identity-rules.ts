import type { ArmServices } from "../../arm/index.js";
import { parseResourceId, typeKey } from "../../arm/index.js";
import type { Directory } from "../../identity/index.js";
import { sqlErrors } from "../domain/errors.js";
import type { IdentityBody } from "../sql-context.js";

const UAMI_TYPE = typeKey("Microsoft.ManagedIdentity", ["userAssignedIdentities"]);

/** Normalises Azure's identity type spellings ("SystemAssigned, UserAssigned" and so on). */
export function identityFlags(type: string | undefined): { system: boolean; user: boolean } {
  const t = (type ?? "None").replace(/\s+/g, "").toLowerCase();
  if (t === "none" || t === "") return { system: false, user: false };
  const parts = t.split(",");
  const known = parts.every((p) => p === "systemassigned" || p === "userassigned");
  if (!known) throw sqlErrors.invalidIdentityType(type ?? "");
  return { system: parts.includes("systemassigned"), user: parts.includes("userassigned") };
}

const typeName = (f: { system: boolean; user: boolean }) =>
  f.system && f.user ? "SystemAssigned,UserAssigned" : f.system ? "SystemAssigned" : f.user ? "UserAssigned" : "None";

/**
 * Applies a requested `identity` block to a server. A system identity is a real principal made (or kept)
 * for the server's id; user-assigned ones must exist and are reported with their principal and client ids.
 * Returns the new block and the primary user-assigned identity id.
 */
export async function reconcileIdentity(args: {
  arm: ArmServices;
  directory: Directory;
  serverId: string;
  serverName: string;
  tenantId: string;
  requested: unknown;
  existing: IdentityBody | undefined;
  primaryRequested: string | undefined;
  primaryExisting: string | undefined;
}): Promise<{ identity: IdentityBody | undefined; primary: string | undefined }> {
  const req = (args.requested ?? undefined) as { type?: string; userAssignedIdentities?: Record<string, unknown> } | undefined;
  const flags = req ? identityFlags(req.type) : identityFlags(args.existing?.type);
  const identity: IdentityBody = { type: typeName(flags) };

  if (flags.system) {
    const p =
      (await args.directory.findManagedIdentity("SystemAssigned", args.serverId)) ??
      (await args.directory.createManagedIdentity({ tenantId: args.tenantId, kind: "SystemAssigned", resourceId: args.serverId, displayName: args.serverName }));
    identity.principalId = p.objectId;
    identity.tenantId = p.tenantId;
  } else {
    await args.directory.deleteManagedIdentity("SystemAssigned", args.serverId);
  }

  let primary = args.primaryRequested ?? args.primaryExisting;
  if (flags.user) {
    const ids = req ? Object.keys(req.userAssignedIdentities ?? {}) : Object.keys(args.existing?.userAssignedIdentities ?? {});
    if (ids.length === 0) throw sqlErrors.missingIdentityId();
    identity.userAssignedIdentities = {};
    for (const raw of ids) {
      const ref = parseResourceId(raw);
      const stored = ref && typeKey(ref.namespace, ref.types) === UAMI_TYPE ? await args.arm.store.get(raw) : undefined;
      const p = stored ? await args.directory.findManagedIdentity("UserAssigned", stored.id) : undefined;
      if (!stored || !p) throw sqlErrors.identityNotFound(raw);
      identity.userAssignedIdentities[stored.id] = { principalId: p.objectId, clientId: p.appId };
    }
    const keys = Object.keys(identity.userAssignedIdentities);
    if (!primary) {
      if (keys.length > 1) throw sqlErrors.missingPrimaryIdentity();
      primary = keys[0];
    }
    const match = keys.find((k) => k.toLowerCase() === primary!.toLowerCase());
    if (!match) throw sqlErrors.invalidPrimaryIdentity();
    primary = match;
    if (!identity.tenantId) identity.tenantId = args.tenantId;
  } else {
    primary = undefined;
  }
  return { identity: flags.system || flags.user ? identity : undefined, primary };
}

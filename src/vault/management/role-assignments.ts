import type { Clock, SurfaceResponse } from "../../platform/index.js";
import { isGuid } from "../../platform/index.js";
import { type ArmServices, type ProviderCall, type ResourceProvider, armErrors, armResponses, resourceGroupId, tracked } from "../../arm/index.js";
import type { MgmtDb, RoleAssignmentsTable } from "./schema.js";
import { kvErrors } from "./errors.js";
import { BUILT_IN_ROLES, type RoleDefinition, findRole } from "./role-definitions.js";
import { scopeCovers } from "./registry.js";

const NAMESPACE = "Microsoft.Authorization";
const ASSIGNMENT_TYPE = `${NAMESPACE}/roleAssignments`;
const PRINCIPAL_TYPES = ["User", "Group", "ServicePrincipal", "ForeignGroup", "Device"] as const;

export const roleDefinitionId = (subscriptionId: string, guid: string): string => `/subscriptions/${subscriptionId}/providers/${NAMESPACE}/roleDefinitions/${guid}`;

/** `.../roleDefinitions/{guid}` at subscription or tenant level, as az and Bicep send it; the GUID, or undefined. */
export function roleGuidFromId(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const m = /^(?:\/subscriptions\/[^/]+)?\/providers\/Microsoft\.Authorization\/roleDefinitions\/([^/]+)\/?$/i.exec(value.trim());
  return m && isGuid(m[1]!) ? m[1]!.toLowerCase() : undefined;
}

function roleDefinitionBody(subscriptionId: string, r: RoleDefinition) {
  return {
    id: roleDefinitionId(subscriptionId, r.guid),
    name: r.guid,
    type: `${NAMESPACE}/roleDefinitions`,
    properties: {
      roleName: r.roleName,
      type: "BuiltInRole",
      description: r.description,
      assignableScopes: ["/"],
      permissions: [{ actions: r.actions, notActions: r.notActions, dataActions: r.dataActions, notDataActions: r.notDataActions }],
      createdOn: "2015-02-02T21:55:09.8806423Z",
      updatedOn: "2024-01-01T00:00:00.0000000Z",
      createdBy: null,
      updatedBy: null,
    },
  };
}

type FilterTerm = { kind: "atScope" } | { kind: "principal"; value: string } | { kind: "roleName"; value: string } | { kind: "type"; value: string };

/** The OData subset Microsoft.Authorization lists take: atScope(), assignedTo('x'), principalId eq 'x', roleName eq 'x', type eq 'x'. */
export function parseAuthorizationFilter(filter: string | null): FilterTerm[] {
  if (!filter || !filter.trim()) return [];
  return filter.split(/\s+and\s+/i).map((raw) => {
    const part = raw.trim();
    if (/^atScope\(\)$/i.test(part)) return { kind: "atScope" } as const;
    let m = /^assignedTo\('([^']*)'\)$/i.exec(part);
    if (m) return { kind: "principal", value: m[1]!.toLowerCase() } as const;
    m = /^(principalId|roleName|type)\s+eq\s+'((?:[^']|'')*)'$/i.exec(part);
    if (!m) throw kvErrors.unsupportedFilter(filter);
    const value = m[2]!.replace(/''/g, "'");
    const field = m[1]!.toLowerCase();
    return field === "principalid" ? ({ kind: "principal", value: value.toLowerCase() } as const) : field === "rolename" ? ({ kind: "roleName", value } as const) : ({ kind: "type", value } as const);
  });
}

interface AssignmentBody {
  id: string;
  name: string;
  type: typeof ASSIGNMENT_TYPE;
  properties: Record<string, unknown> & { roleDefinitionId: string; principalId: string; scope: string };
}

const prefixRange = (key: string) => [`${key}/`, `${key}0`] as const;

/**
 * `Microsoft.Authorization`: the built-in role definitions (read-only) and role assignments at any scope,
 * routed as an extension resource so `{vaultId}/providers/Microsoft.Authorization/roleAssignments/{guid}`
 * works (az role assignment create --scope <vault id>). Assignments are deleted with their scope (vault
 * soft delete, resource-group delete) and are not carried along by moves, as in Azure
 * (soft-delete-overview.md: "Azure RBAC roles assignments ... will be deleted"; recover does not restore them).
 */
export function authorizationProvider(deps: { db: MgmtDb; services: ArmServices; clock: Clock; changed: () => void }): ResourceProvider {
  const { db, services, clock } = deps;

  const toBody = (row: RoleAssignmentsTable) => JSON.parse(row.body) as AssignmentBody;

  async function deleteUnder(scopeKey: string): Promise<void> {
    const [lo, hi] = prefixRange(scopeKey);
    await db.deleteFrom("role_assignments").where((eb) => eb.or([eb("scope_key", "=", scopeKey), eb.and([eb("scope_key", ">", lo), eb("scope_key", "<", hi)])])).execute();
  }

  async function put(call: ProviderCall, scopeId: string): Promise<SurfaceResponse> {
    const name = call.ref.names[0]!;
    if (!isGuid(name)) throw kvErrors.invalidRoleAssignmentId(name);
    const body = tracked.requireObjectBody(call.body);
    if (!tracked.isObject(body.properties)) throw armErrors.invalidRequestContent("properties is required");
    const props = body.properties;
    const guid = roleGuidFromId(props.roleDefinitionId);
    if (!guid) throw kvErrors.roleDefinitionDoesNotExist(String(props.roleDefinitionId ?? ""));
    if (!findRole(guid)) throw kvErrors.roleDefinitionDoesNotExist(guid);
    if (typeof props.principalId !== "string" || !isGuid(props.principalId)) throw kvErrors.invalidPrincipalId(props.principalId);
    const principalId = props.principalId.toLowerCase();
    let principalType: string | undefined;
    if (props.principalType !== undefined && props.principalType !== null) {
      principalType = PRINCIPAL_TYPES.find((t) => typeof props.principalType === "string" && t.toLowerCase() === props.principalType.toLowerCase());
      if (!principalType) throw kvErrors.invalidPrincipalType(props.principalType);
    }
    // Entra has no replication delay here, so the principal is always checked (Azure skips it when
    // principalType is given, to ride out that delay).
    const principal = await services.directory.findPrincipal({ objectId: principalId });
    if (!principal || principal.tenantId !== call.subscription.tenantId) throw kvErrors.principalNotFound(principalId, call.subscription.tenantId);
    const key = call.id.toLowerCase();
    const scopeKey = scopeId.toLowerCase();
    const existing = await db.selectFrom("role_assignments").selectAll().where("key", "=", key).executeTakeFirst();
    if (existing) {
      if (existing.principal_id !== principalId || existing.role_definition_guid !== guid) throw kvErrors.roleAssignmentUpdateNotPermitted();
      return armResponses.ok(toBody(existing));
    }
    const duplicate = await db
      .selectFrom("role_assignments")
      .select("key")
      .where("scope_key", "=", scopeKey)
      .where("principal_id", "=", principalId)
      .where("role_definition_guid", "=", guid)
      .executeTakeFirst();
    if (duplicate) throw kvErrors.roleAssignmentExists();
    const now = new Date(clock.now()).toISOString();
    const assignment: AssignmentBody = {
      id: call.id,
      name,
      type: ASSIGNMENT_TYPE,
      properties: {
        roleDefinitionId: roleDefinitionId(call.subscription.id, guid),
        principalId,
        principalType: principalType ?? "ServicePrincipal",
        scope: scopeId,
        condition: typeof props.condition === "string" ? props.condition : null,
        conditionVersion: typeof props.conditionVersion === "string" ? props.conditionVersion : null,
        createdOn: now,
        updatedOn: now,
        createdBy: call.caller.oid,
        updatedBy: call.caller.oid,
        delegatedManagedIdentityResourceId: null,
        description: typeof props.description === "string" ? props.description : null,
      },
    };
    await db
      .insertInto("role_assignments")
      .values({ key, id: call.id, name, scope_key: scopeKey, subscription_id: call.subscription.id, principal_id: principalId, role_definition_guid: guid, body: JSON.stringify(assignment), created_at: clock.now() })
      .execute();
    deps.changed();
    return armResponses.created(assignment);
  }

  async function listAssignments(call: ProviderCall, scopeId: string): Promise<SurfaceResponse> {
    const terms = parseAuthorizationFilter(call.req.query.get("$filter"));
    const scopeKey = scopeId.toLowerCase();
    const atScope = terms.some((t) => t.kind === "atScope");
    const principals = terms.flatMap((t) => (t.kind === "principal" ? [t.value] : []));
    const rows = await db.selectFrom("role_assignments").selectAll().where("subscription_id", "=", call.subscription.id).orderBy("created_at").execute();
    // At, above and below the scope by default; atScope() keeps at and above (Azure's list semantics).
    const value = rows
      .filter((r) => scopeCovers(r.scope_key, scopeKey) || (!atScope && scopeCovers(scopeKey, r.scope_key)))
      .filter((r) => principals.every((p) => r.principal_id === p))
      .map(toBody);
    return armResponses.list(value);
  }

  async function assignments(call: ProviderCall, scopeId: string): Promise<SurfaceResponse> {
    if (call.kind === "collection") {
      if (call.method !== "GET") throw armErrors.methodNotAllowed(call.method, call.req.path);
      return listAssignments(call, scopeId);
    }
    if (call.kind !== "instance") throw armErrors.pathNotFound(call.req.path);
    const key = call.id.toLowerCase();
    switch (call.method) {
      case "PUT":
        return put(call, scopeId);
      case "GET": {
        const row = await db.selectFrom("role_assignments").selectAll().where("key", "=", key).executeTakeFirst();
        if (!row) throw kvErrors.roleAssignmentNotFound(call.ref.names[0]!);
        return armResponses.ok(toBody(row));
      }
      case "DELETE": {
        const row = await db.selectFrom("role_assignments").selectAll().where("key", "=", key).executeTakeFirst();
        if (!row) return armResponses.noContent();
        await db.deleteFrom("role_assignments").where("key", "=", key).execute();
        deps.changed();
        return armResponses.ok(toBody(row));
      }
      default:
        throw armErrors.methodNotAllowed(call.method, call.req.path);
    }
  }

  function definitions(call: ProviderCall): SurfaceResponse {
    if (call.method !== "GET") throw kvErrors.customRolesNotSupported();
    if (call.kind === "collection") {
      const terms = parseAuthorizationFilter(call.req.query.get("$filter"));
      const value = BUILT_IN_ROLES.filter((r) =>
        terms.every((t) => (t.kind === "roleName" ? r.roleName.toLowerCase() === t.value.toLowerCase() : t.kind === "type" ? t.value.toLowerCase() === "builtinrole" : true)),
      );
      return armResponses.list(value.map((r) => roleDefinitionBody(call.subscription.id, r)));
    }
    const name = call.ref.names[0]!;
    const role = isGuid(name) ? findRole(name) : undefined;
    if (!role) throw kvErrors.roleDefinitionDoesNotExist(name, 404);
    return armResponses.ok(roleDefinitionBody(call.subscription.id, role));
  }

  return {
    namespace: NAMESPACE,
    types: ["roleAssignments", "roleDefinitions"],
    extension: true,
    async handle(call) {
      const scopeId = call.scopeId ?? (call.ref.scope === "resourceGroup" ? resourceGroupId(call.subscription.id, call.ref.resourceGroup) : `/subscriptions/${call.subscription.id}`);
      return call.type === "roleDefinitions" ? definitions(call) : assignments(call, scopeId);
    },
    async onDeleted(ids) {
      for (const id of ids) await deleteUnder(id.toLowerCase());
      deps.changed();
    },
    async onMoved(oldId) {
      await deleteUnder(oldId.toLowerCase());
      deps.changed();
    },
  };
}

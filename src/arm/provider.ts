import type { SurfaceRequest, SurfaceResponse, Clock } from "../platform/index.js";
import type { AccessClaims, Directory, Subscription } from "../identity/index.js";
import type { ResourceStore, StoredResource } from "./resource-store.js";
import type { Operations } from "./operations.js";
import type { ResourceRef } from "./domain/resource-id.js";

/** Shared services every resource provider gets. */
export interface ArmServices {
  store: ResourceStore;
  operations: Operations;
  directory: Directory;
  clock: Clock;
  /** Deletes a resource and its children, and tells every provider (onDeleted). Returns the ids removed. */
  deleteTree(id: string): Promise<string[]>;
  /** Moves a resource and its children to a new id, and tells every provider (onMoved). */
  moveTree(oldId: string, newId: string, target: { subscriptionId: string; resourceGroup: string }): Promise<void>;
  /**
   * Records an administrative operation in the Activity Log, as ARM does for writes (wired by the composition
   * root once the log exists; a no-op before).
   */
  recordOperation(e: ArmOperationEvent): Promise<void>;
}

export interface ArmOperationEvent {
  subscriptionId: string;
  tenantId: string;
  resourceId: string;
  operationName: string;
  operationLocalized: string;
  status: "Started" | "Succeeded" | "Failed";
  description: string;
  caller: string;
  correlationId: string;
  properties?: Record<string, unknown>;
}

/** One request addressed to a resource provider, already authenticated and with its scope checked. */
export interface ProviderCall {
  req: SurfaceRequest;
  method: string;
  apiVersion: string;
  caller: AccessClaims;
  subscription: Subscription;
  /** Parsed JSON body, or undefined when there was none. */
  body: unknown;
  /** `instance`: .../type/name; `collection`: .../type (list); `action`: POST .../type/name/{action}. */
  kind: "instance" | "collection" | "action";
  /** Canonical type path inside the namespace, e.g. "userAssignedIdentities" or "servers/keys". */
  type: string;
  /** For instance/action: the resource. For collection: the parent (or only the scope) with the names so far. */
  ref: ResourceRef & { scope: "resourceGroup" | "subscription" };
  /** The resource id with canonical casing (for instance/action). */
  id: string;
  action?: string;
  /**
   * What the addressed type sits under: `/subscriptions/{s}`, `/subscriptions/{s}/resourceGroups/{rg}`, or,
   * for an extension resource (`{resourceId}/providers/{ns}/{type}[/{name}]`), that resource's id in its
   * stored casing. `id` always starts with it. The ARM surface always sets it (optional only so that
   * callers building a ProviderCall-shaped base without it keep compiling).
   */
  scopeId?: string;
}

export interface ResourceProvider {
  /** Canonical namespace, e.g. "Microsoft.ManagedIdentity". */
  namespace: string;
  /** Canonical type paths this provider serves, e.g. ["userAssignedIdentities"]. */
  types: string[];
  /**
   * Extension resource types (e.g. Microsoft.Authorization/roleAssignments) may also be addressed under any
   * existing resource, `{resourceId}/providers/{namespace}/{type}[/{name}]`; ARM routes those paths only to
   * providers that set this.
   */
  extension?: boolean;
  handle(call: ProviderCall): Promise<SurfaceResponse>;
  /** Called after ARM deletes resources (directly or by cascading a resource group), with every id removed. */
  onDeleted?(ids: string[], removed: StoredResource[]): Promise<void>;
  /** Called after ARM moved a resource, with the old and new id. */
  onMoved?(oldId: string, newId: string): Promise<void>;
}

/**
 * ARM paths, parsed. ARM ids are case-insensitive (sdk-compat.md §0.10: arm-monitor sends
 * `microsoft.insights` in lower case), so everything compares on lower-cased keys while the ids we hand
 * back keep canonical type casing and the names as the caller first wrote them.
 */
export type ArmPath =
  | { kind: "root" }
  | { kind: "tenants" }
  | { kind: "subscriptions" }
  | { kind: "subscription"; sub: string; rest: string[] };

export function splitPath(path: string): string[] {
  return path
    .split("/")
    .filter((s) => s.length > 0)
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
}

export function parseArmPath(path: string): ArmPath | undefined {
  const seg = splitPath(path);
  if (seg.length === 0) return { kind: "root" };
  const head = seg[0]!.toLowerCase();
  if (head === "tenants" && seg.length === 1) return { kind: "tenants" };
  if (head !== "subscriptions") return undefined;
  if (seg.length === 1) return { kind: "subscriptions" };
  return { kind: "subscription", sub: seg[1]!.toLowerCase(), rest: seg.slice(2) };
}

export const resourceKey = (id: string): string => id.toLowerCase();

export const subscriptionId = (sub: string): string => `/subscriptions/${sub}`;
export const resourceGroupId = (sub: string, rg: string): string => `/subscriptions/${sub}/resourceGroups/${rg}`;

/** The parts of a resource id under a resource group. */
export interface ResourceRef {
  subscriptionId: string;
  resourceGroup: string;
  namespace: string;
  /** e.g. ["userAssignedIdentities"] or ["servers", "keys"]. */
  types: string[];
  names: string[];
}

export function formatResourceId(ref: ResourceRef): string {
  let id = `${resourceGroupId(ref.subscriptionId, ref.resourceGroup)}/providers/${ref.namespace}`;
  ref.types.forEach((t, i) => {
    id += `/${t}`;
    if (ref.names[i] !== undefined) id += `/${ref.names[i]}`;
  });
  return id;
}

/** Parses `/subscriptions/s/resourceGroups/g/providers/Ns/type/name...`; undefined when it is not one. */
export function parseResourceId(id: string): ResourceRef | undefined {
  const seg = splitPath(id);
  if (seg.length < 8 || seg[0]!.toLowerCase() !== "subscriptions" || seg[2]!.toLowerCase() !== "resourcegroups" || seg[4]!.toLowerCase() !== "providers") {
    return undefined;
  }
  const tail = seg.slice(6);
  if (tail.length % 2 !== 0) return undefined;
  const types: string[] = [];
  const names: string[] = [];
  for (let i = 0; i < tail.length; i += 2) {
    types.push(tail[i]!);
    names.push(tail[i + 1]!);
  }
  return { subscriptionId: seg[1]!.toLowerCase(), resourceGroup: seg[3]!, namespace: seg[5]!, types, names };
}

/** `Microsoft.ManagedIdentity/userAssignedIdentities`, as a lower-cased lookup key. */
export const typeKey = (namespace: string, types: string[]): string => [namespace, ...types].join("/").toLowerCase();

/** Resource group names: 1-90 of letters, digits, `_-.()`, not ending in a period (ARM naming rules). */
export const isValidResourceGroupName = (name: string): boolean => /^[-\w._()]{1,90}$/u.test(name) && !name.endsWith(".");

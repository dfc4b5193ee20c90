// Everything the signed-in user can see, read from the public ARM list APIs only: subscriptions → resources, plus
// the child databases of SQL servers and managed instances (ARM lists only top-level resources). The home table
// and the incident strip share this one read (app.tsx provides it through InventoryContext).
import { createContext } from "preact";
import { armListAll } from "../../lib/api";
import { apiVersionFor, parseId } from "../../lib/arm-ids";
import type { Loaded } from "../../lib/hooks";
import type { ArmResource, Hint } from "../../lib/types";
import { stateOf } from "./generic-overview";

export interface InventoryRow {
  id: string;
  name: string;
  type: string;
  resourceGroup: string;
  location: string;
  subscriptionId: string;
  /** Azure's state word (database status, server state, provisioning state); undefined when ARM has none. */
  state?: string;
  /** The server / managed instance of a database. */
  parentName?: string;
}

export interface Inventory {
  subscriptions: { subscriptionId: string; displayName: string }[];
  rows: InventoryRow[];
}

const PARENTS = /^microsoft\.sql\/(servers|managedinstances)$/i;

function row(r: ArmResource, subscriptionId: string): InventoryRow {
  const id = parseId(r.id);
  const state = stateOf(r);
  return {
    id: r.id,
    name: r.name,
    type: r.type,
    resourceGroup: id.resourceGroup ?? "",
    location: r.location ?? "",
    subscriptionId,
    ...(state ? { state } : {}),
    ...(id.parentId ? { parentName: parseId(id.parentId).name } : {}),
  };
}

async function loadSubscription(sub: string): Promise<InventoryRow[]> {
  const top = await armListAll<ArmResource>(`/subscriptions/${sub}/resources?api-version=${apiVersionFor("Microsoft.Resources")}`);
  // The generic list carries no properties; each provider's own list does (one call per type present).
  const full = new Map<string, ArmResource>();
  const types = [...new Set(top.map((r) => r.type))];
  await Promise.all(
    types.map((t) =>
      armListAll<ArmResource>(`/subscriptions/${sub}/providers/${t}?api-version=${apiVersionFor(t)}`).then(
        (list) => list.forEach((r) => full.set(r.id.toLowerCase(), r)),
        () => undefined, // no subscription-wide list for this type: the row just has no state
      ),
    ),
  );
  const children = await Promise.all(
    top.filter((r) => PARENTS.test(r.type)).map((p) => armListAll<ArmResource>(`${p.id}/databases?api-version=${apiVersionFor(p.type)}`).catch(() => [] as ArmResource[])),
  );
  const dbs = children.flat().filter((d) => d.name.toLowerCase() !== "master"); // Azure's portal lists master nowhere either
  return [...top.map((r) => full.get(r.id.toLowerCase()) ?? r), ...dbs].map((r) => row(r, sub));
}

export async function loadInventory(): Promise<Inventory> {
  const subs = await armListAll<{ subscriptionId: string; displayName: string }>(`/subscriptions?api-version=${apiVersionFor("Microsoft.Resources/subscriptions")}`);
  const rows = (await Promise.all(subs.map((s) => loadSubscription(s.subscriptionId)))).flat();
  return { subscriptions: subs.map((s) => ({ subscriptionId: s.subscriptionId, displayName: s.displayName })), rows };
}

/** Inventory-relevant hints: resources and health changing (not activity rows, notifications or clock ticks). */
export const inventoryHint = (h: Hint): boolean => h.type === "resource.changed" || h.type === "health.changed";

export const InventoryContext = createContext<Loaded<Inventory>>({ loading: true, reload: () => undefined });

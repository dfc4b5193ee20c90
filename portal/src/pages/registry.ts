// Every area of the portal, wired once (portal/README.md). Areas own their folders; the shell asks here which
// blades a resource has and which top-level pages exist.
import type { Area, ArmResource, Blade, TopLevelPage } from "../lib/types";
import { genericBlades } from "./home/generic-overview";
import { area as identity } from "./identity/index";
import { area as monitor } from "./monitor/index";
import { area as scenarios } from "./scenarios/index";
import { area as sql } from "./sql/index";
import { area as vault } from "./vault/index";

export const areas: Area[] = [sql, vault, identity, monitor, scenarios];

export function areaFor(type: string): Area | undefined {
  const t = type.toLowerCase();
  return areas.find((a) => a.resourceTypes.includes(t));
}

/** The left menu of a resource page; resources no area claims get a generic Overview. */
export function bladesFor(resource: ArmResource): Blade[] {
  const blades = areaFor(resource.type)?.blades(resource) ?? [];
  return blades.length ? blades : genericBlades(resource);
}

/** A top-level page by its first hash segment (#/monitor/… → "monitor"). */
export function topLevelFor(path: string): TopLevelPage | undefined {
  for (const a of areas) for (const p of a.topLevel ?? []) if (p.path === path) return p;
  return undefined;
}

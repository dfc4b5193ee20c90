// Hash routes that mirror Azure's deep links (portal.md §3.1): #/resource{resourceId}/{blade}, #/home,
// #/monitor/{blade}, #/scenarios, #/identities. No router library.
import { useEffect, useState } from "preact/hooks";

export type RouteKind = "resource" | "home" | "monitor" | "scenarios" | "identities" | (string & {});

export interface Route {
  kind: RouteKind;
  /** For kind "resource": the ARM id, e.g. /subscriptions/…/providers/Microsoft.Sql/servers/s1. */
  resourceId?: string;
  /** Resource blade (default "overview") or the page inside a top-level area (e.g. monitor → "activity-log"). */
  blade?: string;
}

/** Link to a resource page (blade optional: the shell shows "overview"). */
export function href(resourceId: string, blade?: string): string {
  const id = resourceId.startsWith("/") ? resourceId : `/${resourceId}`;
  return `#/resource${id.replace(/\/+$/, "")}${blade ? `/${blade}` : ""}`;
}

export function navigate(hash: string): void {
  location.hash = hash.startsWith("#") ? hash : `#${hash}`;
}

export function parseRoute(hash: string): Route {
  const raw = hash.replace(/^#/, "").replace(/\?.*$/, "");
  const parts = raw.split("/").filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  const [head, ...rest] = parts;
  if (!head || head === "home") return { kind: "home" };
  if (head === "resource") {
    // An ARM id always has an even number of segments (subscriptions/x, resourceGroups/y, providers/ns, type/name…),
    // so an odd tail is the blade.
    const blade = rest.length % 2 === 1 ? rest.pop() : undefined;
    return { kind: "resource", resourceId: `/${rest.join("/")}`, blade: blade ?? "overview" };
  }
  return { kind: head, ...(rest.length ? { blade: rest.join("/") } : {}) };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseRoute(location.hash));
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return route;
}

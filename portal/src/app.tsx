// The shell (issue 9 §2): header, skip link, left nav, live status, incident strip and the routed page.
import { useEffect, useRef, useState } from "preact/hooks";
import { Button } from "./components";
import { isSignedOut, onAuthChange, signOut, whoAmI } from "./lib/auth";
import { useLoad } from "./lib/hooks";
import { startLive, useLiveStatus } from "./lib/live";
import { useRoute, type Route } from "./lib/router";
import { HomePage } from "./pages/home/home-page";
import { IncidentStrip } from "./pages/home/incident-strip";
import { InventoryContext, inventoryHint, loadInventory } from "./pages/home/inventory";
import { ResourcePage } from "./pages/home/resource-page";
import { SignedOut } from "./pages/home/signed-out";
import { topLevelFor } from "./pages/registry";

const MONITOR = [
  ["activity-log", "Activity log"],
  ["alert-rules", "Alert rules"],
  ["action-groups", "Action groups"],
  ["notifications", "Notifications"],
] as const;

function isCurrent(route: Route, hash: string): boolean {
  const h = hash.replace(/^#\/?/, "");
  const [kind, blade] = h.split("/");
  if (route.kind !== kind) return false;
  return kind === "monitor" ? (route.blade ?? "activity-log") === blade : true;
}

function SideNav({ route, open }: { route: Route; open: boolean }) {
  const link = (hash: string, label: string) => (
    <a href={hash} aria-current={isCurrent(route, hash) ? "page" : undefined}>
      {label}
    </a>
  );
  return (
    <nav aria-label="Portal" id="side-nav" class={`side${open ? " open" : ""}`}>
      <ul>
        <li>{link("#/home", "All resources")}</li>
        <li>{link("#/identities", "Managed identities")}</li>
        <li>
          <span class="nav-group" id="nav-monitor">
            Monitor
          </span>
          <ul aria-labelledby="nav-monitor">
            {MONITOR.map(([b, label]) => (
              <li key={b}>{link(`#/monitor/${b}`, label)}</li>
            ))}
          </ul>
        </li>
        <li>{link("#/scenarios", "Scenarios")}</li>
      </ul>
    </nav>
  );
}

function Page({ route }: { route: Route }) {
  if (route.kind === "home") return <HomePage />;
  if (route.kind === "resource" && route.resourceId) return <ResourcePage resourceId={route.resourceId} blade={route.blade ?? "overview"} />;
  const top = topLevelFor(route.kind);
  if (top) return top.render(route.blade);
  return (
    <>
      <h1>Page not found</h1>
      <p>
        There is no page at this address. <a href="#/home">Go to All resources</a>.
      </p>
    </>
  );
}

export function App() {
  const [out, setOut] = useState(isSignedOut());
  useEffect(() => onAuthChange(() => setOut(isSignedOut())), []);
  if (out) return <SignedOut />;
  return <Shell />;
}

function Shell() {
  const route = useRoute();
  const live = useLiveStatus();
  const user = whoAmI();
  const [menu, setMenu] = useState(false);
  const inventory = useLoad("inventory", loadInventory, [], { match: inventoryHint });
  const main = useRef<HTMLElement>(null);
  const pageKey = route.kind === "resource" ? `resource:${route.resourceId}` : `${route.kind}:${route.blade ?? ""}`;
  const firstPage = useRef(true);
  useEffect(() => startLive(), []);
  useEffect(() => {
    setMenu(false);
    // A new page moves focus to <main> (not on first load), like a page load would reset it.
    if (firstPage.current) firstPage.current = false;
    else main.current?.focus();
  }, [pageKey]);
  const skip = (e: Event) => {
    e.preventDefault(); // the hash is the router's; the skip link only moves focus
    main.current?.focus();
  };
  return (
    <InventoryContext.Provider value={inventory}>
      <a class="skip-link" href="#main" onClick={skip}>
        Skip to main content
      </a>
      <header class="top">
        <a class="brand" href="#/home">
          tdekv portal
        </a>
        <span class="emulator-tag">Local emulator — not Microsoft Azure</span>
        <span class="spacer" />
        <button type="button" class="btn btn-link menu-toggle" aria-expanded={menu} aria-controls="side-nav" onClick={() => setMenu(!menu)}>
          Menu
        </button>
        <span class="user" translate={false} title={user.upn}>
          {user.name || user.upn}
        </span>
        <Button kind="link" onClick={signOut}>
          Sign out
        </Button>
        <p role="status" class={live === "live" ? "live-note" : "live-note live-down"}>
          {live === "live" ? "" : "Live updates paused — reconnecting"}
        </p>
      </header>
      <div class="layout">
        <SideNav route={route} open={menu} />
        <div class="content">
          <IncidentStrip />
          <main id="main" ref={main} tabIndex={-1}>
            <Page route={route} />
          </main>
        </div>
      </div>
    </InventoryContext.Provider>
  );
}

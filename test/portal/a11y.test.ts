import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Page } from "playwright-core";
import { startPortalSuite, type PortalSuite } from "./harness.js";
import { RG, SqlKit, bladeHash, go } from "./sql-kit.js";

/**
 * portal.md §3.8 #12, issue 9 §5: axe (WCAG 2.0/2.1/2.2 A and AA) finds nothing on any shell page or any blade of
 * a seeded vault, identity, server and database, in light and in dark; 320 px wide never scrolls sideways; the
 * shell works by keyboard (skip link, nav, main controls; Esc closes a dialog and focus returns to its opener).
 */
let s: PortalSuite;
let kit: SqlKit;
let fx: Awaited<ReturnType<SqlKit["scenario"]>>;
let uamiId: string;

const SHELL = ["#/home", "#/identities", "#/monitor/activity-log", "#/monitor/alert-rules", "#/monitor/action-groups", "#/monitor/notifications", "#/scenarios"];

before(async () => {
  s = await startPortalSuite();
  kit = await SqlKit.start(s);
  fx = await kit.scenario("a11y");
  uamiId = (await s.sdk.msi.userAssignedIdentities.createOrUpdate(RG, "uami-a11y", { location: "eastus" })).id!;
});
after(() => s?.stop());

/** Waits until the page shows no "Loading…" status and nothing is busy (the shell's and areas' own markers). */
async function settled(page: Page): Promise<void> {
  await page.getByRole("heading", { level: 1 }).first().waitFor();
  // A function, not a string: the portal's CSP has no 'unsafe-eval', which string predicates need.
  await page.waitForFunction(() => !document.querySelector("main .loading, main [aria-busy='true']"));
}

/** Every page of the sweep: the shell pages, then each resource page and each blade in its menu. */
async function sweep(page: Page, check: (label: string) => Promise<void>): Promise<number> {
  let n = 0;
  for (const hash of SHELL) {
    await go(page, hash);
    await settled(page);
    await check(hash);
    n++;
  }
  for (const id of [fx.serverId, fx.dbId, `/subscriptions/${kit.sub}/resourceGroups/${RG}/providers/Microsoft.KeyVault/vaults/${fx.vault}`, uamiId]) {
    await go(page, bladeHash(id));
    await settled(page);
    const name = id.split("/").pop()!;
    const blades = await page.getByRole("navigation", { name: `${name} menu` }).getByRole("link").evaluateAll((as) => as.map((a) => a.getAttribute("href")!));
    assert.ok(blades.length >= 1, `${name} has a blade menu`);
    for (const b of blades) {
      await go(page, b);
      await settled(page);
      await check(b);
      n++;
    }
  }
  return n;
}

async function axeSweep(page: Page, scheme: string): Promise<void> {
  const found: string[] = [];
  const pages = await sweep(page, async (label) => {
    const h1 = await page.getByRole("heading", { level: 1 }).count();
    if (h1 !== 1) found.push(`${label}: ${h1} h1 elements`);
    for (const v of await s.axe(page)) found.push(`${label}: ${v.id} (${v.impact}) ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  });
  assert.ok(pages >= SHELL.length + 4);
  assert.deepEqual(found, [], `${scheme}: axe violations`);
}

test("a11y: axe finds no WCAG 2.2 AA violations on any page, light scheme", { timeout: 120_000 }, async () => {
  const page = await s.signedInPage();
  await axeSweep(page, "light");
  await go(page, bladeHash(fx.dbId));
  await settled(page);
  await s.shot(page, "a11y-light-database");
  await s.done(page);
});

test("a11y: dark scheme too, with an incident on screen", { timeout: 120_000 }, async () => {
  // An Inaccessible database puts the incident strip and the database banner into the sweep.
  await kit.revoke(fx.vault, fx.principal);
  await kit.probe();
  assert.equal(await kit.status(fx.server), "Inaccessible");
  const page = await s.signedInPage({ colorScheme: "dark" });
  await page.getByRole("region", { name: "Incident" }).waitFor();
  await axeSweep(page, "dark");
  await go(page, "#/home");
  await settled(page);
  await s.shot(page, "a11y-dark-home");
  await go(page, bladeHash(fx.dbId));
  await settled(page);
  await s.shot(page, "a11y-dark-database");
  await kit.grant(fx.vault, fx.principal);
  await s.done(page);
});

test("a11y: 320 px wide never scrolls sideways", { timeout: 120_000 }, async () => {
  const page = await s.signedInPage({ viewport: { width: 320, height: 640 } });
  const wide: string[] = [];
  await sweep(page, async (label) => {
    const m = (await page.evaluate(`[document.documentElement.scrollWidth, document.documentElement.clientWidth]`)) as [number, number];
    if (m[0] > m[1]) wide.push(`${label}: scrollWidth ${m[0]} > clientWidth ${m[1]}`);
  });
  assert.deepEqual(wide, []);
  // The side nav folds behind "Menu" and opens by keyboard.
  const menu = page.getByRole("button", { name: "Menu" });
  await menu.focus();
  await page.keyboard.press("Enter");
  assert.equal(await menu.getAttribute("aria-expanded"), "true");
  await page.getByRole("navigation", { name: "Portal" }).getByRole("link", { name: "Scenarios" }).waitFor();
  await s.shot(page, "a11y-320-menu");
  await s.done(page);
});

/** The accessible-ish name of the focused element (its label, aria-label or text). */
const focused = (page: Page) =>
  page.evaluate(`(() => {
    const e = document.activeElement;
    if (!e || e === document.body) return "";
    const label = e.id ? document.querySelector('label[for="' + e.id + '"]') : null;
    return (e.getAttribute("aria-label") || (label && label.textContent) || e.textContent || e.id || e.tagName).trim();
  })()`) as Promise<string>;

test("a11y: keyboard: skip link, nav and main controls by Tab; Esc closes the JSON dialog and focus returns", { timeout: 120_000 }, async () => {
  const page = await s.signedInPage();
  await settled(page);
  await page.keyboard.press("Tab");
  assert.equal(await focused(page), "Skip to main content");
  await page.keyboard.press("Enter");
  assert.equal(await page.evaluate(`document.activeElement.id`), "main");

  // From the top, Tab walks the header, the nav and the page's own controls.
  await page.evaluate(`document.activeElement.blur()`);
  await page.mouse.click(1, 1);
  const seen: string[] = [];
  for (let i = 0; i < 25; i++) {
    await page.keyboard.press("Tab");
    seen.push(await focused(page));
  }
  for (const name of ["Skip to main content", "Sign out", "All resources", "Managed identities", "Activity log", "Notifications", "Scenarios", "Type"]) {
    assert.ok(seen.includes(name), `Tab reaches "${name}": ${JSON.stringify(seen)}`);
  }

  // A nav link by keyboard, then the resource page's "Open JSON": Esc closes, focus goes back to the button.
  await go(page, bladeHash(fx.serverId));
  await settled(page);
  const open = page.getByRole("button", { name: "Open JSON" });
  await open.focus();
  await page.keyboard.press("Enter");
  const dialog = page.getByRole("dialog", { name: "Resource JSON" });
  await dialog.waitFor();
  assert.match((await dialog.getByRole("region", { name: "Resource JSON" }).textContent()) ?? "", new RegExp(`"id": "${fx.serverId}"`));
  await page.keyboard.press("Escape");
  await dialog.waitFor({ state: "hidden" });
  // The dialog gives focus back to its opener as it closes, which can land a frame after it is hidden.
  await page.waitForFunction(() => {
    const e = document.activeElement;
    return !!e && e !== document.body;
  });
  assert.equal(await focused(page), "Open JSON");

  // Blade menu by keyboard: Enter on a link opens that blade and marks it current.
  const menu = page.getByRole("navigation", { name: `${fx.server} menu` });
  const second = menu.getByRole("link").nth(1);
  const label = (await second.textContent())!;
  await second.focus();
  await page.keyboard.press("Enter");
  await page.waitForFunction(
    ([server, text]) => document.querySelector(`nav[aria-label="${server} menu"] a[aria-current="page"]`)?.textContent === text,
    [fx.server, label] as const,
  );
  await s.done(page);
});

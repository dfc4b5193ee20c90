import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startPortalSuite, type PortalSuite } from "./harness.js";
import { SqlKit, bladeHash, go } from "./sql-kit.js";

/**
 * portal.md §3.8 #6, the incident as a user watches it: a fault takes the database Inaccessible and the open
 * page shows it live (Azure's banner as role=alert, the Inaccessible badge), the 30-minute countdown runs on
 * tdekv's clock (30:00, then 20:00 after the server's clock moves 10 minutes), Resource health turns
 * Unavailable after a denied login, and the timeline starts with MakeDatabaseInaccessible Started. axe finds
 * nothing on the incident pages.
 */
const BANNER = "Access to Azure Key Vault has been lost for this database. Existing data will be inaccessible until this issue is resolved.";

let s: PortalSuite;
let kit: SqlKit;
before(async () => {
  s = await startPortalSuite();
  kit = await SqlKit.start(s);
});
after(() => s?.stop());

test("fault → live banner, Inaccessible, countdown on the server clock, Resource health Unavailable, timeline", async () => {
  const sc = await kit.scenario("inc");
  const page = await s.signedInPage();
  await go(page, bladeHash(sc.dbId));
  await page.getByRole("heading", { level: 1, name: "db" }).waitFor();
  await page.locator(".badge", { hasText: "Online" }).first().waitFor();
  assert.equal(await page.getByRole("alert").filter({ has: page.getByRole("heading", { name: BANNER }) }).count(), 0);

  // The fault: the server identity's policy is revoked; the next probe finds it (no page reload from here on).
  await kit.revoke(sc.vault, sc.principal);
  await kit.probe();
  const banner = page.getByRole("alert").filter({ has: page.getByRole("heading", { name: BANNER }) });
  await banner.waitFor();
  assert.match((await banner.textContent()) ?? "", /AzureKeyVaultMissingPermissions/);
  await page.locator(".badge", { hasText: "Inaccessible" }).first().waitFor();
  const timer = page.getByRole("timer", { name: "Time left to auto-heal" });
  await timer.filter({ hasText: /^30:00$/ }).waitFor();
  assert.equal(await timer.getAttribute("aria-live"), "off");
  await s.shot(page, "incident-start");

  // Ten minutes pass on tdekv's (manual) clock; the browser's clock does not move at all.
  await kit.advance("10m");
  await timer.filter({ hasText: /^20:00$/ }).waitFor();
  await s.shot(page, "incident-20min");
  // The polite announcements come at 10, 5 and 1 minutes left, not every second (portal.md §4.1).
  assert.equal(await page.getByRole("status").filter({ hasText: "minutes left in the auto-heal window" }).count(), 0);
  await kit.advance("10m");
  await timer.filter({ hasText: /^10:00$/ }).waitFor();
  await page.getByRole("status").filter({ hasText: "10 minutes left in the auto-heal window" }).waitFor();

  // Resource health: Unavailable after the first denied connection (portal.md §1.6).
  await kit.deniedLogin(sc.server);
  await go(page, bladeHash(sc.dbId, "resource-health"));
  await page.getByRole("heading", { name: "Unavailable" }).waitFor();

  // The incident timeline, and axe on it.
  await go(page, bladeHash(sc.dbId, "incident"));
  const list = page.getByRole("list").filter({ has: page.getByRole("heading", { name: "Inaccessible" }) });
  await list.getByRole("listitem").filter({ hasText: "MakeDatabaseInaccessible Started" }).waitFor();
  await list.getByRole("listitem").filter({ hasText: "Resource health: Unavailable" }).waitFor();
  await page.getByRole("timer", { name: "Time left to auto-heal" }).filter({ hasText: /^10:00$/ }).waitFor();
  const aria = await s.aria(page, "incident-timeline");
  assert.match(aria, /MakeDatabaseInaccessible Started/);
  assert.deepEqual(await s.axe(page), []);

  // Seed: no switch back to a service-managed key while a CMK database is inaccessible; the blade says why.
  await go(page, bladeHash(sc.serverId, "tde"));
  const sm = page.getByRole("radio", { name: "Service-managed key" });
  await sm.waitFor();
  await page.getByText("Not available while a database encrypted with the customer-managed key is Inaccessible").waitFor();
  assert.equal(await sm.isDisabled(), true);
  await s.done(page);
});

test("dark mode: no axe violations; 320 px wide: the SQL incident pages do not scroll sideways", async () => {
  const sc = await kit.scenario("dark");
  await kit.revoke(sc.vault, sc.principal);
  await kit.probe();
  const page = await s.signedInPage({ colorScheme: "dark" });
  await go(page, bladeHash(sc.dbId));
  await page.getByRole("alert").filter({ has: page.getByRole("heading", { name: BANNER }) }).waitFor();
  await page.getByRole("timer", { name: "Time left to auto-heal" }).waitFor();
  assert.deepEqual(await s.axe(page), []);
  await s.shot(page, "incident-dark");
  await page.setViewportSize({ width: 320, height: 800 });
  const ready: [string, () => Promise<void>][] = [
    ["overview", () => page.getByRole("timer").waitFor()],
    ["incident", () => page.getByRole("listitem").filter({ hasText: "MakeDatabaseInaccessible Started" }).waitFor()],
    ["diagnose", () => page.getByRole("article").first().waitFor()],
    ["activity-log", () => page.getByRole("table").waitFor()],
  ];
  for (const [blade, wait] of ready) {
    await go(page, bladeHash(sc.dbId, blade));
    await wait();
    const { scroll, width } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: document.documentElement.clientWidth }));
    assert.ok(scroll <= width, `${blade}: ${scroll} px wide content in a ${width} px viewport`);
  }
  await s.shot(page, "incident-320");
  await s.done(page);
});

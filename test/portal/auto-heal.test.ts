import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { HttpReceiver, waitFor } from "../alerts-kit.js";
import { startPortalSuite, type PortalSuite } from "./harness.js";
import { SqlKit, alertOnDatabaseWrites, bladeHash, go } from "./sql-kit.js";

/**
 * portal.md §3.8 #7: access comes back inside the 30-minute window (the policy is restored at +12 min), and
 * the open page goes Online with no click; the timeline shows the alert that fired, MakeDatabaseAccessible
 * Succeeded ("Healed") and Resource health back to Available (the health event resolved).
 */
const hooks = new HttpReceiver();
let s: PortalSuite;
let kit: SqlKit;
before(async () => {
  await hooks.start();
  s = await startPortalSuite();
  kit = await SqlKit.start(s);
  await alertOnDatabaseWrites(s, hooks.url);
});
after(async () => {
  await s?.stop();
  await hooks.stop();
});

test("restoring access at +12 min heals the database by itself, live, and the timeline closes", async () => {
  const sc = await kit.scenario("heal");
  const page = await s.signedInPage();
  await go(page, bladeHash(sc.dbId));
  await page.locator(".badge", { hasText: "Online" }).first().waitFor();

  await kit.revoke(sc.vault, sc.principal);
  await kit.probe();
  await page.getByRole("timer", { name: "Time left to auto-heal" }).filter({ hasText: /^30:00$/ }).waitFor();
  await kit.deniedLogin(sc.server);
  // The alert really left tdekv (a real HTTP receiver got it) before we look for it on the page.
  await waitFor("the alert webhook", () => hooks.at("/oncall").find((r) => r.body.data.alertContext.properties.eventName === "MakeDatabaseInaccessible"));

  await kit.advance("12m");
  await page.getByRole("timer", { name: "Time left to auto-heal" }).filter({ hasText: /^18:00$/ }).waitFor();
  await kit.grant(sc.vault, sc.principal);
  // Two good probes in a row heal (src/health/domain/rules.ts SUCCESSES_FOR_HEAL); the page is not touched.
  await kit.probe();
  await kit.probe();
  assert.equal(await kit.status(sc.server), "Online");
  await page.locator(".badge", { hasText: "Online" }).first().waitFor();
  await page.getByRole("timer").waitFor({ state: "detached" });
  assert.equal(await page.getByRole("heading", { name: /Access to Azure Key Vault has been lost/ }).count(), 0);

  await go(page, bladeHash(sc.dbId, "incident"));
  const steps = page.getByRole("list").filter({ has: page.getByRole("heading", { name: "Healed" }) }).getByRole("listitem");
  await steps.filter({ hasText: "MakeDatabaseAccessible Succeeded" }).waitFor();
  await steps.filter({ has: page.getByRole("heading", { name: "Alert fired" }) }).filter({ hasText: "tde-rule" }).waitFor();
  await steps.filter({ has: page.getByRole("heading", { name: "Resource health: Available" }) }).waitFor();
  await page.getByRole("list", { name: "Durations" }).filter({ hasText: "Total downtime: 12m 00s" }).waitFor();
  assert.equal(await page.getByRole("heading", { name: "Settings lost" }).count(), 0, "an auto-heal loses nothing");
  await s.shot(page, "healed-auto");
  await s.done(page);
});

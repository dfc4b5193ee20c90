import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startPortalSuite, type PortalSuite } from "./harness.js";
import { SqlKit, RG, bladeHash, go } from "./sql-kit.js";

/**
 * portal.md §3.8 #8: the window closes (+31 min): MakeDatabaseInaccessible Succeeded ("… using Re-validate
 * key.") and the timer gives way to "Auto-heal window closed"; access is restored, "Revalidate key" →
 * "Retry existing key" is busy during the LRO, the database comes back Online, and the "Settings lost"
 * callout lists the tags that disappeared (seed: "failover group, PITR history, and any tags will be lost").
 */
let s: PortalSuite;
let kit: SqlKit;
before(async () => {
  s = await startPortalSuite();
  kit = await SqlKit.start(s);
});
after(() => s?.stop());

test("past the window only a revalidation brings the database back, and the lost tags are listed", async () => {
  const sc = await kit.scenario("late");
  const page = await s.signedInPage();
  await go(page, bladeHash(sc.dbId));
  await page.getByText("owner: team-a").waitFor();

  await kit.revoke(sc.vault, sc.principal);
  await kit.probe();
  await page.getByRole("timer", { name: "Time left to auto-heal" }).filter({ hasText: /^30:00$/ }).waitFor();
  await kit.advance("31m");
  await page.getByText("Auto-heal window closed — revalidate the key after fixing access").waitFor();
  assert.equal(await page.getByRole("timer").count(), 0);
  await s.shot(page, "expired");

  await go(page, bladeHash(sc.dbId, "incident"));
  const closed = page.getByRole("listitem").filter({ has: page.getByRole("heading", { name: "Window closed" }) });
  await closed.filter({ hasText: "MakeDatabaseInaccessible Succeeded" }).waitFor();
  assert.match((await closed.textContent()) ?? "", /requires user to resolve Azure key vault errors and reestablish access to Azure key vault key using Re-validate key\./);

  // Access is back, but nothing heals by itself any more.
  await kit.grant(sc.vault, sc.principal);
  await kit.probe();
  await kit.probe();
  assert.equal(await kit.status(sc.server), "Inaccessible");

  // Revalidate key → Retry existing key; the operation's poll is held until the busy state has been seen.
  await go(page, bladeHash(sc.dbId));
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  await page.route(/AzureAsyncOperation/i, async (route) => {
    await held;
    await route.continue();
  });
  await page.getByRole("button", { name: "Revalidate key" }).click();
  await page.getByRole("button", { name: "Retry existing key" }).click();
  await page.locator('button[aria-busy="true"]', { hasText: "Retry existing key" }).waitFor();
  await page.getByRole("status").filter({ hasText: "MakeAllLogicalDatabasesAccessible" }).waitFor();
  release();
  await page.getByRole("status").filter({ hasText: "Revalidation succeeded" }).waitFor();
  await page.locator(".badge", { hasText: "Online" }).first().waitFor();
  await page.unroute(/AzureAsyncOperation/i);
  assert.equal(await kit.status(sc.server), "Online");
  assert.deepEqual((await s.sdk.sql.databases.get(RG, sc.server, "db")).tags ?? {}, {}, "tdekv dropped the tags, as the seed says");

  await go(page, bladeHash(sc.dbId, "incident"));
  const lost = page.getByRole("alert").filter({ has: page.getByRole("heading", { name: "Settings lost" }) });
  await lost.waitFor();
  await lost.getByRole("listitem").filter({ hasText: "Tag owner: team-a" }).waitFor();
  await lost.getByRole("listitem").filter({ hasText: "Tag env: drill" }).waitFor();
  const steps = page.getByRole("list").filter({ has: page.getByRole("heading", { name: "Revalidated" }) });
  await steps.getByRole("listitem").filter({ hasText: "MakeDatabaseAccessible Succeeded" }).waitFor();

  // The post-mortem carries the story and the lost settings.
  await page.getByRole("button", { name: "Copy as Markdown" }).click();
  await page.getByRole("status").filter({ hasText: "Post-mortem copied" }).waitFor();
  const md = await page.evaluate(() => navigator.clipboard.readText());
  assert.match(md, /^## Incident: db on srv-late lost access to its Azure Key Vault key/);
  assert.match(md, /\| Window closed \| .* MakeDatabaseInaccessible Succeeded/);
  assert.match(md, /- Tag owner: team-a/);
  await s.shot(page, "revalidated");
  await s.done(page);
});

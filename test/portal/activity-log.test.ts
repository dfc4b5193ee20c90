import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { clientToken, request } from "../harness.js";
import { startPortalSuite, type PortalSuite } from "./harness.js";
import { RG, SqlKit, bladeHash, go, openAndGetOid } from "./sql-kit.js";

/**
 * portal.md §3.8 #10: Monitor → Activity log, subscription-wide. A real incident (the server's access policy
 * revoked, a probe) writes the seed's events; the page shows Azure's columns, filters by resource, shows the
 * event name MakeDatabaseInaccessible in the JSON tab only, and "Download as CSV" has Azure's header row and
 * exactly the rows the public Activity Log API returns for the same filter.
 */
let s: PortalSuite;
let kit: SqlKit;

before(async () => {
  s = await startPortalSuite();
  kit = await SqlKit.start(s);
});
after(async () => {
  await s?.stop();
});

const HEADER = "Correlation id,Operation name,Status,Event category,Level,Time,Subscription,Event initiated by,Resource type,Resource group,Resource";

/** What the public API returns for one resource (the same filter the page uses). */
async function apiEvents(resourceId: string) {
  const token = await clientToken(s.inst, "https://management.azure.com/.default");
  const filter = `eventTimestamp ge '2000-01-01T00:00:00Z' and resourceId eq '${resourceId}'`;
  const res = await request(s.inst, "GET", `/subscriptions/${kit.sub}/providers/Microsoft.Insights/eventtypes/management/values?api-version=2015-04-01&$filter=${encodeURIComponent(filter)}`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200, res.text);
  return res.json.value as { correlationId: string; eventName: { value: string }; status: { value: string }; operationName: { localizedValue: string } }[];
}

test("activity log: Azure's columns, a resource filter, the JSON tab's eventName and the CSV download", async () => {
  const sc = await kit.scenario("act");
  await kit.revoke(sc.vault, sc.principal);
  await kit.probe();
  assert.equal(await kit.status(sc.server), "Inaccessible");
  const expected = await apiEvents(sc.dbId);
  assert.ok(expected.some((e) => e.eventName.value === "MakeDatabaseInaccessible" && e.status.value === "Started"), "the incident is in the public log");

  const page = await s.signedInPage();
  await go(page, "#/monitor/activity-log");
  await page.getByRole("heading", { name: "Activity log", level: 2 }).waitFor();
  const table = page.getByRole("table", { name: "Activity log events" });
  await table.waitFor();
  const headers = (await table.getByRole("columnheader").allInnerTexts()).map((h) => h.trim());
  assert.deepEqual(headers, ["Operation name", "Status", "Time", "Time stamp", "Subscription", "Event initiated by"]);
  assert.equal(await page.getByLabel("Timespan").inputValue(), "Last 6 hours");

  await page.getByLabel("Resource group").selectOption(RG);
  await page.getByLabel("Resource", { exact: true }).selectOption(sc.dbId);
  await page.getByRole("status").filter({ hasText: `${expected.length} items.` }).waitFor();
  assert.equal(await table.getByRole("row").count(), expected.length + 1, "one row per event, plus the header");
  const rows = table.getByRole("row", { name: /Update SQL database/ });
  assert.ok((await rows.count()) >= 1);
  assert.equal(await page.getByText("MakeDatabaseInaccessible").count(), 0, "Azure shows the event name only in the JSON");

  const started = expected.findIndex((e) => e.eventName.value === "MakeDatabaseInaccessible" && e.status.value === "Started");
  await table.getByRole("row").nth(started + 1).getByRole("button").click();
  const pane = page.getByRole("dialog", { name: "Update SQL database" });
  await pane.getByRole("tab", { name: "Summary" }).waitFor();
  assert.equal(await pane.getByRole("tab", { name: "Summary" }).getAttribute("aria-selected"), "true");
  await pane.getByRole("tab", { name: "JSON" }).click();
  const json = JSON.parse(await pane.getByRole("region", { name: "Event JSON" }).innerText());
  assert.deepEqual(json.eventName, { value: "MakeDatabaseInaccessible", localizedValue: "MakeDatabaseInaccessible" });
  assert.equal(json.status.value, "Started");
  assert.equal(json.correlationId, expected[started]!.correlationId);
  assert.deepEqual(await s.axe(page), [], "axe: the event pane has no WCAG 2.2 AA violations");
  await s.shot(page, "activity");
  await page.keyboard.press("Escape");
  await pane.waitFor({ state: "hidden" });

  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download as CSV" }).click()]);
  assert.equal(download.suggestedFilename(), "ActivityLog.csv");
  const csv = fs.readFileSync((await download.path())!, "utf8").trimEnd().split("\r\n");
  assert.equal(csv[0], HEADER);
  assert.equal(csv.length, expected.length + 1);
  assert.deepEqual(
    csv.slice(1).map((l) => l.split(",")[0]),
    expected.map((e) => e.correlationId),
    "the rows are the API's events, newest first",
  );
  assert.ok(csv.slice(1).every((l) => l.endsWith(`,${RG},${sc.dbId}`)), "resource group and resource columns");
  await s.done(page);
});

test("scenarios (tdekv only): revoke the policy and disable the key with the public APIs, probe, move the clock, undo", async () => {
  const sc = await kit.scenario("chaos");
  const vaultId = `/subscriptions/${kit.sub}/resourceGroups/${RG}/providers/Microsoft.KeyVault/vaults/${sc.vault}`;
  const page = await s.signedInPage();
  // Key faults go through the vault's data plane as the signed-in user, who needs the key permissions for it.
  await kit.grant(sc.vault, await openAndGetOid(page, s, bladeHash(vaultId)), ["get", "update"]);
  await go(page, "#/scenarios");
  await page.getByRole("heading", { name: "Scenarios (tdekv only)", level: 1 }).waitFor();
  await page.getByLabel("Server").selectOption(sc.serverId);
  // A disabled key refuses GET ("Operation get is not allowed on a disabled key."): read its version list.
  const enabled = async () => {
    for await (const p of s.sdk.keys(sc.vault).listPropertiesOfKeyVersions("tde")) return p.enabled;
  };
  const policyOf = async () => (await s.sdk.kvm.vaults.get(RG, sc.vault)).properties.accessPolicies!.find((p) => p.objectId === sc.principal);

  await page.getByRole("button", { name: "Revoke the access policy" }).click();
  await page.getByRole("status").filter({ hasText: `Injected: removed the access policy of ${sc.server}'s identity ${sc.principal} from ${sc.vault}.` }).waitFor();
  assert.equal(await policyOf(), undefined, "the vault no longer lists the server's identity");
  const run = page.getByRole("listitem").filter({ hasText: "Revoke the access policy on" });
  assert.equal(await run.locator("pre").innerText(), `az keyvault delete-policy -n ${sc.vault} -g ${RG} --object-id ${sc.principal}`);
  await page.getByRole("button", { name: "Run probe now" }).click();
  assert.match(await page.getByRole("status").filter({ hasText: "Probe 1 done:" }).innerText(), new RegExp(`${sc.server} failing with AzureKeyVaultMissingPermissions`));
  assert.equal(await kit.status(sc.server), "Inaccessible");

  const before = Date.parse((await s.admin("GET", "/_tdekv/clock")).now);
  await page.getByRole("button", { name: "Advance +10 min" }).click();
  await page.getByRole("status").filter({ hasText: "Advanced the clock by 10 minutes" }).waitFor();
  assert.equal(Date.parse((await s.admin("GET", "/_tdekv/clock")).now) - before, 10 * 60_000);

  await page.getByRole("button", { name: "Disable the key" }).click();
  await page.getByRole("status").filter({ hasText: `Injected: disabled key tde version ${sc.kid.split("/").pop()} in ${sc.vault}.` }).waitFor();
  assert.equal(await enabled(), false);
  assert.deepEqual(await s.axe(page), [], "axe: the scenarios page has no WCAG 2.2 AA violations");
  await s.shot(page, "scenarios");

  await run.getByRole("button", { name: "Undo Revoke the access policy" }).click();
  await page.getByRole("status").filter({ hasText: `Undone: restored the access policy of ${sc.principal}.` }).waitFor();
  assert.deepEqual((await policyOf())?.permissions.keys, ["get", "wrapKey", "unwrapKey"]);
  await page.getByRole("button", { name: "Undo Disable the key" }).click();
  await page.getByRole("status").filter({ hasText: "Undone: restored the attributes of key tde (enabled)." }).waitFor();
  assert.equal(await enabled(), true);
  await page.getByText("Nothing injected from this tab.").waitFor();
  // tdekv heals after two passing probes in a row (src/health/domain/rules.ts SUCCESSES_FOR_HEAL).
  for (const n of [2, 3]) {
    await page.getByRole("button", { name: "Run probe now" }).click();
    assert.doesNotMatch(await page.getByRole("status").filter({ hasText: `Probe ${n} done:` }).innerText(), new RegExp(sc.server));
  }
  assert.equal(await kit.status(sc.server), "Online", "healed inside the 30-minute window");
  await s.done(page);
});

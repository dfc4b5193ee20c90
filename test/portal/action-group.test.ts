import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { MonitorClient } from "@azure/arm-monitor";
import { clientToken, request } from "../harness.js";
import { startPortalSuite, type PortalSuite } from "./harness.js";
import { SqlKit, go } from "./sql-kit.js";

/**
 * portal.md §3.8 #11: create an action group with a webhook in the portal, press "Test action group", and a real
 * HTTP receiver on loopback gets Azure's common alert schema; the Notifications inbox shows the delivery. The
 * same "Test action group" API (createNotifications + notificationStatus, src/activity/alerts/test-notifications*.ts)
 * is also driven with the unmodified @azure/arm-monitor 7, and its bad input answers Azure-shaped 400s.
 */
let s: PortalSuite;
let receiver: http.Server;
let hookUrl = "";
const received: { path: string; body: any }[] = [];
const waiters: (() => void)[] = [];
const RG = "portal-alerts";

/** Resolves once `n` posts have arrived (a condition, not a timer). */
function receivedAtLeast(n: number): Promise<void> {
  return new Promise((resolve) => {
    const check = () => (received.length >= n ? resolve() : waiters.push(check));
    check();
  });
}

before(async () => {
  receiver = http.createServer((req, res) => {
    let text = "";
    req.on("data", (c) => (text += c));
    req.on("end", () => {
      received.push({ path: req.url ?? "", body: JSON.parse(text || "null") });
      res.writeHead(200).end();
      for (const w of waiters.splice(0)) w();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  s = await startPortalSuite();
  await s.sdk.rm.resourceGroups.createOrUpdate(RG, { location: "eastus" });
});
after(async () => {
  await s?.stop();
  await new Promise((r) => receiver.close(r));
});

test("Test action group through @azure/arm-monitor: the webhook gets the common alert schema, the status says Completed", async () => {
  const ep = s.inst.endpoints;
  const monitor = new MonitorClient(s.sdk.credential, ep.subscriptionId, { endpoint: ep.armEndpoint, tlsOptions: { ca: s.inst.ca.toString() }, retryOptions: { maxRetries: 0 } });
  const before = received.length;
  let notificationId = "";
  await monitor.actionGroups.beginPostTestNotificationsAndWait(
    { alertType: "activitylog", webhookReceivers: [{ name: "sdk-hook", serviceUri: `${hookUrl}/sdk`, useCommonAlertSchema: true }], smsReceivers: [{ name: "pager", countryCode: "1", phoneNumber: "5550100" }] },
    {
      updateIntervalInMs: 10,
      onResponse: (raw) => {
        const id = (raw.parsedBody as { notificationId?: string } | undefined)?.notificationId;
        if (id) notificationId = id;
      },
    },
  );
  await receivedAtLeast(before + 1);
  const post = received.find((r) => r.path === "/sdk")!;
  assert.equal(post.body.schemaId, "azureMonitorCommonAlertSchema");
  assert.equal(post.body.data.essentials.monitoringService, "Activity Log - Administrative");
  assert.equal(post.body.data.essentials.monitorCondition, "Fired");
  assert.equal(post.body.data.alertContext.properties.notificationId, notificationId);

  assert.match(notificationId, /^\d{14}$/, "Azure's notification ids are digits");
  const status = await monitor.actionGroups.getTestNotifications(notificationId);
  assert.equal(status.state, "Completed");
  const details = Object.fromEntries((status.actionDetails ?? []).map((d) => [d.mechanismType, d]));
  assert.equal(details.Webhook?.name, "sdk-hook");
  assert.equal(details.Webhook?.status, "Completed");
  assert.equal(details.Sms?.status, "Completed", "an SMS is kept in tdekv's outbox, and Detail says so");
  assert.match(details.Sms?.detail ?? "", /carrier/);

  const token = await clientToken(s.inst, "https://management.azure.com/.default");
  const post400 = (body: unknown) =>
    request(s.inst, "POST", `/subscriptions/${ep.subscriptionId}/providers/Microsoft.Insights/createNotifications?api-version=2021-09-01`, { headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify(body) });
  const noType = await post400({ webhookReceivers: [{ name: "h", serviceUri: `${hookUrl}/x` }] });
  assert.equal(noType.status, 400);
  assert.equal(noType.json.error.code, "AlertTypeIsNullOrEmpty");
  const badUri = await post400({ alertType: "activitylog", webhookReceivers: [{ name: "h", serviceUri: "not a url" }] });
  assert.equal(badUri.status, 400);
  assert.equal(badUri.json.error.code, "InvalidServiceUri");
  const unknown = await request(s.inst, "GET", `/subscriptions/${ep.subscriptionId}/providers/Microsoft.Insights/notificationStatus/12345678901234?api-version=2021-09-01`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(unknown.status, 404);
  assert.equal(unknown.json.error.code, "NotFound");
});

test("the portal creates an action group with a webhook, tests it, and the receiver and the Notifications inbox get the common alert schema", async () => {
  const page = await s.signedInPage();
  await go(page, "#/monitor/action-groups");
  await page.getByRole("heading", { name: "Action groups", level: 2 }).waitFor();
  await page.getByRole("button", { name: "Create", exact: true }).click();
  const wizard = page.getByRole("region", { name: "Create an action group" });
  await wizard.getByLabel("Resource group").selectOption({ label: RG });
  await wizard.getByLabel("Action group name").fill("tde-oncall");
  await wizard.getByLabel("Display name").fill("tde on-call!");
  assert.equal(await wizard.getByRole("button", { name: "Next" }).isDisabled(), false);
  await wizard.getByRole("button", { name: "Next" }).click();
  await wizard.getByRole("heading", { name: "Notifications" }).waitFor();
  await wizard.getByRole("button", { name: "Next" }).click();
  await wizard.getByRole("heading", { name: "Actions" }).waitFor();
  await wizard.getByLabel("Name", { exact: true }).fill("oncall-hook");
  await wizard.getByLabel("URI").fill(`${hookUrl}/portal`);
  assert.equal(await wizard.getByRole("checkbox", { name: "Enable the common alert schema" }).isChecked(), true);
  await wizard.getByRole("button", { name: "Next" }).click();
  await wizard.getByRole("heading", { name: "Review + create" }).waitFor();
  await wizard.getByRole("button", { name: "Create", exact: true }).click();
  await page.getByRole("status").filter({ hasText: "Created action group tde-oncall." }).waitFor();
  // The wizard closed under the focused button: focus is back on the opener, not lost to <body>.
  await page.waitForFunction(() => document.activeElement?.textContent?.trim() === "Create" && !document.activeElement.closest("form"));

  const group = await s.admin("GET", `/subscriptions/${s.inst.endpoints.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.Insights/actionGroups/tde-oncall?api-version=2022-06-01`);
  assert.equal(group.properties.groupShortName, "tde on-call!");
  assert.deepEqual(group.properties.webhookReceivers, [{ name: "oncall-hook", serviceUri: `${hookUrl}/portal`, useCommonAlertSchema: true }]);

  const row = page.getByRole("table", { name: "Action groups" }).getByRole("row", { name: /tde-oncall/ });
  const before = received.length;
  await row.getByRole("button", { name: "Test action group tde-oncall" }).click();
  const pane = page.getByRole("dialog", { name: "Test tde-oncall" });
  await pane.getByLabel("Select sample type").selectOption({ label: "Activity log" });
  await pane.getByRole("button", { name: "Test", exact: true }).click();
  const results = pane.getByRole("table", { name: "Test results" });
  await results.waitFor();
  const hookRow = results.getByRole("row", { name: /oncall-hook/ });
  await hookRow.waitFor();
  const cells = (await hookRow.getByRole("cell").allInnerTexts()).map((c) => c.replace(/^\W+/, "").trim());
  assert.deepEqual(cells, ["Webhook", "Completed", "HTTP 200"], "action type, status and the receiver's answer");
  await pane.getByRole("status").filter({ hasText: "Test completed." }).waitFor();
  assert.deepEqual(await s.axe(page), [], "axe: the test pane has no WCAG 2.2 AA violations");
  await s.shot(page, "action-group");

  await receivedAtLeast(before + 1);
  const post = received.filter((r) => r.path === "/portal").at(-1)!;
  assert.equal(post.body.schemaId, "azureMonitorCommonAlertSchema");
  assert.equal(post.body.data.essentials.monitoringService, "Activity Log - Administrative");
  assert.deepEqual(post.body.data.essentials.alertTargetIDs, [group.id.toLowerCase()]);

  await pane.getByRole("button", { name: "Open the Notifications inbox" }).click();
  await page.getByRole("heading", { name: "Notifications", level: 2 }).waitFor();
  const inbox = page.getByRole("table", { name: "Notifications sent by action groups" });
  const delivered = inbox.getByRole("row", { name: /webhook oncall-hook/ });
  await delivered.waitFor();
  assert.match(await delivered.innerText(), /Delivered/);
  await delivered.getByRole("button", { name: "webhook oncall-hook" }).click();
  const detail = page.getByRole("dialog", { name: "Notification" });
  const payload = detail.getByRole("region", { name: "Notification payload" });
  await payload.waitFor();
  const shown = JSON.parse(await payload.innerText());
  assert.deepEqual(shown, post.body, "the inbox shows exactly the body the receiver got");
  await page.keyboard.press("Escape");
  await detail.waitFor({ state: "hidden" });
  await s.done(page);
});

test("alert rules: a rule created in the portal fires on the seed's MakeDatabaseInaccessible and reaches the webhook; Disable turns it off", async () => {
  const kit = await SqlKit.start(s);
  const sub = s.inst.endpoints.subscriptionId;
  const agId = `/subscriptions/${sub}/resourceGroups/${RG}/providers/microsoft.insights/actionGroups/rule-hook`;
  await s.admin("PUT", `${agId}?api-version=2022-06-01`, { location: "Global", properties: { groupShortName: "rulehook", enabled: true, webhookReceivers: [{ name: "rule-hook", serviceUri: `${hookUrl}/rule`, useCommonAlertSchema: true }] } });
  const sc = await kit.scenario("rule");
  const page = await s.signedInPage();
  await go(page, "#/monitor/alert-rules");
  await page.getByRole("heading", { name: "Alert rules", level: 2 }).waitFor();
  await page.getByRole("button", { name: "Create", exact: true }).click();
  const form = page.getByRole("form", { name: "Create an alert rule" });
  await form.getByLabel("Alert rule name").fill("tde-inaccessible");
  await form.getByLabel("Resource group").selectOption({ label: RG });
  await form.getByLabel("Condition").selectOption({ label: "Administrative: Update SQL database (MakeDatabaseInaccessible and the rest of the TDE lifecycle)" });
  await form.getByLabel("Action group").selectOption({ label: "rule-hook" });
  await form.getByRole("button", { name: "Create", exact: true }).click();
  await page.getByRole("status").filter({ hasText: "Created alert rule tde-inaccessible." }).waitFor();
  const ruleId = `/subscriptions/${sub}/resourceGroups/${RG}/providers/Microsoft.Insights/activityLogAlerts/tde-inaccessible`;
  const rule = await s.admin("GET", `${ruleId}?api-version=2020-10-01`);
  assert.deepEqual(rule.properties.condition.allOf, [
    { field: "category", equals: "Administrative" },
    { field: "operationName", equals: "Microsoft.Sql/servers/databases/write" },
  ]);
  assert.deepEqual(rule.properties.scopes, [`/subscriptions/${sub}`]);
  assert.equal(rule.properties.actions.actionGroups[0].actionGroupId.toLowerCase(), agId.toLowerCase());
  assert.equal(rule.properties.enabled, true);

  const before = received.length;
  await kit.revoke(sc.vault, sc.principal);
  await kit.probe();
  await receivedAtLeast(before + 1);
  const fired = received.filter((r) => r.path === "/rule").at(-1)!;
  assert.equal(fired.body.data.essentials.alertRule, "tde-inaccessible");
  assert.equal(fired.body.data.alertContext.properties.eventName, "MakeDatabaseInaccessible");
  assert.equal(fired.body.data.alertContext.status, "Started");

  const row = page.getByRole("table", { name: "Activity log alert rules" }).getByRole("row", { name: /tde-inaccessible/ });
  await row.getByRole("button", { name: "Disable tde-inaccessible" }).click();
  await page.getByRole("status").filter({ hasText: "Disabled tde-inaccessible." }).waitFor();
  assert.equal((await s.admin("GET", `${ruleId}?api-version=2020-10-01`)).properties.enabled, false);
  await row.getByRole("button", { name: "Enable tde-inaccessible" }).waitFor();
  assert.deepEqual(await s.axe(page), [], "axe: alert rules have no WCAG 2.2 AA violations");
  await s.shot(page, "alert-rules");
  await s.done(page);
});

import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { MonitorClient } from "@azure/arm-monitor";
import { startInstance, request, clientToken, type Instance } from "./harness.js";
import { sdkClients } from "./clients.js";
import { azCli, azAvailable, type Az } from "./az.js";

/**
 * Action groups and activity-log alert rules managed by the unmodified @azure/arm-monitor 7 (direct mode:
 * `Microsoft.Insights/actionGroups` at 2021-09-01, lower-case `microsoft.insights/activityLogAlerts` at
 * 2017-04-01, sdk-compat.md §4.2) and by the real az 2.45 through the proxy (2022-06-01 / 2017-04-01).
 * Bad input always answers an Azure-shaped 4xx.
 */
let inst: Instance;
let monitor: MonitorClient;
let c: ReturnType<typeof sdkClients>;
let sub: string;
const RG = "alerts-arm-rg";

function rejectsWith(status: number, code: string) {
  return (e: { statusCode?: number; code?: string; message?: string }) => {
    assert.equal(e.code, code, e.message);
    assert.equal(e.statusCode, status, e.message);
    return true;
  };
}

const agId = (name: string, rg = RG) => `/subscriptions/${sub}/resourceGroups/${rg}/providers/microsoft.insights/actionGroups/${name}`;

before(async () => {
  inst = await startInstance();
  c = sdkClients(inst);
  sub = inst.endpoints.subscriptionId;
  monitor = new MonitorClient(c.credential, sub, { endpoint: inst.endpoints.armEndpoint, tlsOptions: { ca: inst.ca.toString() }, retryOptions: { maxRetries: 0 } });
  await c.rm.resourceGroups.createOrUpdate(RG, { location: "eastus" });
});
after(async () => {
  await inst.stop();
});

describe("action groups with @azure/arm-monitor", () => {
  test("create, read, list, update, enable a receiver, delete", async () => {
    const created = await monitor.actionGroups.createOrUpdate(RG, "tde-oncall", {
      location: "Global",
      groupShortName: "tdeoncall",
      enabled: true,
      emailReceivers: [{ name: "dba", emailAddress: "dba@contoso.example", useCommonAlertSchema: true }],
      smsReceivers: [{ name: "pager", countryCode: "1", phoneNumber: "5550100" }],
      webhookReceivers: [{ name: "hook", serviceUri: "http://127.0.0.1:9/alert", useCommonAlertSchema: true }],
      logicAppReceivers: [{ name: "fix", resourceId: `/subscriptions/${sub}/resourceGroups/${RG}/providers/Microsoft.Logic/workflows/fix`, callbackUrl: "https://logic.example/invoke?sig=x" }],
      automationRunbookReceivers: [
        { name: "rb", automationAccountId: "/subscriptions/x/resourceGroups/y/providers/Microsoft.Automation/automationAccounts/a", runbookName: "Fix", webhookResourceId: "/w", isGlobalRunbook: false, serviceUri: "https://rb.example/hook" },
      ],
      voiceReceivers: [{ name: "call", countryCode: "1", phoneNumber: "5550101" }],
      azureAppPushReceivers: [{ name: "app", emailAddress: "dba@contoso.example" }],
      itsmReceivers: [{ name: "itsm", workspaceId: "ws", connectionId: "conn", ticketConfiguration: "{}", region: "westeurope" }],
    });
    assert.equal(created.id, agId("tde-oncall"));
    assert.equal(created.type, "Microsoft.Insights/ActionGroups");
    assert.equal(created.location, "Global");
    assert.equal(created.groupShortName, "tdeoncall");
    assert.equal(created.emailReceivers![0]!.status, "Enabled");
    assert.equal(created.smsReceivers![0]!.status, "Enabled");
    assert.equal(created.logicAppReceivers![0]!.useCommonAlertSchema, false, "defaulted as Azure echoes it");
    assert.deepEqual(created.eventHubReceivers, []);

    const got = await monitor.actionGroups.get(RG, "TDE-ONCALL");
    assert.equal(got.name, "tde-oncall");
    assert.equal(got.automationRunbookReceivers![0]!.serviceUri, "https://rb.example/hook");
    const inRg: string[] = [];
    for await (const g of monitor.actionGroups.listByResourceGroup(RG)) inRg.push(g.name!);
    assert.deepEqual(inRg, ["tde-oncall"]);
    const inSub: string[] = [];
    for await (const g of monitor.actionGroups.listBySubscriptionId()) inSub.push(g.name!);
    assert.ok(inSub.includes("tde-oncall"));

    const patched = await monitor.actionGroups.update(RG, "tde-oncall", { enabled: false, tags: { team: "dba" } });
    assert.equal(patched.enabled, false);
    assert.deepEqual(patched.tags, { team: "dba" });
    assert.equal(patched.webhookReceivers![0]!.name, "hook", "PATCH keeps the receivers");

    await monitor.actionGroups.enableReceiver(RG, "tde-oncall", { receiverName: "dba" });
    await assert.rejects(monitor.actionGroups.enableReceiver(RG, "tde-oncall", { receiverName: "nobody" }), rejectsWith(404, "ReceiverNotFound"));

    await monitor.actionGroups.delete(RG, "tde-oncall");
    await assert.rejects(monitor.actionGroups.get(RG, "tde-oncall"), rejectsWith(404, "ResourceNotFound"));
    await monitor.actionGroups.delete(RG, "tde-oncall");
  });

  test("Azure's validation errors", async () => {
    const base = { location: "Global", groupShortName: "ok", enabled: true };
    await assert.rejects(monitor.actionGroups.createOrUpdate(RG, "bad", { ...base, groupShortName: "thirteen-char" }), (e: { code?: string; statusCode?: number; message?: string }) => {
      assert.equal(e.code, "GroupShortNameIsTooLong");
      assert.equal(e.statusCode, 400);
      assert.equal(e.message, "The action group short name 'thirteen-char' is too long. Please specify a short name with '12' or less characters.");
      return true;
    });
    await assert.rejects(monitor.actionGroups.createOrUpdate(RG, "bad", { ...base, groupShortName: "" }), rejectsWith(400, "GroupShortNameIsNullOrEmpty"));
    await assert.rejects(monitor.actionGroups.createOrUpdate(RG, "bad", { ...base, location: "eastus" }), rejectsWith(400, "LocationNotAvailableForResourceType"));
    await assert.rejects(monitor.actionGroups.createOrUpdate(RG, "bad", { ...base, webhookReceivers: [{ name: "h", serviceUri: "" }] }), rejectsWith(400, "WebhookReceiverServiceUriIsNullOrEmpty"));
    await assert.rejects(monitor.actionGroups.createOrUpdate(RG, "bad", { ...base, webhookReceivers: [{ name: "h", serviceUri: "ftp://x" }] }), rejectsWith(400, "InvalidServiceUri"));
    await assert.rejects(monitor.actionGroups.createOrUpdate(RG, "bad", { ...base, emailReceivers: [{ name: "e", emailAddress: "not-an-address" }] }), rejectsWith(400, "EmailAddressIsInvalid"));
    await assert.rejects(
      monitor.actionGroups.createOrUpdate(RG, "bad", { ...base, smsReceivers: [{ name: "s", countryCode: "1", phoneNumber: "1" }, { name: "S", countryCode: "1", phoneNumber: "2" }] }),
      rejectsWith(400, "ReceiverNameIsNotUnique"),
    );
    await assert.rejects(monitor.actionGroups.createOrUpdate("no-such-rg", "bad", base), rejectsWith(404, "ResourceGroupNotFound"));
    await assert.rejects(monitor.actionGroups.get(RG, "bad"), rejectsWith(404, "ResourceNotFound"));
  });
});

describe("activity-log alert rules with @azure/arm-monitor", () => {
  before(async () => {
    await monitor.actionGroups.createOrUpdate(RG, "rule-ag", { location: "Global", groupShortName: "ruleag", enabled: true, webhookReceivers: [{ name: "h", serviceUri: "http://127.0.0.1:9/h", useCommonAlertSchema: true }] });
  });

  test("create, read, list, disable, delete (lower-case microsoft.insights path)", async () => {
    const rule = await monitor.activityLogAlerts.createOrUpdate(RG, "tde-inaccessible", {
      location: "Global",
      scopes: [`/subscriptions/${sub}/resourceGroups/${RG}`],
      enabled: true,
      description: "TDE protector lost",
      condition: {
        allOf: [
          { field: "category", equals: "Administrative" },
          { field: "operationName", equals: "Microsoft.Sql/servers/databases/write" },
          { field: "properties.eventName", equals: "MakeDatabaseInaccessible" },
        ],
      },
      actions: { actionGroups: [{ actionGroupId: agId("rule-ag"), webhookProperties: { runbook: "fix" } }] },
    });
    assert.equal(rule.id, `/subscriptions/${sub}/resourceGroups/${RG}/providers/microsoft.insights/activityLogAlerts/tde-inaccessible`);
    assert.equal(rule.type, "Microsoft.Insights/ActivityLogAlerts");
    assert.equal(rule.location, "Global");
    assert.equal(rule.condition!.allOf.length, 3);
    assert.deepEqual(rule.actions!.actionGroups![0]!.webhookProperties, { runbook: "fix" });
    assert.equal((await monitor.activityLogAlerts.get(RG, "tde-inaccessible")).description, "TDE protector lost");
    const names: string[] = [];
    for await (const r of monitor.activityLogAlerts.listBySubscriptionId()) names.push(r.name!);
    assert.ok(names.includes("tde-inaccessible"));
    const rgNames: string[] = [];
    for await (const r of monitor.activityLogAlerts.listByResourceGroup(RG)) rgNames.push(r.name!);
    assert.deepEqual(rgNames, ["tde-inaccessible"]);
    const disabled = await monitor.activityLogAlerts.update(RG, "tde-inaccessible", { enabled: false });
    assert.equal(disabled.enabled, false);
    await monitor.activityLogAlerts.delete(RG, "tde-inaccessible");
    await assert.rejects(monitor.activityLogAlerts.get(RG, "tde-inaccessible"), rejectsWith(404, "ResourceNotFound"));
  });

  test("validation errors are 4xx with Azure's shape", async () => {
    const good = {
      location: "Global",
      scopes: [`/subscriptions/${sub}/resourceGroups/${RG}`],
      condition: { allOf: [{ field: "category", equals: "Administrative" }] },
      actions: { actionGroups: [{ actionGroupId: agId("rule-ag") }] },
    };
    await assert.rejects(monitor.activityLogAlerts.createOrUpdate(RG, "r", { ...good, condition: { allOf: [{ field: "color", equals: "red" }, { field: "category", equals: "Administrative" }] } }), rejectsWith(400, "UnsupportedCondition"));
    await assert.rejects(monitor.activityLogAlerts.createOrUpdate(RG, "r", { ...good, condition: { allOf: [{ field: "status", equals: "Started" }] } }), rejectsWith(400, "UnsupportedCondition"));
    await assert.rejects(monitor.activityLogAlerts.createOrUpdate(RG, "r", { ...good, condition: { allOf: [{ field: "category", equals: "Gossip" }] } }), rejectsWith(400, "UnsupportedCondition"));
    await assert.rejects(monitor.activityLogAlerts.createOrUpdate(RG, "r", { ...good, scopes: [] }), rejectsWith(400, "BadRequest"));
    await assert.rejects(monitor.activityLogAlerts.createOrUpdate(RG, "r", { ...good, scopes: ["/subscriptions/00000000-0000-0000-0000-000000000000"] }), rejectsWith(400, "BadRequest"));
    await assert.rejects(monitor.activityLogAlerts.createOrUpdate(RG, "r", { ...good, actions: { actionGroups: [{ actionGroupId: agId("missing-ag") }] } }), rejectsWith(400, "BadRequest"));
    await assert.rejects(monitor.activityLogAlerts.createOrUpdate(RG, "r", { ...good, location: "westeurope" }), rejectsWith(400, "LocationNotAvailableForResourceType"));
  });

  test("malformed bodies never make a 500", async () => {
    const token = await clientToken(inst, "https://management.azure.com/.default");
    const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const base = `/subscriptions/${sub}/resourceGroups/${RG}/providers/microsoft.insights`;
    const bodies: [string, string][] = [
      ["activityLogAlerts/x", "{not json"],
      ["activityLogAlerts/x", "[]"],
      ["activityLogAlerts/x", JSON.stringify({ location: "Global", properties: "x" })],
      ["activityLogAlerts/x", JSON.stringify({ location: "Global", properties: { scopes: "x", condition: [] } })],
      ["activityLogAlerts/x", JSON.stringify({ location: "Global", properties: { scopes: [`/subscriptions/${sub}`], condition: { allOf: [1, null] } } })],
      ["activityLogAlerts/x", JSON.stringify({ location: "Global", properties: { scopes: [`/subscriptions/${sub}`], condition: { allOf: [{ field: "category", equals: "Administrative" }, { anyOf: [] }] } } })],
      ["activityLogAlerts/x", JSON.stringify({ location: "Global", properties: { scopes: [`/subscriptions/${sub}`], condition: { allOf: [{ field: "category", equals: 5 }] } } })],
      ["activityLogAlerts/x", JSON.stringify({ location: "Global", properties: { scopes: [`/subscriptions/${sub}`], condition: { allOf: [{ field: "category", equals: "Administrative", containsAny: ["x"] }] } } })],
      ["activityLogAlerts/x", JSON.stringify({ location: "Global", properties: { scopes: [`/subscriptions/${sub}`], condition: { allOf: [{ field: "category", equals: "Administrative" }] }, actions: { actionGroups: [{}] } } })],
      ["actionGroups/x", JSON.stringify({ location: 7, properties: {} })],
      ["actionGroups/x", JSON.stringify({ location: "Global" })],
      ["actionGroups/x", JSON.stringify({ location: "Global", properties: { groupShortName: 12 } })],
      ["actionGroups/x", JSON.stringify({ location: "Global", properties: { groupShortName: "a", emailReceivers: {} } })],
      ["actionGroups/x", JSON.stringify({ location: "Global", properties: { groupShortName: "a", emailReceivers: ["x"] } })],
      ["actionGroups/x", JSON.stringify({ location: "Global", properties: { groupShortName: "a", webhookReceivers: [{ name: "a", serviceUri: "http://x", useCommonAlertSchema: "yes" }] } })],
      ["actionGroups/x", JSON.stringify({ location: "Global", properties: { groupShortName: "a", automationRunbookReceivers: [{ name: "a", automationAccountId: "a", runbookName: "b", webhookResourceId: "c", isGlobalRunbook: "no" }] } })],
      ["actionGroups/bad%3Fname", JSON.stringify({ location: "Global", properties: { groupShortName: "a" } })],
    ];
    for (const [p, body] of bodies) {
      const res = await request(inst, "PUT", `${base}/${p}?api-version=2021-09-01`, { headers, body });
      assert.ok(res.status >= 400 && res.status < 500, `${p} ${body}: ${res.status} ${res.text}`);
      assert.equal(typeof res.json?.error?.code, "string", res.text);
      assert.equal(typeof res.json?.error?.message, "string", res.text);
    }
    const patch = await request(inst, "PATCH", `${base}/actionGroups/nope?api-version=2021-09-01`, { headers, body: "{}" });
    assert.equal(patch.status, 404);
    const post = await request(inst, "POST", `${base}/activityLogAlerts?api-version=2017-04-01`, { headers, body: "{}" });
    assert.ok(post.status >= 400 && post.status < 500, post.text);
  });
});

describe("the real az 2.45 through the proxy", { skip: !azAvailable() && "az is not installed" }, () => {
  let az: Az;
  const ok = async (...args: string[]) => {
    const r = await az(...args);
    assert.equal(r.code, 0, `az ${args.join(" ")}\n${r.stderr}`);
    return r;
  };
  before(async () => {
    az = azCli(inst);
    const ep = inst.endpoints;
    assert.equal((await az("login", "--service-principal", "-u", ep.clientId, "-p", ep.clientSecret, "--tenant", ep.tenantId, "-o", "none")).code, 0);
  });

  test("az monitor action-group create/show/list/update/delete", async () => {
    const created = await ok(
      "monitor", "action-group", "create", "-g", RG, "-n", "az-oncall-group",
      "--action", "webhook", "tdehook", "https://hooks.example/tde", "usecommonalertschema",
      "--action", "email", "dba", "dba@contoso.example",
      "--action", "sms", "pager", "1", "5550100",
      "-o", "json",
    );
    assert.equal(created.json.groupShortName, "az-oncall-gr", "az defaults the short name to the first 12 characters");
    assert.equal(created.json.location, "Global");
    const hook = created.json.webhookReceivers[0];
    assert.deepEqual([hook.name, hook.serviceUri, hook.useCommonAlertSchema, hook.useAadAuth], ["tdehook", "https://hooks.example/tde", true, false]);
    assert.equal(created.json.emailReceivers[0].status, "Enabled");
    const shown = await ok("monitor", "action-group", "show", "-g", RG, "-n", "az-oncall-group", "--query", "smsReceivers[0].phoneNumber", "-o", "tsv");
    assert.equal(shown.stdout.trim(), "5550100");
    const listed = await ok("monitor", "action-group", "list", "-g", RG, "--query", "[].name", "-o", "json");
    assert.ok(listed.json.includes("az-oncall-group"));
    const updated = await ok("monitor", "action-group", "update", "-g", RG, "-n", "az-oncall-group", "--short-name", "azoncall", "--add-action", "logicapp", "fix", `/subscriptions/${sub}/resourceGroups/${RG}/providers/Microsoft.Logic/workflows/fix`, "https://logic.example/cb", "usecommonalertschema", "-o", "json");
    assert.equal(updated.json.groupShortName, "azoncall");
    assert.equal(updated.json.logicAppReceivers[0].callbackUrl, "https://logic.example/cb");
    const tooLong = await az("monitor", "action-group", "create", "-g", RG, "-n", "az-bad", "--short-name", "far-too-long-name");
    assert.equal(tooLong.code, 1);
    assert.match(tooLong.stderr, /\(GroupShortNameIsTooLong\) The action group short name 'far-too-long-name' is too long/);
    await ok("monitor", "action-group", "delete", "-g", RG, "-n", "az-oncall-group");
    const gone = await az("monitor", "action-group", "show", "-g", RG, "-n", "az-oncall-group");
    assert.equal(gone.code, 3);
    assert.match(gone.stderr, /ResourceNotFound/);
  });

  test("az monitor activity-log alert create, action-group add, update, delete", async () => {
    await ok("monitor", "action-group", "create", "-g", RG, "-n", "az-ag", "--action", "webhook", "h", "https://hooks.example/h", "usecommonalertschema", "-o", "none");
    const created = await ok(
      "monitor", "activity-log", "alert", "create", "-g", RG, "-n", "az-tde-rule",
      "--condition", "category=Administrative and operationName=Microsoft.Sql/servers/databases/write and properties.eventName=MakeDatabaseInaccessible",
      "--description", "TDE protector lost",
      "-o", "json",
    );
    assert.equal(created.json.location, "Global");
    assert.deepEqual(created.json.scopes, [`/subscriptions/${sub}/resourceGroups/${RG}`], "az scopes the rule to the group by default");
    assert.deepEqual(
      created.json.condition.allOf.map((l: { field: string; equals: string }) => `${l.field}=${l.equals}`).sort(),
      ["category=Administrative", "operationName=Microsoft.Sql/servers/databases/write", "properties.eventName=MakeDatabaseInaccessible"],
    );
    const added = await ok("monitor", "activity-log", "alert", "action-group", "add", "-g", RG, "-n", "az-tde-rule", "-a", "az-ag", "-w", "runbook=fix", "team=dba", "-o", "json");
    assert.equal(added.json.actions.actionGroups.length, 1);
    assert.equal(added.json.actions.actionGroups[0].actionGroupId.toLowerCase(), agId("az-ag").toLowerCase());
    assert.deepEqual(added.json.actions.actionGroups[0].webhookProperties, { runbook: "fix", team: "dba" });
    const disabled = await ok("monitor", "activity-log", "alert", "update", "-g", RG, "-n", "az-tde-rule", "--enabled", "false", "-o", "json");
    assert.equal(disabled.json.enabled, false);
    const listed = await ok("monitor", "activity-log", "alert", "list", "-g", RG, "--query", "[].name", "-o", "json");
    assert.deepEqual(listed.json, ["az-tde-rule"]);
    const badCondition = await az("monitor", "activity-log", "alert", "create", "-g", RG, "-n", "az-bad-rule", "--condition", "flavour=vanilla");
    assert.equal(badCondition.code, 1);
    assert.match(badCondition.stderr, /\(UnsupportedCondition\)/);
    await ok("monitor", "activity-log", "alert", "delete", "-g", RG, "-n", "az-tde-rule");
    assert.equal((await az("monitor", "activity-log", "alert", "show", "-g", RG, "-n", "az-tde-rule")).code, 3);
  });
});

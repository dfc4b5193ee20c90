import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { ManualClock } from "../src/platform/index.js";
import { tempDir } from "./harness.js";
import { HttpReceiver, SmtpReceiver, seedEvent, sleep, waitFor } from "./alerts-kit.js";
import { bootStack, type Stack } from "./alerts-stack.js";

/**
 * Delivery, in-process: events appended to a real Activity Log are matched against rules managed through
 * the real ARM surface and delivered to a real HTTP receiver and a real SMTP server. Payload shapes follow
 * azure-sql-tde.md §4.6 (common alert schema) and activity-log-alerts-webhook.md (legacy). Ends with a
 * restart of the component on the same data dir while a receiver is down.
 */
const RG = "alerts-rg";
const clock = new ManualClock(Date.UTC(2026, 10, 28, 9, 0, 0));
const dataDir = tempDir("alerts-delivery");
const masterKey = randomBytes(32);
const hooks = new HttpReceiver();
const flaky = new HttpReceiver();
const smtp = new SmtpReceiver();
let s: Stack;

const rgPath = () => `/subscriptions/${s.sub}/resourceGroups/${RG}`;
const agId = (name: string) => `${rgPath()}/providers/microsoft.insights/actionGroups/${name}`;
const rulePath = (name: string) => `${rgPath()}/providers/microsoft.insights/activityLogAlerts/${name}?api-version=2017-04-01`;
const ev = (eventName: string, status: "Started" | "Succeeded" | "Failed", extra: { database?: string; server?: string; managed?: boolean } = {}) =>
  seedEvent({ subscriptionId: s.sub, tenantId: s.tenantId, rg: RG, server: extra.server ?? "srv1", database: extra.database ?? "db1", eventName, status, managed: extra.managed ?? false });

async function put(p: string, body: unknown) {
  const res = await s.call("PUT", p, body);
  assert.ok(res.status === 200 || res.status === 201, `${p}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

async function actionGroup(name: string, properties: Record<string, unknown>) {
  return put(`${agId(name)}?api-version=2022-06-01`, { location: "Global", properties: { groupShortName: name.slice(0, 12), enabled: true, ...properties } });
}

async function rule(name: string, allOf: unknown[], groups: { actionGroupId: string; webhookProperties?: Record<string, string> }[], props: Record<string, unknown> = {}) {
  return put(rulePath(name), { location: "global", properties: { scopes: [rgPath()], condition: { allOf }, actions: { actionGroups: groups }, enabled: true, ...props } });
}

const sqlWrite = [
  { field: "category", equals: "Administrative" },
  { field: "operationName", equals: "Microsoft.Sql/servers/databases/write" },
];

before(async () => {
  await hooks.start();
  await flaky.start();
  await smtp.start();
  s = await bootStack({ dataDir, masterKey, clock, smtpUrl: smtp.url });
  await put(`${rgPath()}?api-version=2021-04-01`, { location: "eastus" });
  await actionGroup("ops-ag", {
    webhookReceivers: [
      { name: "common", serviceUri: `${hooks.url}/common`, useCommonAlertSchema: true },
      { name: "legacy", serviceUri: `${hooks.url}/legacy`, useCommonAlertSchema: false },
    ],
    logicAppReceivers: [{ name: "fix-it", resourceId: `${rgPath()}/providers/Microsoft.Logic/workflows/fix-it`, callbackUrl: `${hooks.url}/logicapp?sig=TOPSECRET`, useCommonAlertSchema: true }],
    automationRunbookReceivers: [
      {
        name: "restore",
        automationAccountId: `${rgPath()}/providers/Microsoft.Automation/automationAccounts/ops`,
        runbookName: "Restore-KeyAccess",
        webhookResourceId: `${rgPath()}/providers/Microsoft.Automation/automationAccounts/ops/webhooks/alert`,
        isGlobalRunbook: false,
        serviceUri: `${hooks.url}/runbook`,
        useCommonAlertSchema: true,
      },
    ],
    azureFunctionReceivers: [{ name: "fn", functionAppResourceId: `${rgPath()}/providers/Microsoft.Web/sites/fn`, functionName: "OnAlert", httpTriggerUrl: `${hooks.url}/function`, useCommonAlertSchema: false }],
    emailReceivers: [{ name: "oncall", emailAddress: "oncall@contoso.example", useCommonAlertSchema: true }],
    smsReceivers: [{ name: "pager", countryCode: "1", phoneNumber: "5550100" }],
    voiceReceivers: [{ name: "phone", countryCode: "1", phoneNumber: "5550101" }],
    azureAppPushReceivers: [{ name: "app", emailAddress: "oncall@contoso.example" }],
    itsmReceivers: [{ name: "tickets", workspaceId: "ws-1", connectionId: "conn-1", ticketConfiguration: '{"WorkItemType":"Incident"}', region: "westeurope" }],
  });
  await rule("tde-access", [...sqlWrite, { anyOf: [{ field: "properties.eventName", equals: "MakeDatabaseInaccessible" }, { field: "properties.eventName", equals: "MakeDatabaseAccessible" }] }], [
    { actionGroupId: agId("ops-ag"), webhookProperties: { runbook: "restore-access", team: "dba" } },
  ], { description: "TDE protector access" });
});

after(async () => {
  await s.stop();
  await hooks.stop();
  await flaky.stop();
  await smtp.stop();
});

describe("a matching event", () => {
  let eventDataId: string;

  before(async () => {
    eventDataId = (await s.activityLog.append(ev("MakeDatabaseInaccessible", "Started"))).data.eventDataId;
  });

  test("reaches a common-schema webhook with Azure's essentials and alert context", async () => {
    const got = await hooks.first("/common", eventDataId);
    const body = got.body;
    assert.equal(got.headers["content-type"], "application/json; charset=utf-8");
    assert.equal(body.schemaId, "azureMonitorCommonAlertSchema");
    const e = body.data.essentials;
    assert.equal(e.alertRule, "tde-access");
    assert.equal(e.alertRuleId.toLowerCase(), rulePath("tde-access").split("?")[0]!.toLowerCase());
    assert.equal(e.severity, "Sev4");
    assert.equal(e.signalType, "Activity Log");
    assert.equal(e.monitorCondition, "Fired");
    assert.equal(e.monitoringService, "Activity Log - Administrative");
    assert.deepEqual(e.alertTargetIDs, [`/subscriptions/${s.sub}/resourcegroups/${RG}/providers/microsoft.sql/servers/srv1/databases/db1`]);
    assert.deepEqual(e.configurationItems, ["db1"]);
    assert.equal(e.description, "TDE protector access");
    assert.equal(e.essentialsVersion, "1.0");
    assert.match(e.alertId, new RegExp(`^/subscriptions/${s.sub}/providers/Microsoft.AlertsManagement/alerts/[0-9a-f-]{36}$`));
    assert.match(e.firedDateTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$/);
    const c = body.data.alertContext;
    assert.equal(c.operationName, "Microsoft.Sql/servers/databases/write", "a plain string, not {value, localizedValue}");
    assert.equal(c.status, "Started");
    assert.equal(c.eventSource, "Administrative");
    assert.equal(c.eventDataId, eventDataId);
    assert.equal(typeof c.claims, "string", "claims is a JSON string in the alert context");
    assert.match(c.eventTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}\+00:00$/);
    assert.equal(c.properties.eventName, "MakeDatabaseInaccessible");
    assert.deepEqual(body.data.customProperties, { runbook: "restore-access", team: "dba" });
  });

  test("reaches a legacy webhook as Microsoft.Insights/activityLogs with the webhook properties", async () => {
    const body = (await hooks.first("/legacy", eventDataId)).body;
    assert.equal(body.schemaId, "Microsoft.Insights/activityLogs");
    assert.equal(body.data.status, "Activated");
    const a = body.data.context.activityLog;
    assert.equal(a.eventSource, "Administrative");
    assert.equal(a.operationName, "Microsoft.Sql/servers/databases/write");
    assert.equal(a.resourceId, `/subscriptions/${s.sub}/resourceGroups/${RG}/providers/Microsoft.Sql/servers/srv1/databases/db1`);
    assert.equal(a.resourceProviderName, "Microsoft.Sql");
    assert.equal(a.resourceType, "Microsoft.Sql/servers/databases");
    assert.equal(a.properties.eventName, "MakeDatabaseInaccessible");
    assert.deepEqual(body.data.properties, { runbook: "restore-access", team: "dba" });
    // The function receiver asked for the legacy payload too.
    await waitFor("the function receiver", () => hooks.forEvent("/function", eventDataId).length);
    assert.equal(hooks.forEvent("/function", eventDataId)[0]!.body.schemaId, "Microsoft.Insights/activityLogs");
  });

  test("calls the logic app and the runbook at their URLs: the auto-remediation hook", async () => {
    const logic = await hooks.first("/logicapp", eventDataId);
    assert.equal(logic.path, "/logicapp?sig=TOPSECRET", "the callback URL is called as given");
    assert.equal(logic.body.schemaId, "azureMonitorCommonAlertSchema");
    await waitFor("the runbook", () => hooks.forEvent("/runbook", eventDataId).length);
  });

  test("sends one readable email naming the database, server, event and next step", async () => {
    const mail = await waitFor("the email", () => smtp.to("oncall@contoso.example").find((m) => m.text.includes(eventDataId) || m.subject.includes("MakeDatabaseInaccessible Started")));
    assert.match(mail.from, /azure-noreply@microsoft\.com/);
    assert.match(mail.subject, /MakeDatabaseInaccessible Started/);
    assert.match(mail.subject, /database 'db1' on server 'srv1'/);
    assert.match(mail.text, /lost access to its Azure Key Vault key/);
    assert.match(mail.text, /inside the auto-heal window \(30 minutes, until 2026-11-28T09:30:00\.000Z\)/);
    assert.match(mail.text, /heals by itself/);
    assert.match(mail.text, /40613/);
  });

  test("keeps sms, voice, push and ITSM notifications in the outbox, saying why", async () => {
    const rows = await waitFor("every receiver's row", async () => {
      const r = await s.alerts.outbox({ eventDataId });
      return r.length === 10 && r;
    });
    const byKind = new Map(rows.map((r) => [r.receiver.kind, r]));
    for (const kind of ["sms", "voice", "azureAppPush", "itsm"]) {
      const r = byKind.get(kind)!;
      assert.equal(r.status, "StoredLocally", kind);
      assert.match(r.detail!, /cannot be reached from tdekv/);
      assert.ok(r.message, `${kind} keeps its message`);
    }
    assert.equal(byKind.get("sms")!.receiver.target, "+1 5550100");
    assert.match((byKind.get("sms")!.message as { text: string }).text, /^ops-ag: MakeDatabaseInaccessible Started on database 'db1'/);
    assert.ok((byKind.get("sms")!.message as { text: string }).text.length <= 160);
    const delivered = await waitFor("the sends", async () => {
      const r = (await s.alerts.outbox({ eventDataId })).filter((x) => x.status === "Delivered");
      return r.length === 6 && r;
    });
    assert.deepEqual(delivered.map((r) => r.receiver.kind).sort(), ["automationRunbook", "azureFunction", "email", "logicApp", "webhook", "webhook"]);
    const logic = delivered.find((r) => r.receiver.kind === "logicApp")!;
    assert.equal(logic.receiver.target, `${hooks.url}/logicapp?sig=***`, "the outbox masks URL secrets");
    // Exactly once per receiver.
    for (const path of ["/common", "/legacy", "/logicapp", "/runbook", "/function"]) assert.equal(hooks.forEvent(path, eventDataId).length, 1, path);
  });
});

describe("rules that do not match send nothing", () => {
  test("other scope, other status, a disabled rule and a disabled action group", async () => {
    await actionGroup("nomatch-ag", { webhookReceivers: [{ name: "nomatch", serviceUri: `${hooks.url}/nomatch`, useCommonAlertSchema: true }] });
    await actionGroup("off-ag", { enabled: false, webhookReceivers: [{ name: "off", serviceUri: `${hooks.url}/off`, useCommonAlertSchema: true }] });
    await put(rulePath("other-scope"), { location: "Global", properties: { scopes: [`/subscriptions/${s.sub}/resourceGroups/other-rg`], condition: { allOf: sqlWrite }, actions: { actionGroups: [{ actionGroupId: agId("nomatch-ag") }] } } });
    await put(rulePath("other-database"), { location: "Global", properties: { scopes: [`${rgPath()}/providers/Microsoft.Sql/servers/srv1/databases/db10`], condition: { allOf: sqlWrite }, actions: { actionGroups: [{ actionGroupId: agId("nomatch-ag") }] } } });
    await rule("only-succeeded", [...sqlWrite, { field: "status", equals: "Succeeded" }], [{ actionGroupId: agId("nomatch-ag") }]);
    await rule("disabled-rule", sqlWrite, [{ actionGroupId: agId("nomatch-ag") }], { enabled: false });
    await rule("disabled-group", sqlWrite, [{ actionGroupId: agId("off-ag") }]);
    const { eventDataId } = (await s.activityLog.append(ev("MakeDatabaseInaccessible", "Started", { database: "db2" }))).data;
    await waitFor("the matching rule's webhook", () => hooks.forEvent("/common", eventDataId).length);
    // Every rule is evaluated in the same pass that enqueued the matching one: the outbox is final here.
    const rows = await s.alerts.outbox({ eventDataId });
    assert.deepEqual([...new Set(rows.map((r) => r.alert.alertRule))], ["tde-access"]);
    assert.equal(hooks.at("/nomatch").length + hooks.at("/off").length, 0);
  });

  test("an event of another category or operation", async () => {
    const { eventDataId } = (await s.activityLog.append({ ...ev("SomethingElse", "Started"), operationName: "Microsoft.Sql/servers/write" })).data;
    const { eventDataId: marker } = (await s.activityLog.append(ev("MakeDatabaseAccessible", "Started", { database: "db3" }))).data;
    await waitFor("the later matching event", () => hooks.forEvent("/common", marker).length);
    assert.deepEqual(await s.alerts.outbox({ eventDataId }), [], "events are processed in order, so the earlier one was skipped");
  });
});

describe("conditions", () => {
  test("containsAny, anyOf and properties.* select Resource Health events; their payload says Resource Health", async () => {
    const dbId = `${rgPath()}/providers/Microsoft.Sql/servers/srv1/databases/db1`;
    await actionGroup("health-ag", { webhookReceivers: [{ name: "health", serviceUri: `${hooks.url}/health`, useCommonAlertSchema: true }] });
    await put(rulePath("db1-health"), {
      location: "Global",
      properties: {
        scopes: [dbId],
        condition: {
          allOf: [
            { field: "category", equals: "ResourceHealth" },
            { field: "properties.currentHealthStatus", containsAny: ["Unavailable", "Degraded"] },
            { anyOf: [{ field: "status", equals: "Active" }, { field: "status", equals: "In Progress" }] },
          ],
        },
        actions: { actionGroups: [{ actionGroupId: agId("health-ag") }] },
      },
    });
    const health = (current: string, previous: string) => ({
      subscriptionId: s.sub,
      tenantId: s.tenantId,
      resourceId: dbId,
      category: "ResourceHealth" as const,
      operationName: "Microsoft.Resourcehealth/healthevent/Activated/action",
      eventName: "ResourceHealthEvent",
      status: "Active" as const,
      description: `Health status changed to ${current}`,
      caller: "Microsoft.ResourceHealth",
      properties: { title: "Database unavailable", details: null, currentHealthStatus: current, previousHealthStatus: previous, type: "Downtime", cause: "PlatformInitiated" },
    });
    const up = (await s.activityLog.append(health("Available", "Unavailable"))).data.eventDataId;
    const down = (await s.activityLog.append(health("unavailable", "Available"))).data.eventDataId;
    const body = (await hooks.first("/health", down)).body;
    assert.equal(body.data.essentials.monitoringService, "Resource Health");
    assert.equal(body.data.alertContext.eventSource, "ResourceHealth");
    assert.equal(body.data.alertContext.properties.currentHealthStatus, "unavailable");
    assert.equal(body.data.alertContext.caller, undefined, "Resource Health alerts carry no caller");
    assert.equal(body.data.customProperties, null, "no webhookProperties: customProperties is null");
    assert.deepEqual(await s.alerts.outbox({ eventDataId: up }), [], "Available matches neither value of containsAny");
  });
});

describe("email", () => {
  const mailFor = (subjectPart: string, db: string) => waitFor(`the email '${subjectPart}' for ${db}`, () => smtp.mails.find((m) => m.subject.includes(subjectPart) && m.subject.includes(`'${db}'`)));

  test("after the window: fix access and revalidate; tags are lost", async () => {
    await s.activityLog.append(ev("MakeDatabaseInaccessible", "Succeeded", { database: "db5" }));
    const m = await mailFor("MakeDatabaseInaccessible Succeeded", "db5");
    assert.match(m.text, /will no longer heal by itself/);
    assert.match(m.text, /az sql db tde key revalidate -g alerts-rg -s srv1 -d db5/);
    assert.match(m.text, /tags, point-in-time-restore history and failover-group links are gone/);
  });

  test("coming back, back online, and a failed revalidation", async () => {
    await s.activityLog.append(ev("MakeDatabaseAccessible", "Started", { database: "db6" }));
    await s.activityLog.append(ev("MakeDatabaseAccessible", "Succeeded", { database: "db6" }));
    await s.activityLog.append(ev("MakeDatabaseAccessible", "Failed", { database: "db7" }));
    assert.match((await mailFor("MakeDatabaseAccessible Started", "db6")).text, /coming back online[\s\S]*No action is needed now/);
    assert.match((await mailFor("MakeDatabaseAccessible Succeeded", "db6")).text, /is online again/);
    const failed = await mailFor("MakeDatabaseAccessible Failed", "db7");
    assert.match(failed.text, /Bringing the database 'db7' on server 'srv1' back online failed/);
    assert.match(failed.text, /Then revalidate the key/);
    // Per receiver, notifications arrive in event order.
    const order = smtp.mails.filter((m) => m.subject.includes("'db6'")).map((m) => m.subject.match(/MakeDatabaseAccessible (\w+)/)![1]);
    assert.deepEqual(order, ["Started", "Succeeded"]);
  });

  test("managed instances and any other event get sensible text", async () => {
    await put(rulePath("mi-rule"), {
      location: "Global",
      properties: { scopes: [rgPath()], condition: { allOf: [{ field: "category", equals: "Administrative" }, { field: "resourceType", equals: "Microsoft.Sql/managedInstances/databases" }] }, actions: { actionGroups: [{ actionGroupId: agId("ops-ag") }] } },
    });
    await s.activityLog.append(ev("MakeManagedDbInaccessible", "Started", { database: "midb", server: "mi1", managed: true }));
    await s.activityLog.append(ev("MakeManagedDatabaseRestored", "Succeeded", { database: "midb2", server: "mi1", managed: true }));
    const mi = await mailFor("MakeManagedDbInaccessible Started", "midb");
    assert.match(mi.subject, /database 'midb' on managed instance 'mi1'/);
    assert.match(mi.text, /inside the auto-heal window/);
    const generic = await mailFor("MakeManagedDatabaseRestored Succeeded", "midb2");
    assert.match(generic.text, /Review the event in the Activity Log/);
  });
});

describe("a receiver that is down", () => {
  test("never holds up other receivers, and gets its notification once it is back", async () => {
    await actionGroup("flaky-ag", {
      webhookReceivers: [
        { name: "flaky", serviceUri: `${flaky.url}/flaky`, useCommonAlertSchema: true },
        { name: "steady", serviceUri: `${hooks.url}/steady`, useCommonAlertSchema: true },
      ],
    });
    await rule("flaky-rule", [...sqlWrite, { field: "resourceGroup", equals: RG.toUpperCase() }], [{ actionGroupId: agId("flaky-ag") }]);
    await flaky.stop();
    const { eventDataId } = (await s.activityLog.append(ev("MakeDatabaseInaccessible", "Started", { database: "db8" }))).data;
    await waitFor("the steady receiver", () => hooks.forEvent("/steady", eventDataId).length);
    const failed = await waitFor("a failed attempt", async () => (await s.alerts.outbox({ eventDataId, receiverKind: "webhook" })).find((r) => r.receiver.name === "flaky" && r.attempts >= 1));
    assert.equal(failed.status, "Pending");
    assert.match(failed.detail!, /ECONNREFUSED; next attempt at/);
    // Back, but answering 503: still retried.
    await flaky.start();
    flaky.status = 503;
    clock.advance(1_000);
    await waitFor("a second attempt", async () => (await s.alerts.outbox({ eventDataId, receiverKind: "webhook" })).find((r) => r.receiver.name === "flaky" && r.attempts >= 2));
    flaky.status = 200;
    clock.advance(2_000);
    await waitFor("the flaky receiver", () => flaky.forEvent("/flaky", eventDataId).length);
    const row = (await s.alerts.outbox({ eventDataId, receiverKind: "webhook" })).find((r) => r.receiver.name === "flaky")!;
    const detail = (await s.alerts.notification(row.id))!;
    // Every attempt is recorded (a slow machine may fit in an extra retry, so only the shape is fixed).
    const outcomes = detail.attemptHistory.map((a) => `${a.outcome} ${a.detail}`);
    assert.equal(outcomes[0], "RetryableFailure ECONNREFUSED");
    assert.ok(outcomes.includes("RetryableFailure HTTP 503"), outcomes.join(", "));
    assert.equal(outcomes[outcomes.length - 1], "Delivered HTTP 200");
    assert.equal(outcomes.filter((o) => o.startsWith("Delivered")).length, 1);
    assert.equal(flaky.forEvent("/flaky", eventDataId).length, 1);
  });

  test("a hung receiver does not stop the next event reaching the others", async () => {
    flaky.status = 0;
    const first = (await s.activityLog.append(ev("MakeDatabaseInaccessible", "Started", { database: "db9" }))).data.eventDataId;
    const second = (await s.activityLog.append(ev("MakeDatabaseAccessible", "Started", { database: "db9" }))).data.eventDataId;
    await waitFor("both events at the steady receiver", () => hooks.forEvent("/steady", first).length && hooks.forEvent("/steady", second).length);
    assert.equal(flaky.forEvent("/flaky", first).length, 0, "the hung receiver is still holding the first one");
    // Cut the hung connection (a failed attempt, retried in 1 s), then let both through, in event order.
    await flaky.stop();
    flaky.status = 200;
    await flaky.start();
    await waitFor("the cut attempt", async () => (await s.alerts.outbox({ eventDataId: first, receiverKind: "webhook" })).find((r) => r.receiver.name === "flaky" && r.attempts >= 1));
    clock.advance(1_000);
    await waitFor("both events at the flaky receiver", () => flaky.forEvent("/flaky", first).length && flaky.forEvent("/flaky", second).length);
    const order = flaky.at("/flaky").map((r) => r.body.data.essentials.alertTargetIDs[0] + r.body.data.alertContext.properties.eventName).filter((x: string) => x.includes("/db9"));
    assert.deepEqual(order.map((x: string) => x.replace(/^.*db9/, "")), ["MakeDatabaseInaccessible", "MakeDatabaseAccessible"]);
  });
});

describe("an answer Azure does not retry", () => {
  test("a 500 or a 4xx other than 408/429 fails the notification at once; the outbox says why", async () => {
    const rejecting = new HttpReceiver();
    rejecting.status = 500;
    await rejecting.start();
    try {
      await actionGroup("reject-ag", { webhookReceivers: [{ name: "rejects", serviceUri: `${rejecting.url}/r`, useCommonAlertSchema: true }] });
      await rule("reject-rule", [...sqlWrite, { field: "properties.eventName", equals: "MakeDatabaseAccessible" }], [{ actionGroupId: agId("reject-ag") }]);
      const { eventDataId } = (await s.activityLog.append(ev("MakeDatabaseAccessible", "Failed", { database: "db12" }))).data;
      const row = await waitFor("the failed notification", async () => (await s.alerts.outbox({ eventDataId, receiverKind: "webhook" })).find((r) => r.receiver.name === "rejects" && r.status !== "Pending"));
      assert.equal(row.status, "Failed");
      assert.equal(row.attempts, 1);
      assert.equal(row.detail, "HTTP 500");
    } finally {
      await rejecting.stop();
    }
  });
});

describe("a stopped (manual) clock", () => {
  test("does not stop retries: a receiver that comes back is retried after its backoff in real time", async () => {
    await flaky.stop();
    const { eventDataId } = (await s.activityLog.append(ev("MakeDatabaseInaccessible", "Started", { database: "db10" }))).data;
    await waitFor("a failed attempt", async () => (await s.alerts.outbox({ eventDataId, receiverKind: "webhook" })).find((r) => r.receiver.name === "flaky" && r.attempts >= 1));
    await flaky.start();
    await flaky.first("/flaky", eventDataId);
  });
});

describe("the outbox API", () => {
  test("lists, filters, masks secrets, shows one notification with its attempts; 4xx on bad input", async () => {
    const list = await s.route("GET", "/_tdekv/alerts/outbox?receiverKind=logicApp&top=5");
    assert.equal(list!.status, 200);
    const value = (list!.body as { value: any[] }).value;
    assert.ok(value.length >= 1 && value.length <= 5);
    assert.ok(value.every((v) => v.receiver.kind === "logicApp" && !JSON.stringify(v).includes("TOPSECRET")));
    const one = await s.route("GET", `/_tdekv/alerts/outbox/${value[0].id}`);
    assert.equal(one!.status, 200);
    const detail = one!.body as any;
    assert.equal(detail.payload.schemaId, "azureMonitorCommonAlertSchema");
    assert.ok(detail.attemptHistory.length >= 1);
    const stored = await s.route("GET", "/_tdekv/alerts/outbox?status=storedlocally&receiverKind=sms");
    assert.ok((stored!.body as { value: any[] }).value.every((v) => v.status === "StoredLocally" && v.message.text));
    assert.equal((await s.route("GET", "/_tdekv/alerts/outbox", ""))!.status, 401);
    assert.equal((await s.route("GET", "/_tdekv/alerts/outbox?status=Sent"))!.status, 400);
    assert.equal((await s.route("GET", "/_tdekv/alerts/outbox?top=many"))!.status, 400);
    assert.equal((await s.route("GET", "/_tdekv/alerts/outbox/nope"))!.status, 404);
    assert.equal((await s.route("POST", "/_tdekv/alerts/outbox"))!.status, 405);
    assert.equal(await s.route("GET", "/_tdekv/other"), undefined, "other paths are not this route's");
  });
});

describe("restart", () => {
  test("a notification pending for a receiver that is down is delivered after a restart, once", async () => {
    await flaky.stop();
    const { eventDataId } = (await s.activityLog.append(ev("MakeDatabaseInaccessible", "Succeeded", { database: "db11" }))).data;
    await waitFor("a failed attempt", async () => (await s.alerts.outbox({ eventDataId, receiverKind: "webhook" })).find((r) => r.receiver.name === "flaky" && r.attempts >= 1));
    await s.stop();
    await flaky.start();
    clock.advance(60_000);
    s = await bootStack({ dataDir, masterKey, clock, smtpUrl: smtp.url });
    await waitFor("the flaky receiver after the restart", () => flaky.forEvent("/flaky", eventDataId).length);
    // A later event is dispatched by the new process too, and nothing earlier is dispatched again.
    const { eventDataId: later } = (await s.activityLog.append(ev("MakeDatabaseAccessible", "Succeeded", { database: "db11" }))).data;
    await waitFor("the later event", () => flaky.forEvent("/flaky", later).length);
    await sleep(100);
    assert.equal(flaky.forEvent("/flaky", eventDataId).length, 1);
    const rows = await s.alerts.outbox({ eventDataId, receiverKind: "webhook" });
    assert.equal(rows.filter((r) => r.receiver.name === "flaky").length, 1);
  });
});

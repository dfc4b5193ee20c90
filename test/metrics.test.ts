import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import https from "node:https";
import tls from "node:tls";
import type { Socket } from "node:net";
import { request } from "./harness.js";
import { Drill, RG } from "./lifecycle-kit.js";
import { HttpReceiver, waitFor } from "./alerts-kit.js";
import { escapeLabelValue, render } from "../src/metrics/index.js";

/**
 * Issue 11 §4, metrics: a real tdekv (manual clock, background probe off) serving Prometheus text at
 * GET /metrics on its direct host. A CMK server loses access for real (access policy removed), the probe and
 * the manual clock are driven through /_tdekv/*, and every assertion reads the exposition text through a
 * small parser that also checks the format. /metrics is refused through the proxy's Azure names.
 */

interface Series {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface Exposition {
  families: Map<string, { help: string; type: string }>;
  series: Series[];
}

const BASE_SUFFIXES = ["_bucket", "_sum", "_count"];

/** Parses text format 0.0.4 strictly enough to catch what Prometheus would reject. */
function parse(text: string): Exposition {
  assert.ok(text.endsWith("\n"), "exposition ends with a newline");
  const families = new Map<string, { help: string; type: string }>();
  const seen = new Set<string>();
  const series: Series[] = [];
  let current: string | undefined;
  for (const line of text.slice(0, -1).split("\n")) {
    const help = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (help) {
      assert.ok(!families.has(help[1]!), `HELP for ${help[1]} appears twice`);
      families.set(help[1]!, { help: help[2]!, type: "" });
      current = help[1];
      continue;
    }
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      assert.equal(type[1], current, `TYPE ${type[1]} follows its HELP`);
      families.get(type[1]!)!.type = type[2]!;
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `not a sample line: ${JSON.stringify(line)}`);
    const name = m[1]!;
    const labels: Record<string, string> = {};
    if (m[3]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/gy;
      let lm: RegExpExecArray | null;
      let consumed = 0;
      while ((lm = re.exec(m[3])) !== null) {
        assert.ok(!(lm[1]! in labels), `label ${lm[1]} twice in ${line}`);
        labels[lm[1]!] = lm[2]!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
        consumed = re.lastIndex;
        if (lm[3] === "") break;
      }
      assert.equal(consumed, m[3].length, `label set parses: ${line}`);
    }
    const family = families.has(name) ? name : BASE_SUFFIXES.map((s) => (name.endsWith(s) ? name.slice(0, -s.length) : "")).find((b) => b && families.get(b)?.type === "histogram");
    assert.ok(family && family === current, `sample ${name} has HELP and TYPE right before its family's samples`);
    const value = m[4] === "+Inf" ? Infinity : m[4] === "-Inf" ? -Infinity : Number(m[4]);
    assert.ok(!Number.isNaN(value) || m[4] === "NaN", `value of ${line}`);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    assert.ok(!seen.has(key), `duplicate series ${line}`);
    seen.add(key);
    series.push({ name, labels, value });
  }
  for (const [name, f] of families) assert.ok(f.type, `${name} has a TYPE`);
  return { families, series };
}

const pick = (e: Exposition, name: string, where: Record<string, string> = {}) =>
  e.series.filter((s) => s.name === name && Object.entries(where).every(([k, v]) => (s.labels[k] ?? "").toLowerCase() === v.toLowerCase()));
const one = (e: Exposition, name: string, where: Record<string, string> = {}): number | undefined => {
  const found = pick(e, name, where);
  assert.ok(found.length <= 1, `${name} ${JSON.stringify(where)} matches ${found.length} series`);
  return found[0]?.value;
};

let d: Drill;
let s: Awaited<ReturnType<Drill["scenario"]>>;
const retrying = new HttpReceiver();
const refusing = new HttpReceiver();

async function scrape(): Promise<Exposition> {
  const res = await request(d.inst, "GET", "/metrics");
  assert.equal(res.status, 200, res.text);
  assert.equal(res.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  return parse(res.text);
}

const serverId = () => `/subscriptions/${d.inst.endpoints.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.Sql/servers/${s.server}`;

before(async () => {
  retrying.status = 503;
  refusing.status = 400;
  await retrying.start();
  await refusing.start();
  d = await Drill.start();
  s = await d.scenario("metrics");
  const rg = `/subscriptions/${d.inst.endpoints.subscriptionId}/resourceGroups/${RG}`;
  const ag = `${rg}/providers/microsoft.insights/actionGroups/metrics-ag`;
  await d.admin("PUT", `${ag}?api-version=2022-06-01`, {
    location: "Global",
    properties: {
      groupShortName: "metrics",
      enabled: true,
      webhookReceivers: [
        { name: "retrying", serviceUri: `${retrying.url}/hook`, useCommonAlertSchema: true },
        { name: "refusing", serviceUri: `${refusing.url}/hook`, useCommonAlertSchema: true },
      ],
    },
  });
  await d.admin("PUT", `${rg}/providers/microsoft.insights/activityLogAlerts/metrics-rule?api-version=2017-04-01`, {
    location: "global",
    properties: {
      scopes: [rg],
      enabled: true,
      condition: {
        allOf: [
          { field: "category", equals: "Administrative" },
          { field: "operationName", equals: "Microsoft.Sql/servers/databases/write" },
          { field: "properties.eventName", equals: "MakeDatabaseInaccessible" },
          { field: "status", equals: "Started" },
        ],
      },
      actions: { actionGroups: [{ actionGroupId: ag }] },
    },
  });
});

after(async () => {
  await d?.inst.stop();
  await retrying.stop();
  await refusing.stop();
});

test("GET /metrics on the direct host needs no token and is valid text format", async () => {
  const e = await scrape();
  for (const name of [
    "tdekv_probe_duration_seconds",
    "tdekv_key_access_state",
    "tdekv_autoheal_window_minutes_left",
    "tdekv_outbox_depth",
    "tdekv_notifications_delivered_total",
    "tdekv_notifications_failed_total",
    "tdekv_lease_takeovers_total",
    "tdekv_probe_leases_held",
    "tdekv_fenced_writes_total",
    "tdekv_alert_redeliveries_total",
    "tdekv_alert_fenced_writes_total",
    "tdekv_node_info",
  ])
    assert.ok(e.families.has(name), name);
  assert.equal(e.families.get("tdekv_probe_duration_seconds")!.type, "histogram");
  assert.equal(e.families.get("tdekv_lease_takeovers_total")!.type, "counter");
  assert.equal(one(e, "tdekv_lease_takeovers_total"), 0);
  // One node: no takeovers, nothing fenced, nothing sent twice.
  for (const name of ["tdekv_fenced_writes_total", "tdekv_alert_redeliveries_total", "tdekv_alert_fenced_writes_total"]) assert.equal(one(e, name), 0, name);
  const info = pick(e, "tdekv_node_info");
  assert.equal(info.length, 1);
  assert.equal(info[0]!.value, 1);
  assert.equal(info[0]!.labels.store, process.env.TDEKV_TEST_STORE ? "postgres" : "sqlite");
  assert.ok(info[0]!.labels.node);
  assert.equal(one(e, "tdekv_outbox_depth"), 0);
  assert.equal(pick(e, "tdekv_autoheal_window_minutes_left").length, 0);
  // No secrets: the admin's client secret and the instance's tokens never appear.
  const text = (await request(d.inst, "GET", "/metrics")).text;
  assert.ok(!text.includes(d.inst.endpoints.clientSecret));
  const post = await request(d.inst, "POST", "/metrics", { body: "" });
  assert.equal(post.status, 405);
});

test("probes are timed by outcome, and the key access state follows a revoke", async () => {
  await d.probe();
  let e = await scrape();
  assert.equal(one(e, "tdekv_key_access_state", { server: serverId(), state: "Accessible" }), 1);
  assert.equal(one(e, "tdekv_key_access_state", { server: serverId(), state: "Inaccessible" }), 0);
  const ok = one(e, "tdekv_probe_duration_seconds_count", { outcome: "success" }) ?? 0;
  assert.ok(ok >= 1, "at least one successful probe counted");
  assert.equal(one(e, "tdekv_probe_duration_seconds_bucket", { outcome: "success", le: "+Inf" }), ok);

  await d.revoke(s.vault, s.principal);
  const pass = await d.probe();
  assert.deepEqual(pass.lost, [s.server]);
  e = await scrape();
  assert.equal(one(e, "tdekv_key_access_state", { server: serverId(), state: "Inaccessible" }), 1);
  assert.equal(one(e, "tdekv_key_access_state", { server: serverId(), state: "Accessible" }), 0);
  assert.equal(pick(e, "tdekv_key_access_state", { server: serverId() }).filter((x) => x.value === 1).length, 1, "exactly one current state");
  assert.ok((one(e, "tdekv_probe_duration_seconds_count", { outcome: "definitive_failure" }) ?? 0) >= 1);
  // Buckets are cumulative.
  const buckets = pick(e, "tdekv_probe_duration_seconds_bucket", { outcome: "definitive_failure" }).map((b) => b.value);
  assert.deepEqual(buckets, [...buckets].sort((a, b) => a - b));
});

test("minutes left in the auto-heal window follow the manual clock: 30, then 20 after 10 minutes", async () => {
  let e = await scrape();
  assert.equal(one(e, "tdekv_autoheal_window_minutes_left", { database: s.dbId }), 30);
  await d.advance("10m");
  e = await scrape();
  assert.equal(one(e, "tdekv_autoheal_window_minutes_left", { database: s.dbId }), 20);
  await d.advance("21m");
  e = await scrape();
  assert.equal(pick(e, "tdekv_autoheal_window_minutes_left", { database: s.dbId }).length, 0, "past the window: no longer listed");
  assert.equal(one(e, "tdekv_key_access_state", { server: serverId(), state: "Inaccessible" }), 1);
});

test("outbox depth and delivery counters follow the alert notifications", async () => {
  // The revoke fired the rule: the 503 receiver's notification stays Pending, the 400 one fails for good.
  let e = await waitFor("a pending notification and a failed one", async () => {
    const x = await scrape();
    return (one(x, "tdekv_outbox_depth") ?? 0) >= 1 && (one(x, "tdekv_notifications_failed_total") ?? 0) >= 1 && x;
  });
  assert.equal(one(e, "tdekv_outbox_depth"), 1);
  assert.equal(one(e, "tdekv_notifications_failed_total"), 1);
  assert.equal(one(e, "tdekv_notifications_delivered_total"), 0);
  retrying.status = 200;
  e = await waitFor("the pending notification delivered", async () => {
    const x = await scrape();
    return one(x, "tdekv_outbox_depth") === 0 && x;
  }, 60_000);
  assert.equal(one(e, "tdekv_notifications_delivered_total"), 1);
  assert.equal(one(e, "tdekv_notifications_failed_total"), 1);
});

/** GET /metrics through a CONNECT tunnel to an Azure name, as any proxied client would send it. */
function viaProxy(host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const c = http.request({ host: "127.0.0.1", port: d.inst.endpoints.proxyPort, method: "CONNECT", path: `${host}:443` });
    c.on("connect", (res, socket: Socket) => {
      if (res.statusCode !== 200) return reject(new Error(`CONNECT ${host}: ${res.statusCode}`));
      const req = https.request(
        { host, path: "/metrics", method: "GET", createConnection: () => tls.connect({ socket, servername: host, ca: d.inst.ca }) },
        (r) => {
          let body = "";
          r.on("data", (x: Buffer) => (body += x.toString()));
          r.on("end", () => {
            socket.destroy();
            resolve({ status: r.statusCode ?? 0, body });
          });
        },
      );
      req.on("error", reject);
      req.end();
    });
    c.on("error", reject);
    c.end();
  });
}

test("/metrics is not served through the proxy's Azure names", async () => {
  for (const host of ["management.azure.com", "login.microsoftonline.com", "kv-metrics.vault.azure.net"]) {
    const res = await viaProxy(host);
    assert.notEqual(res.status, 200, `${host}: ${res.status} ${res.body}`);
    if (host === "management.azure.com") assert.equal(JSON.parse(res.body).error.code, "NotFound", "ARM's own 404: the host stays ARM-only");
    assert.ok(!res.body.includes("tdekv_"), `${host} leaks metrics: ${res.body.slice(0, 200)}`);
  }
});

test("rendering escapes label values and HELP text, and refuses duplicate series", () => {
  assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  const text = render([{ name: "x_total", help: "line one\nback\\slash", type: "counter", samples: [{ labels: { id: '/s/"q"\\\n' }, value: 2 }] }]);
  assert.equal(text, '# HELP x_total line one\\nback\\\\slash\n# TYPE x_total counter\nx_total{id="/s/\\"q\\"\\\\\\n"} 2\n');
  assert.deepEqual(parse(text).series[0]!.labels, { id: '/s/"q"\\\n' });
  assert.throws(() => render([{ name: "x", help: "h", type: "gauge", samples: [{ value: 1 }, { value: 2 }] }]), /appears twice/);
  assert.throws(() => render([{ name: "bad-name", help: "h", type: "gauge", samples: [] }]), /invalid metric name/);
});

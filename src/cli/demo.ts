import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { resolveDataDir } from "../platform/index.js";
import { API, AzureRest, ChaosJournal, RestError, renderDiagnosis, runChaos, runDoctor, type Credentials, type DoctorReport } from "../doctor/index.js";
import { isRunning, readEndpoints } from "./instance.js";

/**
 * `tdekv demo`: one key-access incident, end to end, on tdekv's manual clock (or a --time-scale clock): a CMK
 * server with a database and an alert; key access broken; Inaccessible, the event and the alert; doctor; the
 * fix; the heal. Then again past the 30-minute window, where only a revalidation helps. Every step prints the
 * az command a person would type; the demo itself calls the same REST APIs, so az need not be installed.
 */

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "bin", "tdekv.js");

interface DemoFlags {
  dataDir?: string;
  keep?: boolean;
  step?: boolean;
}

class Narrator {
  private n = 0;
  constructor(private readonly interactive: boolean) {}
  async step(title: string, az: string[] = []): Promise<void> {
    if (this.interactive && this.n > 0) await pause();
    this.n++;
    process.stdout.write(`\n${String(this.n).padStart(2)}. ${title}\n`);
    for (const a of az) process.stdout.write(`      $ ${a}\n`);
  }
  say(text: string): void {
    process.stdout.write(text.split("\n").map((l) => `      ${l}`).join("\n") + "\n");
  }
  section(title: string): void {
    process.stdout.write(`\n== ${title} ${"=".repeat(Math.max(0, 96 - title.length))}\n`);
  }
}

function pause(): Promise<void> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
  return new Promise((resolve) =>
    rl.question("      (Enter for the next step)", () => {
      rl.close();
      resolve();
    }),
  );
}

/** A local webhook receiver standing in for the on-call team's endpoint. */
async function receiver(): Promise<{ url: string; got: unknown[]; close(): void }> {
  const got: unknown[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      try {
        got.push(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      } catch {
        got.push(Buffer.concat(chunks).toString("utf8"));
      }
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/oncall`, got, close: () => server.close() };
}

/** Starts a private tdekv on a manual clock when none runs for the data dir. */
async function ensureInstance(flags: DemoFlags): Promise<{ dataDir: string; child?: ChildProcess }> {
  const given = flags.dataDir ?? process.env.TDEKV_DATA_DIR;
  if (given) {
    const dir = resolveDataDir(given);
    if (fs.existsSync(path.join(dir, "endpoints.json")) && (await isRunning(readEndpoints(dir)))) return { dataDir: dir };
  }
  const dataDir = given ? resolveDataDir(given) : fs.mkdtempSync(path.join(os.tmpdir(), "tdekv-demo-"));
  const child = spawn(process.execPath, [BIN, "start", "--data-dir", dataDir, "--port", "0", "--proxy-port", "0", "--tds-port", "0", "--clock", "manual", "--probe-interval", "3600", "--token-lifetime", "86400"], {
    stdio: ["ignore", "pipe", "pipe"],
    detached: !!flags.keep,
  });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (out.includes("tdekv is ready")) {
        clearInterval(timer);
        resolve();
      }
    }, 25);
    child.once("exit", (code) => {
      clearInterval(timer);
      reject(new Error(`tdekv exited with ${code}:\n${out}`));
    });
  });
  return { dataDir, child };
}

export async function demo(flags: DemoFlags): Promise<void> {
  const { dataDir, child } = await ensureInstance(flags);
  const hook = await receiver();
  const say = new Narrator(!!flags.step);
  try {
    const ep = readEndpoints(dataDir);
    const who: Credentials = { tenantId: ep.tenantId, clientId: ep.clientId, clientSecret: ep.clientSecret };
    const c = new AzureRest({ baseUrl: ep.armEndpoint, ca: fs.readFileSync(ep.caCertFile), credentials: who, admin: who });
    const clock = (await c.tdekv("GET", "/_tdekv/clock")) as { now: string; mode: string };
    const manual = clock.mode === "manual";
    if (!manual) {
      // A scaled clock (--time-scale) is fine if 31 minutes pass in about a minute or two.
      const t0 = Date.parse(clock.now);
      await new Promise((r) => setTimeout(r, 1000));
      const scale = (Date.parse(((await c.tdekv("GET", "/_tdekv/clock")) as { now: string }).now) - t0) / 1000;
      if (scale < 20) throw new Error(`the tdekv at ${dataDir} runs on ${scale < 1.5 ? "the system clock" : `a ${Math.round(scale)}x clock`}: the demo needs --clock manual or --time-scale 20 or more (or run tdekv demo without --data-dir: it starts its own)`);
    }
    const sfx = randomBytes(2).toString("hex");
    const sub = ep.subscriptionId;
    const rg = "demo-rg";
    const vault = `demo-kv-${sfx}`;
    const server = `demo-sql-${sfx}`;
    const rgId = `/subscriptions/${sub}/resourceGroups/${rg}`;
    const vaultId = `${rgId}/providers/Microsoft.KeyVault/vaults/${vault}`;
    const serverId = `${rgId}/providers/Microsoft.Sql/servers/${server}`;
    const dbId = `${serverId}/databases/demo-db`;
    const admin = JSON.parse(Buffer.from((await c.token("https://management.azure.com/.default")).split(".")[1]!, "base64url").toString("utf8")).oid as string;
    const probe = async () => (await c.tdekv("POST", "/_tdekv/health/probe", {})) as { failing: { server: string; code: string }[] };
    const status = async () => (await c.armOk("GET", `${dbId}?api-version=${API.sql}`)).properties.status as string;
    const events = async () => {
      const f = encodeURIComponent(`eventTimestamp ge '${new Date(Date.parse(clock.now) - 86_400_000).toISOString()}' and resourceId eq '${dbId}'`);
      const body = await c.armOk("GET", `/subscriptions/${sub}/providers/Microsoft.Insights/eventtypes/management/values?api-version=${API.insights}&$filter=${f}`);
      return ((body.value ?? []) as { category: { value: string }; eventName: { value: string }; status: { value: string }; eventTimestamp: string; description: string }[]).filter((e) => e.category.value === "Administrative").reverse();
    };
    const advance = async (by: string, minutes: number) => {
      if (manual) {
        await c.tdekv("POST", "/_tdekv/clock/advance", { by });
        return;
      }
      // A --time-scale clock: wait for it (the lifecycle runs on its own probe interval).
      const t0 = Date.parse(((await c.tdekv("GET", "/_tdekv/clock")) as { now: string }).now);
      for (;;) {
        await new Promise((r) => setTimeout(r, 1000));
        if (Date.parse(((await c.tdekv("GET", "/_tdekv/clock")) as { now: string }).now) - t0 >= minutes * 60_000) return;
      }
    };
    const doctor = async (): Promise<DoctorReport> => {
      const r = await runDoctor(c, { server, defaultSubscriptionId: sub });
      say.say(renderDiagnosis(r.servers[0]!));
      return r;
    };
    const showEvents = async () => say.say((await events()).map((e) => `${e.eventTimestamp}  ${e.eventName.value} ${e.status.value}: ${e.description}`).join("\n") || "(no events)");
    const waitAlert = async (n: number) => {
      for (let i = 0; i < 50 && hook.got.length < n; i++) await new Promise((r) => setTimeout(r, 100));
      const a = hook.got[n - 1] as { data?: { essentials?: { alertRule?: string; firedDateTime?: string }; alertContext?: { properties?: { eventName?: string }; status?: string } } } | undefined;
      say.say(a ? `alert received by ${hook.url}: rule ${a.data?.essentials?.alertRule}, ${a.data?.alertContext?.properties?.eventName ?? ""} ${a.data?.alertContext?.status ?? ""}, fired ${a.data?.essentials?.firedDateTime}` : "(no alert arrived)");
    };

    say.section(`tdekv demo: one key-access incident (data dir ${dataDir}, ${manual ? "manual clock: minutes pass on command" : "scaled clock"})`);
    await say.step("Set up a resource group, a key vault with soft delete and purge protection, and an RSA key", [
      `az group create -n ${rg} -l eastus`,
      `az keyvault create -g ${rg} -n ${vault} -l eastus --enable-purge-protection true`,
      `az keyvault key create --vault-name ${vault} -n tde-key --kty RSA --size 2048`,
    ]);
    await c.armOk("PUT", `/subscriptions/${sub}/resourcegroups/${rg}?api-version=${API.resources}`, { location: "eastus" });
    await c.armOk("PUT", `${vaultId}?api-version=${API.keyVault}`, {
      location: "eastus",
      properties: { tenantId: ep.tenantId, sku: { family: "A", name: "standard" }, accessPolicies: [{ tenantId: ep.tenantId, objectId: admin, permissions: { keys: ["all"] } }], enableSoftDelete: true, enablePurgeProtection: true },
    });
    const kid = (await c.vaultOk(vault, "POST", `/keys/tde-key/create?api-version=${API.keyVaultData}`, { kty: "RSA", key_size: 2048 })).key.kid as string;
    say.say(`key ${kid}`);

    await say.step("Create the SQL server and give it a managed identity (seed: Missing server identity)", [
      `az sql server create -g ${rg} -n ${server} -l eastus -u sqladmin -p '<password>'`,
      `az sql server update -g ${rg} -n ${server} --assign_identity`,
    ]);
    await c.armOk("PUT", `${serverId}?api-version=${API.sql}`, { location: "eastus", properties: { administratorLogin: "sqladmin", administratorLoginPassword: `Demo!${randomBytes(6).toString("hex")}Aa1` } });
    const principal = (await c.armOk("PATCH", `${serverId}?api-version=${API.sql}`, { identity: { type: "SystemAssigned" } })).identity.principalId as string;
    say.say(`principal ${principal}`);

    await say.step("Let the identity use the key: get, wrapKey, unwrapKey (seed: Missing permissions)", [`az keyvault set-policy -n ${vault} --object-id ${principal} --key-permissions get wrapKey unwrapKey`]);
    await c.armOk("PUT", `${vaultId}/accessPolicies/add?api-version=${API.keyVault}`, { properties: { accessPolicies: [{ tenantId: ep.tenantId, objectId: principal, permissions: { keys: ["get", "wrapKey", "unwrapKey"] } }] } });

    const keyName = `${vault}_tde-key_${kid.split("/").pop()}`;
    await say.step("Make the key the server's TDE protector, and create a database", [
      `az sql server key create -g ${rg} -s ${server} --kid ${kid}`,
      `az sql server tde-key set -g ${rg} -s ${server} --server-key-type AzureKeyVault --kid ${kid}`,
      `az sql db create -g ${rg} -s ${server} -n demo-db --tags owner=team-a`,
    ]);
    await c.armOk("PUT", `${serverId}/keys/${keyName}?api-version=${API.sqlKeys}`, { properties: { serverKeyType: "AzureKeyVault", uri: kid } });
    await c.armOk("PUT", `${serverId}/encryptionProtector/current?api-version=${API.sqlKeys}`, { properties: { serverKeyType: "AzureKeyVault", serverKeyName: keyName } });
    await c.armOk("PUT", `${dbId}?api-version=${API.sql}`, { location: "eastus", tags: { owner: "team-a" } });
    say.say(`database demo-db: ${await status()}`);

    await say.step("Alert the on-call team when a database loses its key (seed: Next steps, Action Groups)", [
      `az monitor action-group create -g ${rg} -n demo-oncall --short-name oncall --action webhook oncall ${hook.url} usecommonalertschema`,
      `az monitor activity-log alert create -g ${rg} -n demo-db-inaccessible --scope /subscriptions/${sub} --condition category=Administrative and operationName=Microsoft.Sql/servers/databases/write and properties.eventName=MakeDatabaseInaccessible and status=Started --action-group demo-oncall`,
    ]);
    let alerts = false;
    try {
      const ag = `${rgId}/providers/microsoft.insights/actionGroups/demo-oncall`;
      await c.armOk("PUT", `${ag}?api-version=2023-01-01`, { location: "Global", properties: { groupShortName: "oncall", enabled: true, webhookReceivers: [{ name: "oncall", serviceUri: hook.url, useCommonAlertSchema: true }] } });
      await c.armOk("PUT", `${rgId}/providers/microsoft.insights/activityLogAlerts/demo-db-inaccessible?api-version=2020-10-01`, {
        location: "Global",
        properties: {
          scopes: [`/subscriptions/${sub}`],
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
      alerts = true;
    } catch (err) {
      say.say(`(alerts are not available in this tdekv: ${(err as Error).message}; the demo goes on without them)`);
    }

    say.section("Incident 1: permissions revoked, fixed inside the 30-minute window");
    const journal = new ChaosJournal(dataDir);
    await say.step("Someone removes the server's access policy from the vault", [`az keyvault delete-policy -n ${vault} --object-id ${principal}`, `(tdekv chaos permissions-revoked ${server})`]);
    await runChaos(c, journal, "permissions-revoked", server);
    await say.step("Azure SQL probes the key (every few minutes; here on command) and loses access", ["tdekv probe"]);
    say.say(`probe: ${JSON.stringify((await probe()).failing)}`);
    say.say(`database demo-db: ${await status()}   (az sql db show -g ${rg} -s ${server} -n demo-db --query status)`);
    await say.step("The Activity Log records it, and the alert fires", [`az monitor activity-log list --resource-id ${dbId} --query "[].{event:eventName.value,status:status.value}" -o table`]);
    await showEvents();
    if (alerts) await waitAlert(1);
    await say.step("Diagnose", ["tdekv doctor --server " + server]);
    let report = await doctor();
    await say.step("Apply the seed's mitigation that doctor printed", report.servers[0]!.problems.flatMap((p) => p.mitigation.map((m) => m.command)));
    await c.armOk("PUT", `${vaultId}/accessPolicies/add?api-version=${API.keyVault}`, { properties: { accessPolicies: [{ tenantId: ep.tenantId, objectId: principal, permissions: { keys: ["get", "wrapKey", "unwrapKey"] } }] } });
    journal.write([]);
    await say.step("Ten minutes later, the next probes find the key again: the database heals by itself", [manual ? "tdekv clock advance 10m && tdekv probe && tdekv probe" : "(waiting)"]);
    await advance("10m", 10);
    await probe();
    await probe();
    say.say(`database demo-db: ${await status()}`);
    await showEvents();

    say.section("Incident 2: key disabled, noticed after the window");
    await say.step("Someone disables the key", [`az keyvault key set-attributes --id ${kid} --enabled false`, `(tdekv chaos key-disabled ${server})`]);
    await runChaos(c, journal, "key-disabled", server);
    await probe();
    say.say(`database demo-db: ${await status()}`);
    if (alerts) await waitAlert(2);
    await say.step("Nobody acts for 31 minutes: the auto-heal window closes", [manual ? "tdekv clock advance 31m" : "(waiting 31 minutes of tdekv time)"]);
    await advance("31m", 31);
    await probe();
    await showEvents();
    await say.step("Diagnose: the key, and a revalidation that will be needed", ["tdekv doctor --server " + server]);
    report = await doctor();
    const fix = report.servers[0]!.problems.flatMap((p) => p.mitigation.map((m) => m.command));
    await say.step("Enable the key again", fix);
    await c.vaultOk(vault, "PATCH", `/keys/tde-key/${kid.split("/").pop()}?api-version=${API.keyVaultData}`, { attributes: { enabled: true } });
    journal.write([]);
    await probe();
    await probe();
    say.say(`database demo-db: ${await status()}   (past the window it does not heal by itself)`);
    await say.step("Doctor now asks for the revalidation", ["tdekv doctor --server " + server]);
    report = await doctor();
    const revalidate = report.servers[0]!.problems[0]?.revalidation.command ?? "";
    await say.step("Revalidate the TDE protector (the portal's 'Revalidate key'; az 2.45 has no tde-key revalidate)", [revalidate]);
    try {
      await c.armOk("POST", `${serverId}/encryptionProtector/current/revalidate?api-version=${API.sqlKeys}`);
    } catch (err) {
      if (!(err instanceof RestError)) throw err;
      say.say(`revalidation failed: ${err.code} ${err.message}`);
    }
    say.say(`database demo-db: ${await status()}, tags ${JSON.stringify((await c.armOk("GET", `${dbId}?api-version=${API.sql}`)).tags ?? {})}   (a late recovery loses the tags, PITR history and failover-group links)`);
    await showEvents();
    say.section("Done");
    if (flags.keep || !child) say.say(`tdekv keeps running (data dir ${dataDir}). Try it yourself:\n  eval "$(tdekv env --data-dir ${dataDir})"\n  tdekv chaos key-expired ${server} --data-dir ${dataDir} && tdekv probe --data-dir ${dataDir} && tdekv doctor --data-dir ${dataDir}`);
  } finally {
    hook.close();
    if (child && !flags.keep) {
      child.kill("SIGINT");
      await new Promise((r) => child.once("exit", r));
      fs.rmSync(dataDir, { recursive: true, force: true });
    } else if (child) {
      child.unref();
      child.stdout?.destroy();
      child.stderr?.destroy();
    }
  }
}

export function registerDemo(program: Command, dataDirOption: string): void {
  program
    .command("demo")
    .description("a guided key-access incident: set up CMK with an alert, break it, watch, diagnose, fix, heal; then past the 30-minute window with a revalidation")
    .option("--data-dir <dir>", `${dataDirOption}; without a running instance there, the demo starts its own on a manual clock`)
    .option("--keep", "leave the demo's tdekv running afterwards")
    .option("--step", "wait for Enter between steps")
    .action(async (o: DemoFlags) => {
      try {
        await demo(o);
      } catch (err) {
        process.stderr.write(`tdekv demo: ${(err as Error).message}\n`);
        process.exitCode = 1;
      }
    });
}

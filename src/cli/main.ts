import { Command, InvalidArgumentError } from "commander";
import path from "node:path";
import { type ConfigInput, ConfigError, createLogger, loadConfig, resolveDataDir, resolveStore, DEFAULTS, ENV } from "../platform/index.js";
import { openStore, migrate, describeStore, parseStoreTarget } from "../storage/index.js";
import { startTdekv } from "../main.js";
import { readEndpoints, isRunning, call, adminToken } from "./instance.js";
import { renderTable } from "./render.js";
import { registerAlerts } from "./alerts.js";
import { registerNodes } from "./nodes.js";

export { renderTable };
import { registerDoctor } from "./doctor.js";
import { registerChaos } from "./chaos.js";
import { registerDemo } from "./demo.js";

const dataDirOption = `data directory (env ${ENV.dataDir}, default ${DEFAULTS.dataDir})`;

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`;
}

interface StartOptions {
  dataDir?: string;
  port?: string;
  proxyPort?: string;
  host?: string;
  logLevel?: string;
  tokenLifetime?: string;
  rotationCheckInterval?: string;
  smtpUrl?: string;
  probeInterval?: string;
  autohealWindow?: string;
  activityLogDelay?: string;
  clock?: string;
  timeScale?: string;
  vaultTimeout?: string;
  tdsPort?: string;
  store?: string;
  nodeName?: string;
  masterKeyFile?: string;
  leaseTtlSeconds?: string;
  leaseRenewSeconds?: string;
}

async function start(opts: StartOptions) {
  const started = performance.now();
  const flags: ConfigInput = { dataDir: opts.dataDir, port: opts.port, proxyPort: opts.proxyPort, host: opts.host, logLevel: opts.logLevel, tokenLifetimeSeconds: opts.tokenLifetime,
    rotationCheckSeconds: opts.rotationCheckInterval,
    smtpUrl: opts.smtpUrl,
    probeIntervalSeconds: opts.probeInterval,
    autohealWindowSeconds: opts.autohealWindow,
    activityLogDelaySeconds: opts.activityLogDelay,
    clock: opts.clock,
    timeScale: opts.timeScale,
    vaultTimeoutSeconds: opts.vaultTimeout,
    tdsPort: opts.tdsPort,
    store: opts.store,
    nodeName: opts.nodeName,
    masterKeyFile: opts.masterKeyFile,
    leaseTtlSeconds: opts.leaseTtlSeconds,
    leaseRenewSeconds: opts.leaseRenewSeconds,
  };
  const config = loadConfig(flags);
  const logFile = `${config.dataDir}/tdekv.log`;
  const log = createLogger(config.logLevel, logFile);
  const instance = await startTdekv(config, { log });
  const ep = instance.endpoints;
  const ms = Math.round(performance.now() - started);
  process.stdout.write(
    [
      `tdekv is ready in ${ms} ms`,
      `  ARM + Entra (direct)  ${ep.armEndpoint}`,
      `  HTTPS proxy           ${ep.proxyUrl}   (management.azure.com, login.microsoftonline.com, *.vault.azure.net)`,
      `  CA certificate        ${ep.caCertFile}`,
      `  tenant                ${ep.tenantId}`,
      `  subscription          ${ep.subscriptionId}`,
      `  service principal     ${ep.clientId}   (secret in ${config.dataDir}/endpoints.json)`,
      `  databases             ${instance.reopened.opened.length} open${instance.reopened.failed.length ? `, ${instance.reopened.failed.length} closed: key unreachable (${instance.reopened.failed.map((f) => f.cause).join(", ")})` : ""}`,
      `  store                 ${instance.store.engine} ${instance.store.description}`,
      `  log                   ${logFile}`,
      `Use it from a shell:    eval "$(tdekv env --data-dir ${shellQuote(config.dataDir)})"`,
      "",
    ].join("\n"),
  );
  log.info({ ms, port: ep.httpsPort, proxyPort: ep.proxyPort, store: instance.store.description }, "ready");
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "stopping");
    await instance.stop();
    process.stdout.write("tdekv stopped\n");
    log.flush();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}

/** `tdekv migrate`: brings the store's schema to the latest migration as its own step, and says what ran. */
async function migrateCommand(opts: { dataDir?: string; store?: string }) {
  const value = resolveStore(opts.store) ?? path.join(resolveDataDir(opts.dataDir), "tdekv.db");
  const target = parseStoreTarget(value);
  const store = await openStore(target, { migrate: false });
  try {
    const ran = await migrate(store.db);
    process.stdout.write(`store ${store.engine} ${describeStore(target)}\n`);
    if (ran.length === 0) process.stdout.write("schema is up to date: no migration ran\n");
    else process.stdout.write(`ran ${ran.length} migration${ran.length === 1 ? "" : "s"}:\n${ran.map((m) => `  ${m}\n`).join("")}`);
  } finally {
    await store.close();
  }
}

async function env(opts: { dataDir?: string }) {
  const ep = readEndpoints(resolveDataDir(opts.dataDir));
  if (!(await isRunning(ep))) throw new Error(`tdekv is not running for data dir ${ep.dataDir}; start it with: tdekv start --data-dir ${ep.dataDir}`);
  const lines = [
    `export HTTPS_PROXY=${shellQuote(ep.proxyUrl)}`,
    `export https_proxy=${shellQuote(ep.proxyUrl)}`,
    "unset NO_PROXY no_proxy",
    `export NODE_EXTRA_CA_CERTS=${shellQuote(ep.caCertFile)}`,
    `export REQUESTS_CA_BUNDLE=${shellQuote(ep.caCertFile)}`,
    `export AZURE_TENANT_ID=${shellQuote(ep.tenantId)}`,
    `export AZURE_CLIENT_ID=${shellQuote(ep.clientId)}`,
    `export AZURE_CLIENT_SECRET=${shellQuote(ep.clientSecret)}`,
    `export AZURE_SUBSCRIPTION_ID=${shellQuote(ep.subscriptionId)}`,
  ];
  process.stdout.write(lines.join("\n") + "\n");
}

async function admin(dataDir: string | undefined, method: string, path: string, body: unknown) {
  const ep = readEndpoints(resolveDataDir(dataDir));
  const res = await call(ep, method, path, { token: await adminToken(ep), json: body });
  if (res.status >= 300) {
    const e = (res.body as { error?: { code?: string; message?: string } })?.error;
    throw new Error(e ? `(${e.code}) ${e.message}` : `HTTP ${res.status}`);
  }
  process.stdout.write(JSON.stringify(res.body, null, 2) + "\n");
}

async function sqlQuery(statement: string, o: { server: string; database: string; param?: string[]; json?: boolean; dataDir?: string }) {
  const ep = readEndpoints(resolveDataDir(o.dataDir));
  const res = await call(ep, "POST", "/_tdekv/sql/query", { token: await adminToken(ep), json: { server: o.server, database: o.database, sql: statement, params: o.param ?? [] } });
  if (res.status >= 300) {
    const e = (res.body as { error?: { code?: string; message?: string } })?.error;
    throw new Error(e ? `Msg ${e.code}: ${e.message}` : `HTTP ${res.status}`);
  }
  const out = res.body as { columns: string[]; rows: Record<string, unknown>[]; changes: number };
  if (o.json) process.stdout.write(JSON.stringify(out.columns.length ? out.rows : { changes: out.changes }) + "\n");
  else if (out.columns.length) process.stdout.write(renderTable(out.columns, out.rows));
  else process.stdout.write(`(${out.changes} row${out.changes === 1 ? "" : "s"} affected)\n`);
}

const intArg = (v: string) => {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError("must be a whole number");
  return v;
};

export async function main(argv: string[]): Promise<void> {
  const program = new Command().name("tdekv").description("Azure SQL TDE with customer-managed keys in Azure Key Vault, on your own machine").showHelpAfterError();
  program
    .command("start")
    .description("start tdekv with its embedded defaults")
    .option("--data-dir <dir>", dataDirOption)
    .option("--port <port>", `HTTPS port (env ${ENV.port}, default ${DEFAULTS.port}; 0 picks one)`, intArg)
    .option("--proxy-port <port>", `HTTPS proxy port (env ${ENV.proxyPort}, default ${DEFAULTS.proxyPort}; 0 picks one)`, intArg)
    .option("--tds-port <port>", `TDS (SQL Server protocol) port (env ${ENV.tdsPort}, default ${DEFAULTS.tdsPort}; 0 picks one)`, intArg)
    .option("--host <host>", `address to listen on (env ${ENV.host}, default ${DEFAULTS.host})`)
    .option("--log-level <level>", `log level (env ${ENV.logLevel}, default ${DEFAULTS.logLevel})`)
    .option("--token-lifetime <seconds>", `lifetime of issued access tokens (env ${ENV.tokenLifetimeSeconds}, default ${DEFAULTS.tokenLifetimeSeconds})`, intArg)
    .option("--rotation-check-interval <seconds>", `how often auto-rotating TDE protectors look for a new key version (env ${ENV.rotationCheckSeconds}, default ${DEFAULTS.rotationCheckSeconds})`)
    .option("--probe-interval <seconds>", `how often each server's TDE protector is probed (env ${ENV.probeIntervalSeconds}, default ${DEFAULTS.probeIntervalSeconds}; Azure: up to 600)`)
    .option("--autoheal-window <seconds>", `how long an inaccessible database heals by itself (env ${ENV.autohealWindowSeconds}, default ${DEFAULTS.autohealWindowSeconds}, the seed's 30 minutes)`)
    .option("--activity-log-delay <seconds>", `delay before events show in the Activity Log (env ${ENV.activityLogDelaySeconds}, default ${DEFAULTS.activityLogDelaySeconds}; Azure: 900-1800)`)
    .option("--smtp-url <url>", `SMTP server for action-group emails (env ${ENV.smtpUrl})`)
    .option("--clock <mode>", `system or manual (env ${ENV.clock}, default ${DEFAULTS.clock}); manual time moves with 'tdekv clock advance'`)
    .option("--vault-timeout <seconds>", `a SQL-to-Key-Vault call slower than this fails (env ${ENV.vaultTimeoutSeconds}, default ${DEFAULTS.vaultTimeoutSeconds})`)
    .option("--time-scale <factor>", `run time this many times faster, for demos (env ${ENV.timeScale}, default ${DEFAULTS.timeScale})`)
    .option("--store <url>", `control-plane store: postgres://user@host:port/db or a SQLite file (env ${ENV.store}, default <data-dir>/tdekv.db)`)
    .option("--node-name <name>", `this node's stable member name in a cluster (env ${ENV.nodeName}, default <hostname>:<https port>)`)
    .option("--master-key-file <file>", `the key that seals key material; nodes of one cloud share it (env ${ENV.masterKeyFile}, default <data-dir>/master.key)`)
    .option("--lease-ttl-seconds <seconds>", `how long a probe lease lasts without renewal (env ${ENV.leaseTtlSeconds}, default ${DEFAULTS.leaseTtlSeconds})`)
    .option("--lease-renew-seconds <seconds>", `how often a node renews, claims and sheds probe leases; below the ttl (env ${ENV.leaseRenewSeconds}, default ${DEFAULTS.leaseRenewSeconds})`)
    .action(start);
  program
    .command("migrate")
    .description("run the control-plane store's numbered migrations and print what ran (start also does)")
    .option("--data-dir <dir>", dataDirOption)
    .option("--store <url>", `postgres://user@host:port/db or a SQLite file (env ${ENV.store}, default <data-dir>/tdekv.db)`)
    .action(migrateCommand);
  program.command("env").description("print shell exports for proxy mode").option("--data-dir <dir>", dataDirOption).action(env);
  const tenant = program.command("tenant").description("tenants (Entra directories)");
  tenant
    .command("create")
    .description("create a tenant with a service principal that can sign in to it")
    .option("--data-dir <dir>", dataDirOption)
    .option("--name <displayName>", "display name")
    .action((o: { dataDir?: string; name?: string }) => admin(o.dataDir, "POST", "/_tdekv/tenants", { displayName: o.name }));
  tenant.command("list").option("--data-dir <dir>", dataDirOption).action((o: { dataDir?: string }) => admin(o.dataDir, "GET", "/_tdekv/tenants", undefined));
  const sub = program.command("subscription").description("subscriptions");
  sub
    .command("create")
    .description("create a subscription in a tenant (default: the bootstrap tenant)")
    .option("--data-dir <dir>", dataDirOption)
    .option("--tenant <tenantId>", "tenant id")
    .option("--name <displayName>", "display name")
    .action((o: { dataDir?: string; tenant?: string; name?: string }) => admin(o.dataDir, "POST", "/_tdekv/subscriptions", { tenantId: o.tenant, displayName: o.name }));
  sub
    .command("move <subscriptionId>")
    .description("transfer a subscription to another tenant (Azure's 'change directory')")
    .requiredOption("--tenant <tenantId>", "target tenant id")
    .option("--data-dir <dir>", dataDirOption)
    .action((id: string, o: { dataDir?: string; tenant: string }) => admin(o.dataDir, "PUT", `/_tdekv/subscriptions/${encodeURIComponent(id)}/tenant`, { tenantId: o.tenant }));
  program
    .command("sql")
    .description("data access to tdekv's encrypted databases")
    .command("query <statement>")
    .description("run a SQL statement against a database and print the rows")
    .requiredOption("--server <name>", "server name (or name.database.windows.net)")
    .requiredOption("--database <name>", "database name")
    .option("--param <value...>", "positional parameters for ? placeholders")
    .option("--json", "print JSON instead of a table")
    .option("--data-dir <dir>", dataDirOption)
    .action(sqlQuery);
  program
    .command("probe")
    .description("probe every server's TDE protector now and apply the lifecycle rules")
    .option("--data-dir <dir>", dataDirOption)
    .action((o: { dataDir?: string }) => admin(o.dataDir, "POST", "/_tdekv/health/probe", {}));
  const clock = program.command("clock").description("tdekv's clock (--clock manual moves only by hand)");
  clock.command("show").option("--data-dir <dir>", dataDirOption).action((o: { dataDir?: string }) => admin(o.dataDir, "GET", "/_tdekv/clock", undefined));
  clock
    .command("advance <duration>")
    .description("move a manual clock forward, e.g. 31m, 2h, 90s, then evaluate the lifecycle")
    .option("--data-dir <dir>", dataDirOption)
    .action((by: string, o: { dataDir?: string }) => admin(o.dataDir, "POST", "/_tdekv/clock/advance", { by }));
  registerNodes(program, dataDirOption);
  registerDoctor(program, dataDirOption);
  registerChaos(program, dataDirOption);
  registerDemo(program, dataDirOption);
  registerAlerts(program, dataDirOption);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    const message = err instanceof ConfigError || err instanceof Error ? err.message : String(err);
    process.stderr.write(`tdekv: ${message}\n`);
    process.exit(1);
  }
}

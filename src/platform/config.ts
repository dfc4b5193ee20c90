import path from "node:path";

/**
 * The one place that reads process.env (architecture.md, platform/). CLI flags win over environment
 * variables, which win over the embedded defaults (issue 2 §2).
 */
export interface TdekvConfig {
  dataDir: string;
  /** HTTPS listener: ARM, Entra, Key Vault and the portal, routed by Host. 0 picks a free port. */
  port: number;
  /** HTTP CONNECT proxy (and the plain-HTTP managed-identity endpoint). 0 picks a free port. */
  proxyPort: number;
  host: string;
  logLevel: string;
  /** Lifetime of issued access tokens in seconds. Entra issues 60-90 minute tokens; drills may shorten it. */
  tokenLifetimeSeconds: number;
  /** How often auto-rotating TDE protectors look for a new key version (Azure: within 60 minutes). */
  rotationCheckSeconds: number;
  /** SMTP server that action groups' email receivers are sent through (smtp://host:port). */
  smtpUrl: string | undefined;
  /** How often each (server, protector) pair is probed (Azure: up to 10 minutes). */
  probeIntervalSeconds: number;
  /** How long an inaccessible database heals by itself once access returns (seed: 30 minutes). */
  autohealWindowSeconds: number;
  /** Delay before an event shows in the Activity Log (Azure: 15-30 minutes; default none). */
  activityLogDelaySeconds: number;
  /** "system" (default) or "manual" (moves only through the admin API / `tdekv clock advance`). */
  clock: "system" | "manual";
  /** Real time runs this many times faster (demos). 1 = real time. */
  timeScale: number;
  /** A call from the SQL service to Key Vault that takes longer than this has failed (a slow vault). */
  vaultTimeoutSeconds: number;
  /** The TDS (SQL Server wire protocol) listener. 0 picks a free port. */
  tdsPort: number;
  /**
   * Where control-plane state lives: a postgres:// URL, or a SQLite file. Undefined = the SQLite file in the
   * data dir (`tdekv.db`), as before issue 11. May hold a password: print only redactStoreUrl(store).
   */
  store: string | undefined;
  /**
   * This node's stable member name (issue 11 slice 2). Undefined = `<hostname>:<https port>` once listening.
   * Node ids (one per start) are separate; the name is what placement and `probed_by` record.
   */
  nodeName: string | undefined;
  /** The 32-byte key that seals vault key material and the token-signing key. Nodes of one cloud share it. */
  masterKeyFile: string;
  /** A probe lease lasts this long without renewal (scale-out.md §3.1: 15 s suggested for production). */
  leaseTtlSeconds: number;
  /** How often a node renews its leases and claims or sheds targets (scale-out.md §3.1: 5 s). */
  leaseRenewSeconds: number;
}

export const ENV = {
  dataDir: "TDEKV_DATA_DIR",
  port: "TDEKV_PORT",
  proxyPort: "TDEKV_PROXY_PORT",
  host: "TDEKV_HOST",
  logLevel: "TDEKV_LOG_LEVEL",
  tokenLifetimeSeconds: "TDEKV_TOKEN_LIFETIME",
  rotationCheckSeconds: "TDEKV_ROTATION_CHECK_INTERVAL",
  smtpUrl: "TDEKV_SMTP_URL",
  probeIntervalSeconds: "TDEKV_PROBE_INTERVAL",
  autohealWindowSeconds: "TDEKV_AUTOHEAL_WINDOW",
  activityLogDelaySeconds: "TDEKV_ACTIVITY_LOG_DELAY",
  clock: "TDEKV_CLOCK",
  timeScale: "TDEKV_TIME_SCALE",
  vaultTimeoutSeconds: "TDEKV_VAULT_TIMEOUT",
  tdsPort: "TDEKV_TDS_PORT",
  store: "TDEKV_STORE",
  nodeName: "TDEKV_NODE_NAME",
  masterKeyFile: "TDEKV_MASTER_KEY_FILE",
  leaseTtlSeconds: "TDEKV_LEASE_TTL",
  leaseRenewSeconds: "TDEKV_LEASE_RENEW",
} as const;

export const DEFAULTS = {
  dataDir: "./.tdekv",
  port: 8443,
  proxyPort: 8080,
  host: "127.0.0.1",
  logLevel: "info",
  tokenLifetimeSeconds: 3599,
  rotationCheckSeconds: 10,
  smtpUrl: "",
  probeIntervalSeconds: 10,
  autohealWindowSeconds: 1800,
  activityLogDelaySeconds: 0,
  clock: "system",
  timeScale: 1,
  vaultTimeoutSeconds: 5,
  tdsPort: 1433,
  store: "",
  nodeName: "",
  masterKeyFile: "",
  leaseTtlSeconds: 15,
  leaseRenewSeconds: 5,
} as const;

export class ConfigError extends Error {}

export type ConfigInput = Partial<Record<keyof TdekvConfig, string | number | undefined>>;

function port(name: string, raw: string | number): number {
  const n = typeof raw === "number" ? raw : Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ConfigError(`${name} must be a port number (0-65535), got '${raw}'`);
  return n;
}

/** Reads one setting: flag, then environment, then default. */
function pick(flags: ConfigInput, key: keyof TdekvConfig, env: NodeJS.ProcessEnv): string | number {
  const flag = flags[key];
  if (flag !== undefined && flag !== "") return flag;
  const fromEnv = env[ENV[key]];
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  return DEFAULTS[key];
}

export function loadConfig(flags: ConfigInput = {}, env: NodeJS.ProcessEnv = process.env): TdekvConfig {
  const lifetime = Number(pick(flags, "tokenLifetimeSeconds", env));
  if (!Number.isInteger(lifetime) || lifetime < 1 || lifetime > 86_400) {
    throw new ConfigError(`token lifetime must be 1-86400 seconds, got '${pick(flags, "tokenLifetimeSeconds", env)}'`);
  }
  const host = String(pick(flags, "host", env));
  if (!/^[A-Za-z0-9.:-]+$/.test(host)) throw new ConfigError(`host '${host}' is not a host name or IP address`);
  const rotation = Number(pick(flags, "rotationCheckSeconds", env));
  if (!Number.isFinite(rotation) || rotation < 0.1 || rotation > 86_400) throw new ConfigError(`rotation check interval must be 0.1-86400 seconds, got '${pick(flags, "rotationCheckSeconds", env)}'`);
  const seconds = (key: "probeIntervalSeconds" | "autohealWindowSeconds" | "activityLogDelaySeconds" | "vaultTimeoutSeconds", min: number, max: number, label: string) => {
    const v = Number(pick(flags, key, env));
    if (!Number.isFinite(v) || v < min || v > max) throw new ConfigError(`${label} must be ${min}-${max} seconds, got '${pick(flags, key, env)}'`);
    return v;
  };
  const clock = String(pick(flags, "clock", env));
  if (clock !== "system" && clock !== "manual") throw new ConfigError(`clock must be 'system' or 'manual', got '${clock}'`);
  const timeScale = Number(pick(flags, "timeScale", env));
  if (!Number.isFinite(timeScale) || timeScale < 1 || timeScale > 100_000) throw new ConfigError(`time scale must be 1-100000, got '${pick(flags, "timeScale", env)}'`);
  const smtp = String(pick(flags, "smtpUrl", env));
  if (smtp && !/^smtps?:\/\/[^/\s]+/i.test(smtp)) throw new ConfigError(`smtp url must look like smtp://host:port, got '${smtp}'`);
  const store = String(pick(flags, "store", env));
  if (/^postgres(ql)?:/i.test(store) && !/^postgres(ql)?:\/\/[^\s]+$/i.test(store)) throw new ConfigError("store must look like postgres://user@host:port/database");
  const nodeName = String(pick(flags, "nodeName", env));
  if (nodeName && !/^[\w.:@-]{1,128}$/.test(nodeName)) throw new ConfigError(`node name must be 1-128 letters, digits or . : @ _ -, got '${nodeName}'`);
  const leaseSeconds = (key: "leaseTtlSeconds" | "leaseRenewSeconds", label: string) => {
    const v = Number(pick(flags, key, env));
    if (!Number.isFinite(v) || v <= 0 || v > 3600) throw new ConfigError(`${label} must be more than 0 and at most 3600 seconds, got '${pick(flags, key, env)}'`);
    return v;
  };
  const leaseTtlSeconds = leaseSeconds("leaseTtlSeconds", "lease ttl");
  const leaseRenewSeconds = leaseSeconds("leaseRenewSeconds", "lease renew interval");
  // A lease renewed no more often than it lasts lapses between renewals: every target would flap.
  if (leaseRenewSeconds >= leaseTtlSeconds) throw new ConfigError(`lease renew interval (${leaseRenewSeconds} s) must be shorter than the lease ttl (${leaseTtlSeconds} s)`);
  const dataDir = path.resolve(String(pick(flags, "dataDir", env)));
  const masterKeyFile = String(pick(flags, "masterKeyFile", env));
  return {
    nodeName: nodeName || undefined,
    masterKeyFile: masterKeyFile ? path.resolve(masterKeyFile) : path.join(dataDir, "master.key"),
    leaseTtlSeconds,
    leaseRenewSeconds,
    store: store || undefined,
    smtpUrl: smtp || undefined,
    probeIntervalSeconds: seconds("probeIntervalSeconds", 0.05, 3600, "probe interval"),
    autohealWindowSeconds: seconds("autohealWindowSeconds", 1, 7 * 86_400, "autoheal window"),
    activityLogDelaySeconds: seconds("activityLogDelaySeconds", 0, 86_400, "activity log delay"),
    clock,
    timeScale,
    vaultTimeoutSeconds: seconds("vaultTimeoutSeconds", 0.05, 120, "vault timeout"),
    tdsPort: port("tds port", pick(flags, "tdsPort", env)),
    rotationCheckSeconds: rotation,
    dataDir,
    port: port("port", pick(flags, "port", env)),
    proxyPort: port("proxy port", pick(flags, "proxyPort", env)),
    host,
    logLevel: String(pick(flags, "logLevel", env)),
    tokenLifetimeSeconds: lifetime,
  };
}

/** The store setting alone (flag, then env), for `tdekv migrate`; undefined = the data dir's SQLite file. */
export function resolveStore(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return flag || env[ENV.store] || undefined;
}

/** Only the data dir, for commands that talk to a running instance (env, tenant, ...). */
export function resolveDataDir(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(flag || env[ENV.dataDir] || DEFAULTS.dataDir);
}

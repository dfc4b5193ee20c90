import net from "node:net";
import sql from "mssql";
import { Connection, Request, type ConnectionConfiguration } from "tedious";
import type { Instance } from "./harness.js";

/**
 * Client settings for the TDS suites: the real host name `{server}.database.windows.net` reaches tdekv
 * through tedious' `connector` (no DNS change: docs/tds.md), and the certificate is verified against
 * tdekv's CA (never trustServerCertificate).
 */
export const PASSWORD = "Str0ng!Passw0rd";

export function tdsPort(inst: Instance): number {
  return (inst.endpoints as unknown as { tdsPort: number }).tdsPort;
}

export function connector(inst: Instance) {
  return () =>
    new Promise<net.Socket>((resolve, reject) => {
      // noDelay as tedious sets on the sockets it opens itself (small requests, one round trip each).
      const s = net.connect({ port: tdsPort(inst), host: "127.0.0.1", noDelay: true });
      s.once("connect", () => resolve(s)).once("error", reject);
    });
}

export type Encrypt = boolean | "strict";

export function mssqlConfig(inst: Instance, server: string, opts: { database?: string; encrypt?: Encrypt; user?: string; password?: string; token?: string; pool?: Partial<sql.PoolOpts<sql.Connection>>; extra?: Record<string, unknown> } = {}): sql.config {
  return {
    server: `${server}.database.windows.net`,
    ...(opts.database !== undefined ? { database: opts.database } : {}),
    ...(opts.token
      ? { authentication: { type: "azure-active-directory-access-token", options: { token: opts.token } } }
      : { user: opts.user ?? "admin1", password: opts.password ?? PASSWORD }),
    pool: { max: 4, min: 0, idleTimeoutMillis: 1000, ...opts.pool },
    connectionTimeout: 10_000,
    requestTimeout: 10_000,
    options: {
      encrypt: opts.encrypt ?? true,
      trustServerCertificate: false,
      cryptoCredentialsDetails: { ca: inst.ca.toString() },
      connector: connector(inst),
      maxRetriesOnTransientErrors: 0,
      ...opts.extra,
    } as sql.config["options"],
  };
}

export function tediousConfig(inst: Instance, server: string, opts: { database?: string; encrypt?: Encrypt; user?: string; password?: string; token?: string; retries?: number } = {}): ConnectionConfiguration {
  return {
    server: `${server}.database.windows.net`,
    authentication: opts.token
      ? { type: "azure-active-directory-access-token", options: { token: opts.token } }
      : { type: "default", options: { userName: opts.user ?? "admin1", password: opts.password ?? PASSWORD } },
    options: {
      database: opts.database ?? "db",
      encrypt: opts.encrypt ?? true,
      trustServerCertificate: false,
      cryptoCredentialsDetails: { ca: inst.ca.toString() },
      connector: connector(inst),
      maxRetriesOnTransientErrors: opts.retries ?? 0,
      connectTimeout: 10_000,
      requestTimeout: 10_000,
    },
  };
}

export interface ServerMessage {
  number: number;
  class: number;
  state: number;
  message: string;
  serverName: string;
}

/**
 * Connects with tedious and reports the outcome with every server error message seen (a login error's
 * number is only on the `errorMessage` event: tds.md pitfall 9).
 */
export function tediousConnect(config: ConnectionConfiguration): Promise<{ conn?: Connection; error?: Error; messages: ServerMessage[]; attempts: number }> {
  return new Promise((resolve) => {
    const conn = new Connection(config);
    const messages: ServerMessage[] = [];
    conn.on("errorMessage", (m: any) => messages.push({ number: m.number, class: m.class, state: m.state, message: m.message, serverName: m.serverName }));
    conn.connect((err) => {
      if (err) {
        conn.close();
        resolve({ error: err, messages, attempts: messages.length });
      } else resolve({ conn, messages, attempts: 1 });
    });
  });
}

/** Runs a batch on a tedious connection, resolving with rows as objects (or the request's error). */
export function tediousQuery(conn: Connection, text: string): Promise<{ rows: Record<string, unknown>[]; rowCount?: number; error?: any }> {
  return new Promise((resolve) => {
    const rows: Record<string, unknown>[] = [];
    const req = new Request(text, (error, rowCount) => resolve({ rows, rowCount, error: error ?? undefined }));
    req.on("row", (cols: any[]) => rows.push(Object.fromEntries(cols.map((c: any) => [c.metadata.colName, c.value]))));
    conn.execSqlBatch(req);
  });
}

/** Resolves when the connection reports its end (the server closed it). */
export function ended(conn: Connection): Promise<void> {
  return new Promise((resolve) => {
    if ((conn as any).closed) return resolve();
    conn.once("end", () => resolve());
  });
}

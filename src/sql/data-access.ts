import { EventEmitter } from "node:events";
import type { AccessClaims, TokenService } from "../identity/index.js";
import { DomainError } from "../platform/index.js";
import type { QueryResult } from "../tde/index.js";
import { DM_ENCRYPTION_KEYS, REGENERATE, type DekRegenerations } from "./dek-regeneration.js";
import { KeyAccessError } from "./key-access.js";
import { outcomeOf } from "./lifecycle-port.js";
import type { Logins } from "./logins.js";
import type { DatabaseBody, ServerBody, SqlContext } from "./sql-context.js";
import { openDatabase } from "./startup.js";

/**
 * A refusal with an Azure SQL error number and class. Each surface renders it at its edge: the TDS endpoint
 * as an ERROR token, the query route as an ARM error whose code is the number.
 */
export class DataAccessError extends DomainError {
  readonly kind = "sql-access";
  constructor(
    readonly number: number,
    readonly severity: number,
    message: string,
    readonly state = 1,
  ) {
    super(message);
  }
}

/** Azure SQL Database's login errors (tds.md §3.8; azure-sql-tde.md §2.4 for 40613). */
export const accessErrors = {
  serverUndetermined: () =>
    new DataAccessError(
      40531,
      11,
      "Server name cannot be determined. It must appear as the first segment of the server's dns name (servername.database.windows.net). Some libraries do not send the server name, in which case the server name must be included as part of the user name (username@servername). In addition, if both formats are used, the server names must match.",
    ),
  serverNotFound: (server: string) => new DataAccessError(40532, 11, `Cannot open server "${server}" requested by the login. The login failed.`),
  loginFailed: (user: string) => new DataAccessError(18456, 14, `Login failed for user '${user}'.`),
  databaseNotFound: (database: string) => new DataAccessError(4060, 11, `Cannot open database "${database}" requested by the login. The login failed.`),
  unavailable: (database: string, server: string, traceId: string) =>
    new DataAccessError(
      40613,
      17,
      `Database '${database}' on server '${server}' is not currently available. Please retry the connection later. If the problem persists, contact customer support, and provide them the session tracing ID of '${traceId}'.`,
    ),
  regenerationRunning: () => new DataAccessError(33109, 16, "Cannot change the database encryption key while an encryption, decryption, or key change scan is in progress."),
};

/** The resource Azure SQL tokens are issued for; clients ask with and without the trailing slash. */
export const SQL_AUDIENCES = ["https://database.windows.net/", "https://database.windows.net"];

export interface ServerRef {
  id: string;
  name: string;
  /** The tenant of the server's subscription: tokens must come from it. */
  tenantId: string;
  body: ServerBody;
}

/** An open, decrypted database that a caller may query. */
export interface OpenedDatabase {
  server: ServerRef;
  name: string;
  resourceId: string;
  /** The engine's file name (properties.databaseId). */
  file: string;
  body: DatabaseBody;
}

/** A live node that holds a database file elsewhere (src/cluster/routing.ts). */
export interface RemoteOwner {
  name: string;
  httpsUrl: string;
  host: string;
  tdsPort: number;
  /** The owner's CA (PEM): the only trust anchor used to verify it. */
  caPem: string;
}

/** Where a request for a database goes: here, a live owner elsewhere, or an owner that is down (40613). */
export type DatabaseRoute = { kind: "here" } | { kind: "remote"; node: RemoteOwner } | { kind: "down"; owner: string };

/** The cluster's routing (issue 11 §3); a lone node serves everything itself. */
export interface RoutingPort {
  route(databaseFileId: string): Promise<DatabaseRoute>;
}

const HERE: DatabaseRoute = { kind: "here" };

/**
 * One owner at a time may hold a database's transaction. The engine has one SQLite connection per
 * database, so a second session's statements would otherwise run inside the first one's transaction: they
 * wait instead, as behind SQL Server's locks, until the holder commits, rolls back or goes away.
 */
export class TransactionGate {
  private readonly held = new Map<string, { owner: object; waiters: Set<() => void> }>();

  holder(file: string): object | undefined {
    return this.held.get(file)?.owner;
  }

  /** Resolves when `owner` may run statements on `file`; rejects when `signal` aborts first. */
  async enter(file: string, owner: object, signal?: AbortSignal): Promise<void> {
    for (;;) {
      const entry = this.held.get(file);
      if (!entry || entry.owner === owner) return;
      await new Promise<void>((resolve, reject) => {
        const wake = () => {
          signal?.removeEventListener("abort", abort);
          resolve();
        };
        const abort = () => {
          entry.waiters.delete(wake);
          reject(signal!.reason ?? new Error("aborted"));
        };
        if (signal?.aborted) return abort();
        entry.waiters.add(wake);
        signal?.addEventListener("abort", abort, { once: true });
      });
    }
  }

  hold(file: string, owner: object): void {
    const entry = this.held.get(file);
    if (entry && entry.owner !== owner) throw new Error(`transaction on ${file} is held by another session`);
    if (!entry) this.held.set(file, { owner, waiters: new Set() });
  }

  release(file: string, owner?: object): void {
    const entry = this.held.get(file);
    if (!entry || (owner && entry.owner !== owner)) return;
    this.held.delete(file);
    for (const wake of entry.waiters) wake();
  }
}

/**
 * How data is reached, for every surface: find a server by name, check a SQL login or an Entra token for it,
 * open a database (refusing an inaccessible one with 40613, which also tells the lifecycle), and run a query.
 * The TDS endpoint and `POST /_tdekv/sql/query` both go through here, so they refuse alike.
 */
export class DataAccess {
  readonly transactions = new TransactionGate();
  private readonly events = new EventEmitter();
  private routing: RoutingPort = { route: async () => HERE };

  constructor(
    private readonly ctx: SqlContext,
    private readonly logins: Logins,
    private readonly tokens: TokenService,
    private readonly regenerations: DekRegenerations,
  ) {
    this.events.setMaxListeners(0);
  }

  /**
   * A logical server or managed instance by name (a `….database.windows.net` suffix is ignored), or the
   * server a failover group listener points at now: `<fg>.database.windows.net` reaches the current primary,
   * `<fg>.secondary.database.windows.net` the secondary (a server's own name wins, as DNS would have it). A
   * bare name (what the TDS endpoint passes: the first DNS label of the host it was given) that is no server
   * but a failover group is its read-write listener, the current primary.
   */
  async findServer(name: string): Promise<ServerRef | undefined> {
    const found = await this.findServerByName(name);
    if (found || !this.ctx.backup.resolveListener || !/^[a-z0-9-]+(?:\.secondary)?(?:\.database\.windows\.net)?$/i.test(name)) return found;
    const host = /\.database\.windows\.net$/i.test(name) ? name : `${name}.database.windows.net`;
    const target = await this.ctx.backup.resolveListener(host);
    return target ? this.findServerByName(target) : undefined;
  }

  private async findServerByName(name: string): Promise<ServerRef | undefined> {
    const serverName = name.replace(/\.database\.windows\.net$/i, "").toLowerCase();
    const row = await this.ctx.db
      .selectFrom("resources")
      .select(["id", "subscription_id"])
      .where("type_key", "in", ["microsoft.sql/servers", "microsoft.sql/managedinstances"])
      .where("name", "=", serverName)
      .executeTakeFirst();
    if (!row) return undefined;
    const sub = await this.ctx.directory.getSubscription(row.subscription_id);
    const stored = await this.ctx.arm.store.get<ServerBody>(row.id);
    if (!sub || !stored) return undefined;
    return { id: stored.body.id, name: stored.body.name, tenantId: sub.tenantId, body: stored.body };
  }

  /** The administrator login (scrypt-checked; logins.ts). */
  verifyPassword(server: ServerRef, login: string, password: string): Promise<boolean> {
    return this.logins.verify(server.id, login, password);
  }

  /**
   * An Entra access token: signature, expiry, issuer and audience `https://database.windows.net/` by the
   * identity service, then the server's tenant. Any principal of that tenant is let in: tdekv keeps no
   * Entra administrator or contained users per server (documented in docs/tds.md).
   */
  async verifyToken(server: ServerRef, token: string): Promise<AccessClaims> {
    const claims = await this.tokens.verify(token, SQL_AUDIENCES);
    if (claims.tid !== server.tenantId) throw accessErrors.loginFailed("<token-identified principal>");
    return claims;
  }

  /** Wires the cluster's routing (main.ts); without it every database is served here. */
  setRouting(routing: RoutingPort): void {
    this.routing = routing;
  }

  /**
   * Where a request for `database` on `server` is served (issue 11 §3): here (also master, and a database that
   * does not exist: open() answers 4060), on a live owner elsewhere, or nowhere while its owner is down.
   */
  async route(server: ServerRef, database: string): Promise<DatabaseRoute> {
    if (!database || database.toLowerCase() === "master") return HERE;
    const stored = await this.ctx.arm.store.get<DatabaseBody>(`${server.id}/databases/${database}`);
    if (!stored?.body.properties.databaseId) return HERE;
    return this.routeFile(stored.body.properties.databaseId);
  }

  /** `route` for a server named by its ARM id (the ARM forward knows the path, not the server's record). */
  routeById(serverId: string, database: string): Promise<DatabaseRoute> {
    return this.route({ id: serverId } as ServerRef, database);
  }

  /** `ownerUnavailable` for a server named by its ARM id. */
  async ownerUnavailableById(serverId: string, database: string, traceId: string): Promise<DataAccessError> {
    const server = await this.ctx.arm.store.get<ServerBody>(serverId);
    if (!server) return accessErrors.databaseNotFound(database);
    return this.ownerUnavailable({ id: server.id, name: server.name, tenantId: "", body: server.body }, database, traceId);
  }

  /**
   * A file in this node's own data dir is this node's, whatever name placement still records (local-disk mode:
   * only this data dir can have made it; an earlier incarnation may have had another default name, and a file
   * that stayed closed at start was not re-recorded), as placement's `mayOpen` decides at start.
   */
  private routeFile(file: string): Promise<DatabaseRoute> {
    return this.ctx.tde.engine.exists(file) ? Promise.resolve(HERE) : this.routing.route(file);
  }

  /**
   * The owner of `database` is down (or could not be reached): the connection is refused with 40613, and
   * Resource Health turns Unavailable as for any refused connection (azure-sql-tde.md §4.4).
   */
  async ownerUnavailable(server: ServerRef, database: string, traceId: string): Promise<DataAccessError> {
    const stored = await this.ctx.arm.store.get<DatabaseBody>(`${server.id}/databases/${database}`);
    if (!stored) return accessErrors.databaseNotFound(database);
    await this.ctx.lifecycle.denied(server.id, stored.body);
    return accessErrors.unavailable(stored.body.name, server.name, traceId);
  }

  /** Opens a database for queries, or refuses: 4060 when it does not exist, 40613 when it is inaccessible. */
  async open(server: ServerRef, database: string, traceId: string): Promise<OpenedDatabase> {
    const stored = await this.ctx.arm.store.get<DatabaseBody>(`${server.id}/databases/${database}`);
    if (!stored) throw accessErrors.databaseNotFound(database);
    const db = stored.body;
    // Held by another node that is down (local-disk mode): unavailable until it returns (issue 11 §3).
    if (db.properties.databaseId && (await this.routeFile(db.properties.databaseId)).kind === "down") throw await this.ownerUnavailable(server, database, traceId);
    if (db.properties.status === "Inaccessible") {
      // The first denied connection turns Resource Health Unavailable (azure-sql-tde.md §4.4).
      await this.ctx.lifecycle.denied(server.id, db);
      throw accessErrors.unavailable(db.name, server.name, traceId);
    }
    try {
      await openDatabase(this.ctx, server.body, db);
    } catch (err) {
      if (!(err instanceof KeyAccessError)) throw err;
      // The key is out of reach: this open was a probe, and the connection is refused as Azure does.
      await this.ctx.lifecycle.openFailed(server.id, outcomeOf(server.name, err, ""));
      throw accessErrors.unavailable(db.name, server.name, traceId);
    }
    return { server, name: db.name, resourceId: db.id, file: db.properties.databaseId, body: db };
  }

  /**
   * Runs SQL on an open database. DEK regeneration and its DMV are answered here, as SQL Server spells
   * them (dek-regeneration.ts). `owner` is who runs it, for the transaction gate.
   */
  async run(db: OpenedDatabase, sql: string, params: unknown[] = [], owner: object = this): Promise<QueryResult> {
    if (this.transactions.holder(db.file) && this.transactions.holder(db.file) !== owner) await this.transactions.enter(db.file, owner);
    return this.query(db, sql, params);
  }

  /** The synchronous core of run(), for a caller that already holds or checked the gate. */
  query(db: OpenedDatabase, sql: string, params: unknown[] = []): QueryResult {
    if (REGENERATE.test(sql)) {
      if (this.regenerations.isRunning(db.file)) throw accessErrors.regenerationRunning();
      this.regenerations.start(db.server.body, db.body);
      return { columns: [], rows: [], changes: 0 };
    }
    if (DM_ENCRYPTION_KEYS.test(sql)) {
      const row = this.regenerations.row(db.body, this.ctx.tde.engine.bootRecord(db.file));
      return { columns: Object.keys(row), rows: [row], changes: 0 };
    }
    return this.ctx.tde.engine.query(db.file, sql, params);
  }

  /** Tells `listener` each time a database's file is closed by the lifecycle (it turned Inaccessible). */
  onDatabaseClosed(listener: (file: string) => void): () => void {
    this.events.on("closed", listener);
    return () => this.events.off("closed", listener);
  }

  /** Called where the lifecycle closes a file (lifecycle-port.ts close()). */
  databaseClosed(file: string): void {
    this.transactions.release(file);
    this.events.emit("closed", file);
  }
}

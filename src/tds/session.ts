import { randomBytes } from "node:crypto";
import { DataAccessError } from "../sql/index.js";
import { TdeError } from "../tde/index.js";
import { ByteReader, TdsProtocolError } from "./byte-reader.js";
import { colMetadata, columnsOf, rowToken } from "./results.js";
import { type ParamValue, type RpcParam, parseRpc, skipAllHeaders } from "./rpc.js";
import { SqlStatementError, mapSqliteError, statementError } from "./sql-errors.js";
import type { QueryTarget } from "./targets.js";
import { CurCmd, DoneStatus, EnvType, Token, done, envResetAck, envTxn, errorToken, infoToken, returnStatus, returnValueInt } from "./tokens.js";
import { type SessionFacts, type Statement, translateBatch } from "./tsql.js";

/** A statement prepared by sp_prepare / sp_prepexec, or the text of one sp_executesql. */
interface PreparedText {
  text: string;
  /** Parameter names in declaration order, for values sent by position. */
  declared: string[];
}

/** The database went away under the session (closed by the lifecycle, or dropped): end the connection. */
export class DatabaseGone extends Error {}

/** Collects one reply's tokens; DONE tokens get MORE except the last (tds.md §3.11). */
class Reply {
  readonly parts: Buffer[] = [];
  private readonly dones: number[] = [];
  push(b: Buffer): void {
    this.parts.push(b);
  }
  done(status: number, curCmd: number, rows: number, token: number = Token.DONE): void {
    this.dones.push(this.parts.length);
    this.parts.push(done(status, curCmd, rows, token));
  }
  get hasDone(): boolean {
    return this.dones.length > 0;
  }
  finish(): Buffer {
    for (const i of this.dones.slice(0, -1)) {
      const b = this.parts[i]!;
      b.writeUInt16LE(b.readUInt16LE(1) | DoneStatus.MORE, 1);
    }
    return this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
  }
}

const TM_BEGIN = 5;
const TM_COMMIT = 7;
const TM_ROLLBACK = 8;
/** ProcIDs of the system procedures served (MS-TDS 2.2.6.6). */
const PROC_IDS: Record<string, number> = { sp_executesql: 10, sp_prepare: 11, sp_execute: 12, sp_prepexec: 13, sp_unprepare: 15 };
/** `[master].[sys].[sp_prepare]` → `sp_prepare`: the name form old clients send. */
const procKey = (name: string) => name.replace(/[[\]]/g, "").toLowerCase().replace(/^(?:master\.)?(?:sys\.|dbo\.)?/, "");
/** Prepared handles a session may hold; more is refused rather than growing without bound (issue 8 §5). */
const MAX_PREPARED = 1024;
const EMPTY = Buffer.alloc(0);

/**
 * One logged-in connection's requests: SQL batches, RPC sp_executesql, transaction-manager requests and
 * their results. Statements run one by one on the engine (synchronously), so a request is atomic towards
 * other sessions except where it waits for another session's transaction.
 */
export class Session {
  nocount = false;
  tranCount = 0;
  private descriptor: Buffer = EMPTY;
  private readonly savepoints = new Set<string>();
  /** sp_prepare handles (per connection, as SQL Server's); RESETCONNECTION drops them. */
  private readonly prepared = new Map<number, PreparedText>();
  private nextHandle = 1;

  constructor(
    readonly spid: number,
    readonly server: string,
    readonly login: string,
    readonly target: QueryTarget,
  ) {}

  private facts(): SessionFacts {
    return { database: this.target.name, server: this.server, login: this.login, spid: this.spid, tranCount: this.tranCount };
  }

  /** RESETCONNECTION (tedious reset(), pooled reuse): a fresh session state, as SQL Server's sp_reset_connection. */
  reset(): Buffer {
    this.rollbackAll();
    this.nocount = false;
    this.prepared.clear();
    return envResetAck();
  }

  async batch(payload: Buffer, signal: AbortSignal): Promise<Buffer> {
    const r = new ByteReader(payload);
    skipAllHeaders(r);
    if (r.remaining % 2) throw new TdsProtocolError("SQL batch text is not UCS-2");
    const sql = r.bytes(r.remaining).toString("ucs2");
    const reply = new Reply();
    try {
      await this.runText(sql, new Map(), reply, Token.DONE, signal);
      if (!reply.hasDone) reply.done(DoneStatus.FINAL, CurCmd.NONE, 0);
    } catch (err) {
      reply.push(this.errorOf(err));
      reply.done(DoneStatus.ERROR, CurCmd.NONE, 0);
    }
    return reply.finish();
  }

  async rpc(payload: Buffer, signal: AbortSignal): Promise<Buffer> {
    const req = parseRpc(payload);
    const reply = new Reply();
    try {
      const proc = req.procId ?? PROC_IDS[procKey(req.procName)];
      const outputs: Buffer[] = [];
      if (proc === 10) {
        // sp_executesql: the first two parameters are positional (tedious names them @statement/@params, pytds does not).
        const [statement, declarations, ...values] = req.params;
        await this.runPrepared(this.statementOf(statement, declarations), values, reply, signal);
      } else if (proc === 11 || proc === 13) {
        // sp_prepare(@handle OUTPUT, @params, @stmt[, @options]) and sp_prepexec(@handle OUTPUT, @params, @stmt, values…):
        // mssql's PreparedStatement and ODBC/JDBC drivers.
        const [handle, declarations, statement, ...rest] = req.params;
        const prepared = this.statementOf(statement, declarations);
        if (this.prepared.size >= MAX_PREPARED) throw statementError(8179, 16, `Could not find prepared statement with handle ${this.nextHandle}.`);
        const id = this.nextHandle++;
        this.prepared.set(id, prepared);
        if (proc === 13) await this.runPrepared(prepared, rest, reply, signal);
        outputs.push(returnValueInt(0, `@${handle?.name || "handle"}`, id));
      } else if (proc === 12 || proc === 15) {
        // sp_execute(@handle, values…) and sp_unprepare(@handle).
        const [handle, ...values] = req.params;
        const id = typeof handle?.value === "number" ? handle.value : Number(handle?.value);
        const prepared = this.prepared.get(id);
        if (!prepared) throw statementError(8179, 16, `Could not find prepared statement with handle ${String(handle?.value)}.`);
        if (proc === 15) this.prepared.delete(id);
        else await this.runPrepared(prepared, values, reply, signal);
      } else throw statementError(2812, 16, `Could not find stored procedure '${req.procName}'.`, 62);
      reply.push(returnStatus(0));
      for (const o of outputs) reply.push(o);
      reply.done(DoneStatus.FINAL, CurCmd.EXECUTE, 0, Token.DONEPROC);
    } catch (err) {
      reply.push(this.errorOf(err));
      reply.done(DoneStatus.ERROR, CurCmd.EXECUTE, 0, Token.DONEPROC);
    }
    return reply.finish();
  }

  private statementOf(statement: RpcParam | undefined, declarations: RpcParam | undefined): PreparedText {
    if (typeof statement?.value !== "string") throw statementError(214, 16, "Procedure expects parameter '@statement' of type 'ntext/nchar/nvarchar'.", 2);
    const declared = typeof declarations?.value === "string" ? [...declarations.value.matchAll(/@([\w#$]+)/g)].map((m) => m[1]!) : [];
    return { text: statement.value, declared };
  }

  /** Binds values by name, or by position against the declarations (sp_execute sends them unnamed). */
  private async runPrepared(prepared: PreparedText, values: RpcParam[], reply: Reply, signal: AbortSignal): Promise<void> {
    const params = new Map<string, ParamValue>();
    values.forEach((p, i) => params.set((p.name || prepared.declared[i] || "").toLowerCase(), p.value));
    await this.runText(prepared.text, params, reply, Token.DONEINPROC, signal);
  }

  /** TRANSACTION_MANAGER (0x0E): begin, commit and rollback requests from tedious/mssql (tds.md §3.10). */
  async transactionManager(payload: Buffer, signal: AbortSignal): Promise<Buffer> {
    const r = new ByteReader(payload);
    skipAllHeaders(r);
    const type = r.u16("TM request type");
    const reply = new Reply();
    try {
      if (type === TM_BEGIN) {
        r.u8("isolation level");
        await this.begin(reply, signal);
      } else if (type === TM_COMMIT) this.commit(reply);
      else if (type === TM_ROLLBACK) {
        const name = r.remaining ? r.bVarchar("savepoint name") : "";
        this.rollback(reply, name || undefined);
      } else throw statementError(40517, 16, `Keyword or statement option 'transaction manager request ${type}' is not supported in this version of SQL Server.`);
      reply.done(DoneStatus.FINAL, CurCmd.NONE, 0);
    } catch (err) {
      reply.push(this.errorOf(err));
      reply.done(DoneStatus.ERROR, CurCmd.NONE, 0);
    }
    return reply.finish();
  }

  /** The connection is going away: an open transaction is rolled back and the gate released. */
  close(): void {
    try {
      this.rollbackAll();
    } catch {
      // the database may already be closed; its transaction went with it
    }
    this.target.close();
  }

  private rollbackAll(): void {
    if (this.tranCount > 0) {
      this.tranCount = 0;
      this.savepoints.clear();
      try {
        this.query("ROLLBACK", []);
      } finally {
        this.target.release(this);
      }
    }
  }

  private async runText(sql: string, params: Map<string, ParamValue>, reply: Reply, doneToken: number, signal: AbortSignal): Promise<void> {
    const facts = () => this.facts();
    const batch = translateBatch(sql, facts);
    for (const stmt of Array.isArray(batch) ? batch : batch(facts)) await this.execute(stmt, params, reply, doneToken, signal);
  }

  private async execute(stmt: Statement, params: Map<string, ParamValue>, reply: Reply, doneToken: number, signal: AbortSignal): Promise<void> {
    switch (stmt.kind) {
      case "noop":
        return;
      case "nocount":
        this.nocount = stmt.on;
        return;
      case "begin":
        return this.begin(reply, signal);
      case "commit":
        return this.commit(reply);
      case "rollback":
        return this.rollback(reply, stmt.savepoint);
      case "save":
        if (this.tranCount === 0) throw statementError(628, 16, "Cannot issue SAVE TRANSACTION when there is no active transaction.");
        this.query(`SAVEPOINT "${stmt.name.replace(/"/g, '""')}"`, []);
        this.savepoints.add(stmt.name.toLowerCase());
        return;
      case "use":
        if (stmt.database.toLowerCase() === this.target.name.toLowerCase()) return;
        throw statementError(40508, 16, "USE statement is not supported to switch between databases. Use a new connection to connect to a different database.");
      case "unsupported":
        throw statementError(102, 15, `Incorrect syntax near '${stmt.near}'.`);
      case "print": {
        await this.target.enter(this, signal);
        const result = this.query(stmt.sql, bind(stmt.params, params));
        const first = result.rows[0];
        const value = first ? first[result.columns[0]!] : null;
        reply.push(infoToken({ number: 0, state: 1, message: value === null || value === undefined ? "" : String(value), serverName: this.server, line: 1 }));
        return;
      }
      case "sql": {
        await this.target.enter(this, signal);
        const result = this.query(stmt.sql, bind(stmt.params, params));
        const count = this.nocount ? 0 : DoneStatus.COUNT;
        if (result.columns.length > 0) {
          const cols = columnsOf(result.columns, result.rows);
          reply.push(colMetadata(cols));
          for (const row of result.rows) reply.push(rowToken(cols, row));
          reply.done(count, CurCmd.SELECT, result.rows.length, doneToken);
        } else {
          const dml = stmt.curCmd === CurCmd.INSERT || stmt.curCmd === CurCmd.UPDATE || stmt.curCmd === CurCmd.DELETE;
          reply.done(dml ? count : 0, stmt.curCmd, dml ? result.changes : 0, doneToken);
        }
        return;
      }
    }
  }

  /** BEGIN TRAN nests as in SQL Server (@@TRANCOUNT); only the outermost one starts SQLite's transaction. */
  private async begin(reply: Reply, signal: AbortSignal): Promise<void> {
    if (this.tranCount === 0) {
      await this.target.enter(this, signal);
      this.query("BEGIN", []);
      this.target.hold(this);
      this.descriptor = randomBytes(8);
      reply.push(envTxn(EnvType.BEGIN_TXN, this.descriptor, EMPTY));
    }
    this.tranCount++;
  }

  private commit(reply: Reply): void {
    if (this.tranCount === 0) throw statementError(3902, 16, "The COMMIT TRANSACTION request has no corresponding BEGIN TRANSACTION.");
    if (--this.tranCount > 0) return;
    this.savepoints.clear();
    try {
      this.query("COMMIT", []);
    } finally {
      this.target.release(this);
    }
    reply.push(envTxn(EnvType.COMMIT_TXN, EMPTY, this.descriptor));
  }

  private rollback(reply: Reply, savepoint?: string): void {
    if (savepoint && this.savepoints.has(savepoint.toLowerCase())) {
      this.query(`ROLLBACK TO "${savepoint.replace(/"/g, '""')}"`, []);
      return;
    }
    if (this.tranCount === 0) throw statementError(3903, 16, "The ROLLBACK TRANSACTION request has no corresponding BEGIN TRANSACTION.");
    this.rollbackAll();
    reply.push(envTxn(EnvType.ROLLBACK_TXN, EMPTY, this.descriptor));
  }

  private query(sql: string, params: unknown[]) {
    try {
      return this.target.query(sql, params);
    } catch (err) {
      if (err instanceof TdeError && err.reason === "closed") throw new DatabaseGone(err.message);
      throw err;
    }
  }

  private errorOf(err: unknown): Buffer {
    if (err instanceof DatabaseGone || err instanceof TdsProtocolError) throw err;
    let e: SqlStatementError;
    if (err instanceof SqlStatementError) e = err;
    else if (err instanceof DataAccessError) e = statementError(err.number, err.severity, err.message, err.state);
    else if (err instanceof TdeError) e = mapSqliteError(err.message, this.target.name);
    else if (err instanceof Error && err.name === "AbortError") throw err;
    else if (err instanceof Error && /^(?:RangeError|SqliteError)$/.test(err.name)) e = mapSqliteError(err.message, this.target.name);
    else throw err;
    return errorToken({ ...e.info, serverName: this.server, line: 1 });
  }
}

/** Binds only the names the statement uses (better-sqlite3 rejects extra ones: tds.md pitfall 12). */
function bind(names: string[], params: Map<string, ParamValue>): unknown[] {
  if (!names.length) return [];
  const out: Record<string, unknown> = {};
  for (const name of names) {
    const key = name.toLowerCase();
    if (params.has(key)) out[name] = params.get(key);
  }
  return [out];
}

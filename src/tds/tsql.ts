import { type SqlToken, isWord, significant, tokenize } from "./tsql-lexer.js";
import { CurCmd } from "./tokens.js";

/** What a statement of a batch asks the session to do. */
export type Statement =
  | { kind: "sql"; sql: string; curCmd: number; params: string[] }
  | { kind: "nocount"; on: boolean }
  | { kind: "noop" }
  | { kind: "begin" }
  | { kind: "commit" }
  | { kind: "rollback"; savepoint?: string }
  | { kind: "save"; name: string }
  | { kind: "use"; database: string }
  | { kind: "print"; sql: string; params: string[] }
  | { kind: "unsupported"; near: string };

/** Session values that T-SQL built-ins read (@@SPID, DB_NAME() …). */
export interface SessionFacts {
  database: string;
  server: string;
  login: string;
  spid: number;
  tranCount: number;
}

export const VERSION_TEXT =
  "Microsoft SQL Azure (RTM) - 12.0.2000.8 \n\tCopyright (C) 2022 Microsoft Corporation\n\ttdekv (SQLite with AEGIS-256 page encryption)";

/** Keywords that may start a statement on a new line of a batch without a semicolon. */
const STARTERS = new Set(["SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER", "TRUNCATE", "SET", "PRINT", "USE", "BEGIN", "COMMIT", "ROLLBACK", "SAVE", "DECLARE", "EXEC", "EXECUTE", "WITH", "MERGE", "IF", "WHILE", "RETURN"]);
/** Statements that end at the end of their line (tedious' initial batch is SET lines without semicolons). */
const LINE_STATEMENTS = new Set(["SET", "USE", "PRINT", "COMMIT", "ROLLBACK", "SAVE"]);
/** After these, a line-initial keyword continues the statement (`UNION ALL\nSELECT`, `AS\nSELECT`). */
const CONTINUERS = new Set(["UNION", "ALL", "EXCEPT", "INTERSECT", "AS", "(", ",", "=", "THEN", "ELSE", "AND", "OR", "NOT", "IN", "EXISTS"]);

/**
 * Splits a batch on `;`, on `GO` lines, at the end of line statements, and before a keyword that starts a
 * new line when the statement so far is complete (SQL Server accepts `SELECT 1\nSELECT 2`). Heuristic by
 * design: `INSERT … \nSELECT`, `UPDATE …\nSET` and `WITH … \nSELECT` stay together.
 */
export function splitBatch(sql: string): SqlToken[][] {
  const tokens = tokenize(sql);
  const out: SqlToken[][] = [];
  let cur: SqlToken[] = [];
  let depth = 0;
  let lineStart = true;
  let prev: SqlToken | undefined;
  let first = "";
  let seenBody = false;
  const flush = () => {
    if (cur.some(significant)) out.push(cur);
    cur = [];
    depth = 0;
    prev = undefined;
    first = "";
    seenBody = false;
  };
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.kind === "ws") {
      if (t.text.includes("\n")) {
        if (depth === 0 && LINE_STATEMENTS.has(first) && !(first === "SET" && prev?.kind === "word" && prev.upper === "SET")) {
          flush();
          lineStart = true;
          continue;
        }
        lineStart = true;
      }
      cur.push(t);
      continue;
    }
    if (t.kind === "comment") {
      cur.push(t);
      continue;
    }
    if (t.kind === "punct" && t.text === ";" && depth <= 0) {
      flush();
      lineStart = false;
      continue;
    }
    if (lineStart && isWord(t, "GO") && (tokens[i + 1] === undefined || /\n/.test(tokens[i + 1]!.text) || tokens[i + 1]!.kind === "num")) {
      flush();
      if (tokens[i + 1]?.kind === "num") i++;
      continue;
    }
    if (lineStart && t.kind === "word" && STARTERS.has(t.upper) && first && depth === 0 && !CONTINUERS.has(prev?.upper ?? "")) {
      const joins =
        (first === "INSERT" && !seenBody && (t.upper === "SELECT" || t.upper === "EXEC" || t.upper === "EXECUTE" || t.upper === "WITH")) ||
        (first === "UPDATE" && !seenBody && t.upper === "SET") ||
        (first === "WITH" && !seenBody && ["SELECT", "INSERT", "UPDATE", "DELETE"].includes(t.upper)) ||
        (first === "CREATE" && (prev?.upper === "AS" || t.upper === "SELECT"));
      if (!joins) flush();
    }
    lineStart = false;
    if (t.kind === "punct" && t.text === "(") depth++;
    if (t.kind === "punct" && t.text === ")") depth--;
    if (!first && t.kind === "word") first = t.upper;
    else if (depth === 0 && t.kind === "word") {
      if (first === "INSERT" && ["VALUES", "SELECT", "DEFAULT", "EXEC", "EXECUTE"].includes(t.upper)) seenBody = true;
      if (first === "UPDATE" && t.upper === "SET") seenBody = true;
      if (first === "WITH" && ["SELECT", "INSERT", "UPDATE", "DELETE"].includes(t.upper) && prev?.text === ")") seenBody = true;
    }
    cur.push(t);
    prev = t;
  }
  flush();
  return out;
}

const sq = (s: string) => `'${s.replace(/'/g, "''")}'`;
const NOW = "(strftime('%Y-%m-%d %H:%M:%f','now'))";
const NEWID = "(upper(hex(randomblob(4))||'-'||hex(randomblob(2))||'-4'||substr(hex(randomblob(2)),2)||'-'||substr('89AB',1+(abs(random())%4),1)||substr(hex(randomblob(2)),2)||'-'||hex(randomblob(6))))";
const SERVER_PROPERTIES: Record<string, string> = {
  PRODUCTVERSION: "'12.0.2000.8'",
  PRODUCTMAJORVERSION: "'12'",
  PRODUCTLEVEL: "'RTM'",
  EDITION: "'SQL Azure'",
  ENGINEEDITION: "5",
  COLLATION: "'SQL_Latin1_General_CP1_CI_AS'",
  ISINTEGRATEDSECURITYONLY: "0",
};

/** Index of the next significant token at or after `i`. */
function nextSig(ts: SqlToken[], i: number): number {
  while (i < ts.length && !significant(ts[i]!)) i++;
  return i;
}

/** Index of the `)` that closes the `(` at `open`, or -1. */
function closing(ts: SqlToken[], open: number): number {
  let depth = 0;
  for (let i = open; i < ts.length; i++) {
    if (ts[i]!.text === "(" && ts[i]!.kind === "punct") depth++;
    if (ts[i]!.text === ")" && ts[i]!.kind === "punct" && --depth === 0) return i;
  }
  return -1;
}

/** Turns one statement's tokens into what the session runs. */
export function translate(ts: SqlToken[], facts: SessionFacts): Statement {
  const sig = ts.filter(significant);
  const w0 = sig[0]?.upper ?? "";
  const w1 = sig[1]?.upper ?? "";
  if (w0 === "SET") {
    if (w1 === "NOCOUNT") return { kind: "nocount", on: (sig[2]?.upper ?? "") === "ON" };
    if (sig[1]?.kind === "var") return { kind: "unsupported", near: sig[1].text };
    return { kind: "noop" };
  }
  if (w0 === "BEGIN") return w1 === "TRAN" || w1 === "TRANSACTION" || w1 === "DISTRIBUTED" ? { kind: "begin" } : { kind: "unsupported", near: "BEGIN" };
  if (w0 === "COMMIT") return { kind: "commit" };
  if (w0 === "ROLLBACK") {
    const name = ["TRAN", "TRANSACTION", "WORK"].includes(w1) ? sig[2] : sig[1];
    return { kind: "rollback", ...(name && name.kind !== "punct" ? { savepoint: unquote(name.text) } : {}) };
  }
  if (w0 === "SAVE") return { kind: "save", name: unquote(sig[2]?.text ?? "sp") };
  if (w0 === "USE") return { kind: "use", database: unquote(sig[1]?.text ?? "") };
  if (w0 === "PRINT") {
    const body = rewrite(ts.slice(ts.indexOf(sig[0]!) + 1), facts);
    return { kind: "print", sql: `SELECT ${body.sql}`, params: body.params };
  }
  const { sql, params } = rewrite(ts, facts);
  const verb = w0 === "WITH" ? (sig.find((t, i) => i > 0 && ["SELECT", "INSERT", "UPDATE", "DELETE"].includes(t.upper))?.upper ?? "") : w0;
  const curCmd = verb === "SELECT" ? CurCmd.SELECT : verb === "INSERT" ? CurCmd.INSERT : verb === "UPDATE" ? CurCmd.UPDATE : verb === "DELETE" ? CurCmd.DELETE : CurCmd.NONE;
  return { kind: "sql", sql, curCmd, params };
}

const unquote = (s: string) => s.replace(/^\[(.*)\]$/s, "$1").replace(/^"(.*)"$/s, "$1");

/** The rewrite table of tds.md §7, applied token by token outside literals. */
function rewrite(ts: SqlToken[], facts: SessionFacts): { sql: string; params: string[] } {
  const out: string[] = [];
  const params = new Set<string>();
  /** Pending `LIMIT n` for a TOP, per parenthesis depth. */
  const limits = new Map<number, string>();
  let depth = 0;
  let lastWord = "";
  let beforeLast = "";
  for (let i = 0; i < ts.length; i++) {
    const t = ts[i]!;
    const after = nextSig(ts, i + 1);
    const nx = ts[after];
    const call = nx?.kind === "punct" && nx.text === "(";
    const emptyCall = call && ts[nextSig(ts, after + 1)]?.text === ")";
    const skipCall = () => (i = nextSig(ts, after + 1));
    if (t.kind === "str") {
      out.push(t.text[0] === "N" || t.text[0] === "n" ? t.text.slice(1) : t.text);
      continue;
    }
    if (t.kind === "var") {
      params.add(t.text.slice(1));
      out.push(t.text);
      continue;
    }
    if (t.kind === "gvar") {
      const g = t.text.toUpperCase();
      const literal: Record<string, string> = {
        "@@VERSION": sq(VERSION_TEXT),
        "@@SPID": String(facts.spid),
        "@@SERVERNAME": sq(facts.server),
        "@@ROWCOUNT": "changes()",
        "@@IDENTITY": "last_insert_rowid()",
        "@@TRANCOUNT": String(facts.tranCount),
        "@@LANGUAGE": "'us_english'",
        "@@DATEFIRST": "7",
        "@@MAX_PRECISION": "38",
        "@@ERROR": "0",
      };
      out.push(literal[g] ?? t.text);
      continue;
    }
    if (t.kind === "punct") {
      if (t.text === "(") depth++;
      if (t.text === ")") {
        const limit = limits.get(depth);
        if (limit) {
          out.push(` LIMIT ${limit}`);
          limits.delete(depth);
        }
        depth--;
      }
      out.push(t.text);
      continue;
    }
    if ((t.kind === "word" && t.upper === "DBO") || (t.kind === "qid" && t.text.toUpperCase() === "[DBO]")) {
      if (nx?.kind === "punct" && nx.text === ".") {
        i = after;
        continue;
      }
    }
    if (t.kind !== "word") {
      out.push(t.text);
      continue;
    }
    const u = t.upper;
    let replaced: string | undefined;
    if (emptyCall && (u === "GETDATE" || u === "GETUTCDATE" || u === "SYSDATETIME" || u === "SYSUTCDATETIME")) replaced = NOW;
    else if (emptyCall && u === "SYSDATETIMEOFFSET") replaced = `(${NOW} || ' +00:00')`;
    else if (emptyCall && u === "NEWID") replaced = NEWID;
    else if (emptyCall && u === "DB_NAME") replaced = sq(facts.database);
    else if (emptyCall && ["SUSER_SNAME", "SUSER_NAME", "USER_NAME", "ORIGINAL_LOGIN"].includes(u)) replaced = sq(facts.login);
    else if (emptyCall && u === "SCOPE_IDENTITY") replaced = "last_insert_rowid()";
    if (replaced !== undefined) {
      skipCall();
      out.push(replaced);
      beforeLast = lastWord;
      lastWord = u;
      continue;
    }
    if (!call && ["SYSTEM_USER", "CURRENT_USER", "SESSION_USER"].includes(u)) {
      out.push(sq(facts.login));
      continue;
    }
    if (call && (u === "SERVERPROPERTY" || u === "DATABASEPROPERTYEX")) {
      const end = closing(ts, after);
      const args = ts.slice(after + 1, end < 0 ? ts.length : end).filter((x) => x.kind === "str");
      const name = (args[args.length - 1]?.text ?? "").replace(/^N?'|'$/gi, "").toUpperCase();
      out.push(u === "SERVERPROPERTY" ? (SERVER_PROPERTIES[name] ?? "NULL") : name === "STATUS" ? "'ONLINE'" : name === "UPDATEABILITY" ? "'READ_WRITE'" : "NULL");
      i = end < 0 ? ts.length : end;
      continue;
    }
    if (call && u === "ISNULL") {
      out.push("IFNULL");
      continue;
    }
    if (call && u === "LEN") {
      out.push("LENGTH");
      continue;
    }
    if (call && u === "IDENTITY" && depth > 0) {
      // `id INT IDENTITY(1,1)`: SQLite's INTEGER PRIMARY KEY is the auto-numbered rowid alias.
      const end = closing(ts, after);
      for (let k = out.length - 1; k >= 0; k--) {
        if (/^(?:INT|BIGINT|SMALLINT|TINYINT|INTEGER)$/i.test(out[k]!)) {
          out[k] = "INTEGER";
          break;
        }
        if (out[k]!.trim()) break;
      }
      i = end < 0 ? ts.length : end;
      continue;
    }
    if (call && /^(?:N?VARCHAR|VARBINARY)$/.test(u) && ts[nextSig(ts, after + 1)]?.upper === "MAX") {
      // NVARCHAR(MAX): SQLite type names take numbers only.
      out.push(t.text);
      i = closing(ts, after);
      if (i < 0) i = ts.length;
      continue;
    }
    if (u === "TOP" && (lastWord === "SELECT" || ((lastWord === "DISTINCT" || lastWord === "ALL") && beforeLast === "SELECT"))) {
      // TOP n / TOP (n) → LIMIT n at the end of this SELECT's level (tds.md §7).
      if (call) {
        const end = closing(ts, after);
        limits.set(depth, ts.slice(after + 1, end).map((x) => (x.kind === "var" ? (params.add(x.text.slice(1)), x.text) : x.text)).join(""));
        i = end < 0 ? ts.length : end;
      } else if (nx && (nx.kind === "num" || nx.kind === "var")) {
        if (nx.kind === "var") params.add(nx.text.slice(1));
        limits.set(depth, nx.text);
        i = after;
      } else out.push(t.text);
      continue;
    }
    if (u === "OFFSET" && nx && (nx.kind === "num" || nx.kind === "var")) {
      // OFFSET n ROWS FETCH NEXT m ROWS ONLY → LIMIT m OFFSET n
      const rowsAt = nextSig(ts, after + 1);
      if (isWord(ts[rowsAt], "ROWS", "ROW")) {
        let j = nextSig(ts, rowsAt + 1);
        let fetch = "-1";
        if (isWord(ts[j], "FETCH") && isWord(ts[nextSig(ts, j + 1)], "NEXT", "FIRST")) {
          const countAt = nextSig(ts, nextSig(ts, j + 1) + 1);
          const count = ts[countAt];
          const onlyAt = nextSig(ts, nextSig(ts, countAt + 1) + 1);
          if (count && isWord(ts[onlyAt], "ONLY")) {
            fetch = count.text;
            if (count.kind === "var") params.add(count.text.slice(1));
            j = onlyAt + 1;
          }
        }
        if (nx.kind === "var") params.add(nx.text.slice(1));
        out.push(`LIMIT ${fetch} OFFSET ${nx.text}`);
        i = j - 1;
        continue;
      }
    }
    out.push(t.text);
    beforeLast = lastWord;
    lastWord = u;
  }
  const top = limits.get(0);
  if (top) out.push(` LIMIT ${top}`);
  return { sql: out.join(""), params: [...params] };
}

/** Translations of recently seen batch texts: drivers repeat the same parameterised statements. */
const CACHE_ENTRIES = 1024;
const CACHE_MAX_TEXT = 4096;
const cache = new Map<string, Statement[]>();

/**
 * splitBatch + translate, memoised per (text, session facts): the facts are part of the key because @@SPID,
 * DB_NAME() and @@TRANCOUNT are rewritten to literals. Only transaction-free statement lists are cached,
 * since a statement's facts (@@TRANCOUNT) can change within its own batch.
 */
export function translateBatch(sql: string, facts: () => SessionFacts): Statement[] | ((f: () => SessionFacts) => Generator<Statement>) {
  const f = facts();
  const key = `${f.spid}\u0000${f.tranCount}\u0000${f.database}\u0000${f.login}\u0000${f.server}\u0000${sql}`;
  const hit = cache.get(key);
  if (hit) {
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const parts = splitBatch(sql);
  const first = parts.length === 1 ? translate(parts[0]!, f) : undefined;
  if (first && first.kind !== "begin" && first.kind !== "commit" && first.kind !== "rollback" && first.kind !== "save") {
    const out = [first];
    if (sql.length <= CACHE_MAX_TEXT) {
      cache.set(key, out);
      if (cache.size > CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
    }
    return out;
  }
  // Several statements: translate each just before it runs (a BEGIN TRAN changes @@TRANCOUNT for the next).
  return function* (next: () => SessionFacts) {
    for (const tokens of parts) yield translate(tokens, next());
  };
}

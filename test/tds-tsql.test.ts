import { test } from "node:test";
import assert from "node:assert/strict";
import { splitBatch, translate, type SessionFacts } from "../src/tds/tsql.js";
import { mapSqliteError } from "../src/tds/sql-errors.js";

/** The T-SQL subset (tds.md §7) as pure functions: what each client statement becomes for SQLite. */
const facts: SessionFacts = { database: "appdb", server: "myserver", login: "admin1", spid: 53, tranCount: 0 };
const one = (text: string) => {
  const parts = splitBatch(text);
  assert.equal(parts.length, 1, `one statement in ${JSON.stringify(text)}`);
  return translate(parts[0]!, facts);
};
const sqlOf = (text: string) => {
  const s = one(text);
  assert.equal(s.kind, "sql");
  return (s as { sql: string }).sql.replace(/\s+/g, " ").replace(/ \)/g, ")");
};

test("splitting: semicolons, GO, SET lines, and new lines that start a statement", () => {
  const texts = (t: string) => splitBatch(t).map((p) => p.map((x) => x.text).join("").trim());
  assert.deepEqual(texts("SELECT 1; SELECT ';' AS x;"), ["SELECT 1", "SELECT ';' AS x"]);
  assert.deepEqual(texts("set ansi_nulls on\nset textsize 2147483647\nset xact_abort off"), ["set ansi_nulls on", "set textsize 2147483647", "set xact_abort off"]);
  assert.deepEqual(texts("SELECT 1\nGO\nSELECT 2"), ["SELECT 1", "SELECT 2"]);
  assert.deepEqual(texts("SELECT 1\nSELECT 2"), ["SELECT 1", "SELECT 2"]);
  assert.deepEqual(texts("INSERT INTO t (a)\nSELECT 1"), ["INSERT INTO t (a)\nSELECT 1"]);
  assert.deepEqual(texts("UPDATE t\nSET a = 1\nWHERE b = 2"), ["UPDATE t\nSET a = 1\nWHERE b = 2"]);
  assert.deepEqual(texts("SELECT a FROM x\nUNION ALL\nSELECT a FROM y"), ["SELECT a FROM x\nUNION ALL\nSELECT a FROM y"]);
  assert.deepEqual(texts("WITH c AS (SELECT 1 AS n)\nSELECT n FROM c"), ["WITH c AS (SELECT 1 AS n)\nSELECT n FROM c"]);
  assert.deepEqual(texts("-- only a comment\n"), []);
});

test("rewrites outside literals", () => {
  assert.equal(sqlOf("SELECT TOP 3 * FROM dbo.t ORDER BY id"), "SELECT * FROM t ORDER BY id LIMIT 3");
  assert.equal(sqlOf("SELECT DISTINCT TOP (@n) a FROM t"), "SELECT DISTINCT a FROM t LIMIT @n");
  assert.equal(sqlOf("SELECT * FROM (SELECT TOP 1 a FROM t) x"), "SELECT * FROM (SELECT a FROM t LIMIT 1) x");
  assert.equal(sqlOf("SELECT N'héllo', 'it''s TOP 5'"), "SELECT 'héllo', 'it''s TOP 5'");
  assert.equal(sqlOf("SELECT ISNULL(a, 0), LEN(b) FROM [dbo].[t]"), "SELECT IFNULL(a, 0), LENGTH(b) FROM [t]");
  assert.equal(sqlOf("SELECT DB_NAME(), @@SPID, @@SERVERNAME, SUSER_SNAME()"), "SELECT 'appdb', 53, 'myserver', 'admin1'");
  assert.equal(sqlOf("SELECT a FROM t ORDER BY a OFFSET 10 ROWS FETCH NEXT 5 ROWS ONLY"), "SELECT a FROM t ORDER BY a LIMIT 5 OFFSET 10");
  assert.equal(sqlOf("CREATE TABLE t (id INT IDENTITY(1,1) PRIMARY KEY, s NVARCHAR(MAX))"), "CREATE TABLE t (id INTEGER PRIMARY KEY, s NVARCHAR)");
  assert.equal(sqlOf("SELECT SERVERPROPERTY('EngineEdition'), SERVERPROPERTY(N'Edition')"), "SELECT 5, 'SQL Azure'");
  assert.match(sqlOf("SELECT GETDATE()"), /^SELECT \(strftime\('%Y-%m-%d %H:%M:%f','now'\)\)$/);
  assert.deepEqual((one("SELECT a FROM t WHERE id = @id AND b = @B") as { params: string[] }).params, ["id", "B"]);
});

test("session statements", () => {
  assert.deepEqual(one("SET NOCOUNT ON"), { kind: "nocount", on: true });
  assert.deepEqual(one("set transaction isolation level read committed"), { kind: "noop" });
  assert.deepEqual(one("BEGIN TRANSACTION"), { kind: "begin" });
  assert.deepEqual(one("COMMIT TRAN"), { kind: "commit" });
  assert.deepEqual(one("ROLLBACK TRANSACTION sp1"), { kind: "rollback", savepoint: "sp1" });
  assert.deepEqual(one("USE [other]"), { kind: "use", database: "other" });
  assert.deepEqual(one("BEGIN SELECT 1 END"), { kind: "unsupported", near: "BEGIN" });
});

test("SQLite messages become SQL Server errors", () => {
  const cases: [string, number][] = [
    ["no such table: main.orders", 208],
    ["no such column: x", 207],
    ['near "FORM": syntax error', 102],
    ["UNIQUE constraint failed: t.id", 2627],
    ["NOT NULL constraint failed: t.name", 515],
    ["FOREIGN KEY constraint failed", 547],
    ["table t already exists", 2714],
    ["something new", 50000],
  ];
  for (const [message, number] of cases) assert.equal(mapSqliteError(message, "appdb").info.number, number, message);
  assert.equal(mapSqliteError("no such table: main.orders", "appdb").info.message, "Invalid object name 'orders'.");
});

import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import sql from "mssql";
import { Request } from "tedious";
import { clientToken } from "./harness.js";
import { Drill, MARKER } from "./lifecycle-kit.js";
import { mssqlConfig, tediousConfig, tediousConnect, tediousQuery, type Encrypt } from "./tds-kit.js";

/**
 * Issue 8 verification with the real drivers: mssql 12 on tedious 19 against tdekv's TDS endpoint, with
 * certificate verification on in every encrypted mode, SQL and Entra logins, Azure's login errors,
 * parameterised queries, transactions, cancel and SQLite errors as SQL Server numbers.
 */
let d: Drill;
let server: string;
const pools: sql.ConnectionPool[] = [];

async function pool(opts: Parameters<typeof mssqlConfig>[2] = {}): Promise<sql.ConnectionPool> {
  const p = await new sql.ConnectionPool(mssqlConfig(d.inst, server, { database: "db", ...opts })).connect();
  pools.push(p);
  return p;
}

before(async () => {
  d = await Drill.start();
  server = (await d.scenario("tds")).server;
});

after(async () => {
  for (const p of pools) await p.close().catch(() => {});
  await d.inst.stop();
});

describe("encryption and certificates", () => {
  for (const encrypt of [false, true, "strict"] as Encrypt[]) {
    test(`encrypt: ${encrypt} connects and reads the encrypted database`, async () => {
      const p = await pool({ encrypt });
      const r = await p.request().query("SELECT v FROM t");
      assert.deepEqual(r.recordset, [{ v: MARKER }]);
    });
  }

  for (const encrypt of [true, "strict"] as Encrypt[]) {
    test(`encrypt: ${encrypt} refuses the certificate when tdekv's CA is not trusted`, async () => {
      const config = mssqlConfig(d.inst, server, { database: "db", encrypt });
      (config.options as any).cryptoCredentialsDetails = {};
      await assert.rejects(new sql.ConnectionPool(config).connect(), (e: Error) => /certificate/i.test(e.message + String((e as any).originalError?.message)));
    });
  }
});

describe("server routing and login errors", () => {
  test("user@server with localhost and no TLS reaches the server", async () => {
    const r = await tediousConnect({ ...tediousConfig(d.inst, server, { encrypt: false, user: `admin1@${server}` }), server: "localhost" });
    assert.ifError(r.error);
    const q = await tediousQuery(r.conn!, "SELECT DB_NAME() AS db, SUSER_SNAME() AS who");
    assert.deepEqual(q.rows, [{ db: "db", who: "admin1" }]);
    r.conn!.close();
  });

  test("SNI from options.serverName routes a localhost connection", async () => {
    const config = tediousConfig(d.inst, server);
    const r = await tediousConnect({ ...config, server: "localhost", options: { ...config.options, serverName: `${server}.database.windows.net` } });
    assert.ifError(r.error);
    r.conn!.close();
  });

  test("no server name at all is 40531", async () => {
    const r = await tediousConnect({ ...tediousConfig(d.inst, server, { encrypt: false }), server: "localhost" });
    assert.ok(r.error);
    assert.equal(r.messages[0]?.number, 40531);
    assert.match(r.messages[0]!.message, /^Server name cannot be determined\./);
  });

  test("host and user@ naming different servers is 40531", async () => {
    const r = await tediousConnect(tediousConfig(d.inst, server, { user: "admin1@someoneelse" }));
    assert.equal(r.messages[0]?.number, 40531);
  });

  test("an unknown server is 40532", async () => {
    const r = await tediousConnect(tediousConfig(d.inst, "nosuchserver"));
    assert.deepEqual(
      r.messages.map((m) => [m.number, m.class, m.message]),
      [[40532, 11, 'Cannot open server "nosuchserver" requested by the login. The login failed.']],
    );
  });

  test("a wrong password is 18456 through mssql", async () => {
    await assert.rejects(new sql.ConnectionPool(mssqlConfig(d.inst, server, { database: "db", password: "wrong-Passw0rd" })).connect(), (e: any) => {
      assert.equal(e.code, "ELOGIN");
      assert.equal(e.message, "Login failed for user 'admin1'.");
      return true;
    });
    const r = await tediousConnect(tediousConfig(d.inst, server, { user: "nobody", password: "x" }));
    assert.deepEqual(r.messages.map((m) => [m.number, m.class]), [[18456, 14]]);
  });

  test("a missing database is 4060", async () => {
    const r = await tediousConnect(tediousConfig(d.inst, server, { database: "nodb" }));
    assert.deepEqual(r.messages.map((m) => [m.number, m.class, m.message]), [[4060, 11, 'Cannot open database "nodb" requested by the login. The login failed.']]);
  });

  test("without a database the login lands in master", async () => {
    const p = await new sql.ConnectionPool(mssqlConfig(d.inst, server)).connect();
    pools.push(p);
    const r = await p.request().query("SELECT DB_NAME() AS db, SERVERPROPERTY('EngineEdition') AS edition");
    assert.deepEqual(r.recordset, [{ db: "master", edition: 5 }]);
  });
});

describe("Entra logins", () => {
  test("an access token for https://database.windows.net/ logs in (FEDAUTH SECURITYTOKEN)", async () => {
    const token = await clientToken(d.inst, "https://database.windows.net/.default");
    const p = await pool({ token });
    const r = await p.request().query("SELECT v FROM t");
    assert.deepEqual(r.recordset, [{ v: MARKER }]);
  });

  test("a TokenCredential logs in through FEDAUTHINFO and FEDAUTH_TOKEN (MSAL flow)", async () => {
    const config = tediousConfig(d.inst, server);
    const r = await tediousConnect({ ...config, authentication: { type: "token-credential", options: { credential: d.c.credential } } } as any);
    assert.ifError(r.error);
    const q = await tediousQuery(r.conn!, "SELECT v FROM t");
    assert.deepEqual(q.rows, [{ v: MARKER }]);
    r.conn!.close();
  });

  test("a token for another audience is 18456", async () => {
    const token = await clientToken(d.inst, "https://management.azure.com/.default");
    const r = await tediousConnect(tediousConfig(d.inst, server, { token }));
    assert.deepEqual(r.messages.map((m) => [m.number, m.message]), [[18456, "Login failed for user '<token-identified principal>'."]]);
  });

  test("a tampered token is 18456", async () => {
    const token = await clientToken(d.inst, "https://database.windows.net/.default");
    const r = await tediousConnect(tediousConfig(d.inst, server, { token: token.slice(0, -4) + "AAAA" }));
    assert.equal(r.messages[0]?.number, 18456);
  });
});

describe("queries", () => {
  test("typed parameters round-trip through sp_executesql", async () => {
    const p = await pool();
    await p.request().batch("CREATE TABLE typed (id INT IDENTITY(1,1) PRIMARY KEY, i INT, b BIGINT, s NVARCHAR(50), a VARCHAR(20), f FLOAT, m DECIMAL(10,2), bit BIT, bin VARBINARY(MAX), g UNIQUEIDENTIFIER, dt DATETIME2)");
    const ins = await p
      .request()
      .input("i", sql.Int, -7)
      .input("b", sql.BigInt, 9007199254740993n as any)
      .input("s", sql.NVarChar(50), "kiwi ü€ 𝄞")
      .input("a", sql.VarChar(20), "café")
      .input("f", sql.Float, 2.5)
      .input("m", sql.Decimal(10, 2), 12.34)
      .input("bit", sql.Bit, true)
      .input("bin", sql.VarBinary(sql.MAX), Buffer.from([0xde, 0xad, 0xbe, 0xef]))
      .input("g", sql.UniqueIdentifier, "6F9619FF-8B86-D011-B42D-00C04FC964FF")
      .input("dt", sql.DateTime2, new Date("2026-11-28T10:11:12.345Z"))
      .query("INSERT INTO typed (i, b, s, a, f, m, bit, bin, g, dt) VALUES (@i, @b, @s, @a, @f, @m, @bit, @bin, @g, @dt)");
    assert.deepEqual(ins.rowsAffected, [1]);
    const r = await p.request().input("id", sql.Int, 1).query("SELECT id, i, s, a, f, m, bit, bin, g, dt, SCOPE_IDENTITY() AS none FROM dbo.typed WHERE id = @id");
    const row = r.recordset[0];
    assert.equal(row.id, 1);
    assert.equal(row.i, -7);
    assert.equal(row.s, "kiwi ü€ 𝄞");
    assert.equal(row.a, "café");
    assert.equal(row.f, 2.5);
    assert.equal(row.m, 12.34);
    assert.equal(row.bit, 1);
    assert.deepEqual(row.bin, Buffer.from([0xde, 0xad, 0xbe, 0xef]));
    assert.equal(row.g, "6F9619FF-8B86-D011-B42D-00C04FC964FF");
    assert.match(row.dt, /^2026-11-28 10:11:12\.345/);
    const big = await p.request().query("SELECT b FROM typed");
    // BIGINT arrives as a string in tedious (tds.md pitfall 13); 2^53+1 fits SQLite's INTEGER exactly.
    assert.equal(String(big.recordset[0].b), "9007199254740992");
  });

  test("mssql PreparedStatement: sp_prepare returns a handle, sp_execute runs it with new values, sp_unprepare frees it", async () => {
    const p = await pool();
    await p.request().batch("CREATE TABLE prep (id INT PRIMARY KEY, v NVARCHAR(20))");
    const ins = new sql.PreparedStatement(p);
    ins.input("id", sql.Int);
    ins.input("v", sql.NVarChar(20));
    await ins.prepare("INSERT INTO prep (id, v) VALUES (@id, @v)");
    for (const [id, v] of [[1, "one"], [2, "two"], [3, "three"]] as const) assert.deepEqual((await ins.execute({ id, v })).rowsAffected, [1]);
    await ins.unprepare();
    const sel = new sql.PreparedStatement(p);
    sel.input("id", sql.Int);
    await sel.prepare("SELECT v FROM prep WHERE id = @id");
    assert.equal((await sel.execute({ id: 2 })).recordset[0].v, "two");
    assert.equal((await sel.execute({ id: 3 })).recordset[0].v, "three");
    await sel.unprepare();
    // A handle that was freed (or never issued) is SQL Server's 8179.
    const stale = new sql.PreparedStatement(p);
    stale.input("id", sql.Int);
    await stale.prepare("SELECT v FROM prep WHERE id = @id");
    const handle = (stale as any)._handle;
    await stale.unprepare();
    await assert.rejects(p.request().input("handle", sql.Int, handle).execute("sp_execute"), (e: any) => e.number === 8179 && /Could not find prepared statement with handle/.test(e.message));
  });

  test("nulls, long text, large blobs and the T-SQL subset", async () => {
    const p = await pool();
    const long = "x".repeat(5000);
    const blob = Buffer.alloc(9000, 7);
    const r = await p.request().input("long", sql.NVarChar(sql.MAX), long).input("blob", sql.VarBinary(sql.MAX), blob).input("n", sql.Int, null).query("SELECT @long AS long, @blob AS blob, @n AS n, ISNULL(@n, 42) AS dflt, LEN(N'héllo') AS len");
    assert.equal(r.recordset[0].long, long);
    assert.deepEqual(r.recordset[0].blob, blob);
    assert.equal(r.recordset[0].n, null);
    assert.equal(r.recordset[0].dflt, 42);
    assert.equal(r.recordset[0].len, 5);
    await p.request().batch("CREATE TABLE nums (n INT PRIMARY KEY); INSERT INTO nums VALUES (1),(2),(3),(4),(5)");
    const top = await p.request().query("SELECT TOP 2 n FROM nums ORDER BY n DESC");
    assert.deepEqual(top.recordset.map((x) => x.n), [5, 4]);
    const page = await p.request().query("SELECT n FROM nums ORDER BY n OFFSET 1 ROWS FETCH NEXT 2 ROWS ONLY");
    assert.deepEqual(page.recordset.map((x) => x.n), [2, 3]);
    const info = await p.request().query("SELECT @@VERSION AS v, GETDATE() AS now, @@SPID AS spid, NEWID() AS id");
    assert.match(info.recordset[0].v, /^Microsoft SQL Azure \(RTM\) - 12\.0\.2000\.8/);
    assert.match(info.recordset[0].now, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/);
    assert.ok(info.recordset[0].spid >= 51);
    assert.match(info.recordset[0].id, /^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/);
  });

  test("batches return several result sets and row counts; SET NOCOUNT persists", async () => {
    const p = await pool({ pool: { max: 1 } });
    const r = await p.request().batch("SELECT 1 AS a\nSELECT 2 AS b; UPDATE nums SET n = n + 10 WHERE n > 3");
    assert.deepEqual((r.recordsets as any[]).map((s) => s[0]), [{ a: 1 }, { b: 2 }]);
    assert.deepEqual(r.rowsAffected, [1, 1, 2]);
    await p.request().batch("SET NOCOUNT ON");
    const quiet = await p.request().query("UPDATE nums SET n = n - 10 WHERE n > 10");
    assert.deepEqual(quiet.rowsAffected, []);
    await p.request().batch("SET NOCOUNT OFF");
    const loud = await p.request().query("UPDATE nums SET n = n WHERE n < 3");
    assert.deepEqual(loud.rowsAffected, [2]);
  });

  test("SQLite errors arrive as SQL Server numbers", async () => {
    const p = await pool();
    const cases: [string, number, RegExp][] = [
      ["SELECT * FROM missing_table", 208, /^Invalid object name 'missing_table'\.$/],
      ["SELECT nope FROM nums", 207, /^Invalid column name 'nope'\.$/],
      ["SELEC 1", 102, /^Incorrect syntax near 'SELEC'\.$/],
      ["INSERT INTO nums VALUES (1)", 2627, /^Violation of UNIQUE KEY constraint .*Cannot insert duplicate key in object 'dbo\.nums'\.$/],
      ["USE master", 40508, /^USE statement is not supported/],
      ["SELECT @undeclared", 137, /^Must declare the scalar variable "@undeclared"\.$/],
    ];
    for (const [text, number, message] of cases) {
      await assert.rejects(p.request().query(text), (e: any) => {
        assert.equal(e.number, number, `${text}: ${e.message}`);
        assert.match(e.message, message);
        assert.equal(e.class >= 11, true);
        return true;
      });
    }
    await assert.rejects(p.request().execute("dbo.usp_nothing"), (e: any) => e.number === 2812);
    // The connection is still good after the errors.
    assert.deepEqual((await p.request().query("SELECT 1 AS one")).recordset, [{ one: 1 }]);
  });
});

describe("transactions and cancel", () => {
  test("mssql Transaction: rollback discards, commit keeps", async () => {
    const p = await pool();
    await p.request().batch("CREATE TABLE ledger (id INT PRIMARY KEY, note NVARCHAR(20))");
    const t1 = new sql.Transaction(p);
    await t1.begin();
    await new sql.Request(t1).input("id", sql.Int, 1).query("INSERT INTO ledger VALUES (@id, N'rolled back')");
    await t1.rollback();
    const t2 = new sql.Transaction(p);
    await t2.begin();
    await new sql.Request(t2).query("INSERT INTO ledger VALUES (2, N'kept')");
    await t2.commit();
    assert.deepEqual((await p.request().query("SELECT id, note FROM ledger")).recordset, [{ id: 2, note: "kept" }]);
  });

  test("BEGIN TRAN / ROLLBACK in T-SQL, with @@TRANCOUNT", async () => {
    const p = await pool({ pool: { max: 1 } });
    const r = await p.request().batch("BEGIN TRAN; INSERT INTO ledger VALUES (3, 'gone'); SELECT @@TRANCOUNT AS c; ROLLBACK");
    assert.deepEqual(r.recordset, [{ c: 1 }]);
    assert.deepEqual((await p.request().query("SELECT COUNT(*) AS n FROM ledger WHERE id = 3")).recordset, [{ n: 0 }]);
  });

  test("another session waits for an open transaction and never sees its uncommitted rows", async () => {
    const a = await tediousConnect(tediousConfig(d.inst, server));
    const b = await tediousConnect(tediousConfig(d.inst, server));
    assert.ifError(a.error);
    assert.ifError(b.error);
    await tediousQuery(a.conn!, "BEGIN TRANSACTION; INSERT INTO ledger VALUES (4, 'uncommitted')");
    const waiting = tediousQuery(b.conn!, "SELECT COUNT(*) AS n FROM ledger WHERE id = 4");
    await tediousQuery(a.conn!, "SELECT 1");
    await tediousQuery(a.conn!, "ROLLBACK");
    const seen = await waiting;
    assert.ifError(seen.error);
    assert.deepEqual(seen.rows, [{ n: 0 }]);
    a.conn!.close();
    b.conn!.close();
  });

  test("cancel (ATTENTION) ends a waiting request and the connection stays usable", async () => {
    const a = await tediousConnect(tediousConfig(d.inst, server));
    const b = await tediousConnect(tediousConfig(d.inst, server));
    await tediousQuery(a.conn!, "BEGIN TRAN; UPDATE ledger SET note = 'held' WHERE id = 2");
    const cancelled = new Promise<any>((resolve) => {
      const req = new Request("SELECT note FROM ledger", (err) => resolve(err));
      b.conn!.execSql(req);
      setImmediate(() => setImmediate(() => b.conn!.cancel()));
    });
    const err = await cancelled;
    assert.equal(err?.code, "ECANCEL");
    await tediousQuery(a.conn!, "COMMIT");
    const later = await tediousQuery(b.conn!, "SELECT note FROM ledger WHERE id = 2");
    assert.deepEqual(later.rows, [{ note: "held" }]);
    a.conn!.close();
    b.conn!.close();
  });

  test("a session that disconnects mid-transaction is rolled back and releases the database", async () => {
    const a = await tediousConnect(tediousConfig(d.inst, server));
    await tediousQuery(a.conn!, "BEGIN TRAN; INSERT INTO ledger VALUES (5, 'orphan')");
    a.conn!.close();
    const p = await pool();
    assert.deepEqual((await p.request().query("SELECT COUNT(*) AS n FROM ledger WHERE id = 5")).recordset, [{ n: 0 }]);
  });
});

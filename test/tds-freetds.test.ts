import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { run } from "./harness.js";
import { Drill, MARKER } from "./lifecycle-kit.js";
import { PASSWORD, tdsPort } from "./tds-kit.js";

/**
 * An independent second client (issue 8): FreeTDS `tsql` from Debian's freetds-bin (installed by .ci/run),
 * a C implementation of TDS with GnuTLS. It sends no server name, so the login names it (`user@server`);
 * its default encryption request is answered "required", and the certificate is checked against tdekv's CA.
 */
let d: Drill;
let server: string;
let s: Awaited<ReturnType<Drill["scenario"]>>;

before(async () => {
  d = await Drill.start();
  s = await d.scenario("ftds");
  server = s.server;
});
after(async () => {
  await d.inst.stop();
});

function tsql(script: string, opts: { caFile?: string; database?: string; user?: string } = {}) {
  const conf = `${d.inst.dataDir}/freetds-${Math.random().toString(36).slice(2)}.conf`;
  fs.writeFileSync(
    conf,
    [
      "[tdekv]",
      "\thost = 127.0.0.1",
      `\tport = ${tdsPort(d.inst)}`,
      "\ttds version = 7.4",
      "\tencryption = require",
      `\tca file = ${opts.caFile ?? d.inst.endpoints.caCertFile}`,
      "\tcheck certificate hostname = yes",
      "",
    ].join("\n"),
  );
  return run("tsql", ["-S", "tdekv", "-U", opts.user ?? `admin1@${server}`, "-P", PASSWORD, "-D", opts.database ?? "db"], { FREETDSCONF: conf }, { input: `${script}\ngo\nexit\n` });
}

test("tsql logs in over TLS verified against tdekv's CA and reads the encrypted database", async () => {
  const r = await tsql("SELECT v, DB_NAME() AS dbname FROM t");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`${MARKER}\\s+db`));
  assert.match(r.stdout, /\(1 row affected\)/);
});

test("tsql refuses tdekv's certificate when given another CA", async () => {
  const r = await tsql("SELECT 1", { caFile: "/etc/ssl/certs/ca-certificates.crt" });
  assert.doesNotMatch(r.stdout, /\(1 row affected\)/);
  assert.match(r.stderr + r.stdout, /certificate|Adaptive Server connection failed|unable to connect/i);
});

test("tsql sees SQL Server error numbers: 208 for a missing table, 18456 for a wrong login", async () => {
  const r = await tsql("SELECT * FROM nope");
  assert.match(r.stderr, /Msg 208 \(severity 16, state 1\) from srv-ftds Line 1:\s+"Invalid object name 'nope'\."/);
  const bad = await tsql("SELECT 1", { user: `intruder@${server}` });
  assert.match(bad.stderr, /Msg 18456 \(severity 14, state 1\)[^\n]*\n\s*"Login failed for user 'intruder'\."/);
});

test("tsql gets 40613 severity 17 once the key access is revoked", async () => {
  await d.revoke(s.vault, s.principal);
  await d.probe();
  const r = await tsql("SELECT v FROM t");
  assert.match(r.stderr, new RegExp(`Msg 40613 \\(severity 17, state 1\\) from ${server}[^\\n]*\\n\\s*"Database 'db' on server '${server}' is not currently available\\.`));
  assert.doesNotMatch(r.stdout, new RegExp(MARKER));
});

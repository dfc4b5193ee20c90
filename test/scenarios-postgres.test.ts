import { after, before, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { ROOT } from "./harness.js";
import { type PgCluster, startPgCluster } from "./pg-cluster.js";

/**
 * Issue 11: "the seed's lifecycle scenarios pass unchanged on the PostgreSQL store". The same files that
 * `npm test` runs on SQLite, run again in a child test run with TDEKV_TEST_STORE pointing at a temp
 * PostgreSQL cluster; the harness gives every tdekv instance its own database there. The child's report is
 * streamed to stderr so a failure shows which scenario and why.
 */
let cluster: PgCluster;
before(async () => {
  cluster = await startPgCluster();
});
after(async () => {
  await cluster?.stop();
});

it("the seed's lifecycle scenarios pass on the PostgreSQL store", { timeout: 30 * 60_000 }, async () => {
  const dir = path.join(ROOT, "test", "scenarios");
  const files = fs.readdirSync(dir).filter((f) => f.endsWith(".test.ts")).sort().map((f) => path.join("test", "scenarios", f));
  assert.ok(files.length >= 10, `expected the seed's scenarios, found ${files.length}`);
  // NODE_TEST_CONTEXT marks this file as a test-runner child; a nested `node --test` that inherits it reports
  // to its parent's protocol instead of running the files as a run of its own.
  const env: NodeJS.ProcessEnv = { ...process.env, TDEKV_TEST_STORE: cluster.url };
  delete env.NODE_TEST_CONTEXT;
  const child = spawn(process.execPath, ["--import", "tsx", "--test", "--test-concurrency=1", "--test-reporter=tap", ...files], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const relay = (d: Buffer) => {
    out += d.toString();
    process.stderr.write(d);
  };
  child.stdout.on("data", relay);
  child.stderr.on("data", relay);
  const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
  assert.equal(code, 0, "a lifecycle scenario failed on PostgreSQL (its report is above)");
  const passed = Number(/^# pass (\d+)$/m.exec(out)?.[1] ?? 0);
  assert.ok(passed >= files.length, `expected every scenario file to report passing tests, got ${passed} passes`);
  assert.match(out, /^# fail 0$/m);
});

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { RG, Rehearsal, detectIdentityAndKey, type Setup } from "./scenario-kit.js";

/** Nothing is wrong: doctor says so, exits 0, and has nothing to fix. */
let r: Rehearsal;
let s: Setup;
before(async () => {
  r = await Rehearsal.start();
  s = await r.setup("clean");
  // A second server on service-managed TDE: nothing in Key Vault to check.
  await r.admin.armOk("PUT", `/subscriptions/${r.ep.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.Sql/servers/sql-smk?api-version=2021-11-01`, {
    location: "eastus",
    properties: { administratorLogin: "sqladmin", administratorLoginPassword: "Str0ng!Passw0rd" },
  });
});
after(async () => {
  await r?.inst.stop();
});

test("a correct CMK configuration: the seed's detection steps pass and doctor gives a clean bill of health (exit 0)", async () => {
  const { identity } = await detectIdentityAndKey(r, s);
  assert.equal(identity.principalId, s.principal);
  await r.probe();
  assert.deepEqual(await r.events(r.az, s.dbId), [], "no key-access event in the Activity Log");

  const text = await r.tdekv(["doctor", "--server", s.server]);
  assert.equal(text.code, 0, text.stdout + text.stderr);
  assert.match(text.stdout, /Clean bill of health: 1 server checked, no key-access problem\./);
  for (const title of ["TDE protector", "Server identity", "Tenant and subscription", "Key vault", "Key vault firewall", "Network path to the vault", "Key", "Key permissions", "Databases"]) {
    assert.match(text.stdout, new RegExp(`^  ok {4}${title} `, "m"), `${title} passes`);
  }
  assert.match(text.stdout, /Key permissions +get, wrapKey, unwrapKey via access policy/);

  const json = await r.doctor(s.server);
  assert.equal(json.code, 0);
  assert.equal(json.report.ok, true);
  assert.deepEqual(json.report.servers[0]!.problems, []);
  assert.ok(json.report.servers[0]!.checks.every((c) => c.status === "ok"), JSON.stringify(json.report.servers[0]!.checks));
  assert.equal(json.report.servers[0]!.protector?.uri, s.kid);
  assert.deepEqual(json.report.servers[0]!.databases.map((d) => `${d.name}:${d.status}`), ["db:Online"]);
});

test("every server at once, a service-managed one included; --fix has nothing to do; an unknown server exits 2", async () => {
  const all = await r.tdekv(["doctor", "--json"]);
  assert.equal(all.code, 0, all.stderr);
  const names = (all.json.servers as { server: { name: string } }[]).map((d) => d.server.name).sort();
  assert.deepEqual(names, [s.server, "sql-smk"]);
  const smk = (all.json.servers as { server: { name: string }; checks: { id: string; detail: string }[] }[]).find((d) => d.server.name === "sql-smk")!;
  assert.match(smk.checks[0]!.detail, /service-managed key/);

  const fix = await r.tdekv(["doctor", "--fix"]);
  assert.equal(fix.code, 0);
  assert.match(fix.stdout, /Nothing to fix\./);

  const missing = await r.tdekv(["doctor", "--server", "no-such-server"]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /server 'no-such-server' was not found/);

  const chaos = await r.tdekv(["chaos"]);
  assert.equal(chaos.code, 0);
  assert.match(chaos.stdout, /No chaos in effect\./);
});

import assert from "node:assert/strict";
import fs from "node:fs";
import { test } from "node:test";
import { BIN, run } from "./harness.js";

/** `tdekv demo` on its own private instance (manual clock): the whole guided incident, twice. */
test("tdekv demo: CMK with an alert, Inaccessible + event + alert, doctor, fix, heal; then past the window with a revalidation", async () => {
  const res = await run(process.execPath, [BIN, "demo"], {});
  assert.equal(res.code, 0, res.stderr + res.stdout);
  const out = res.stdout;
  for (const az of [
    /\$ az sql server update -g demo-rg -n demo-sql-[0-9a-f]{4} --assign_identity/,
    /\$ az keyvault set-policy -n demo-kv-[0-9a-f]{4} --object-id [0-9a-f-]{36} --key-permissions get wrapKey unwrapKey/,
    /\$ az sql server tde-key set -g demo-rg -s demo-sql-[0-9a-f]{4} --server-key-type AzureKeyVault --kid https:\/\/demo-kv-[0-9a-f]{4}\.vault\.azure\.net\/keys\/tde-key\/[0-9a-f]{32}/,
    /\$ az monitor activity-log alert create /,
    /\$ az rest --method post --url "https:\/\/management\.azure\.com\/subscriptions\/[^"]+\/encryptionProtector\/current\/revalidate\?api-version=2020-11-01-preview"/,
  ]) assert.match(out, az);
  assert.equal(out.match(/alert received by http:\/\/127\.0\.0\.1:\d+\/oncall: rule demo-db-inaccessible, MakeDatabaseInaccessible Started/g)?.length, 2, out);
  assert.match(out, /Problem 1 of 1: 401 AzureKeyVaultMissingPermissions/);
  assert.match(out, /Problem 1 of 1: 400 AzureKeyVaultKeyDisabled/);
  assert.match(out, /cause +revalidation-needed/);
  assert.match(out, /database demo-db: Inaccessible {3}\(past the window it does not heal by itself\)/);
  assert.match(out, /database demo-db: Online, tags \{\}/);
  const dir = /data dir (\/\S+),/.exec(out)?.[1];
  assert.ok(dir && !fs.existsSync(dir), "the private instance's data dir is removed");
});

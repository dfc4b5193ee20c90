import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { run, BIN } from "../harness.js";
import { startPortalSuite, type PortalSuite } from "./harness.js";
import { SqlKit, RG, bladeHash, go } from "./sql-kit.js";

/**
 * portal.md §3.8 #9, "Diagnose and solve problems": one finding per seed error (AzureKeyVaultNoServerIdentity,
 * AzureKeyVaultConnectionFailed, ServerKeyNotFound, AzureKeyVaultMissingPermissions), each the same as
 * `tdekv doctor --json` finds for that server (the portal runs the doctor's own rules); Copy puts the exact az
 * line in the clipboard and says "Command copied"; "Apply fix" calls the public API and the finding clears.
 */
let s: PortalSuite;
let kit: SqlKit;
before(async () => {
  s = await startPortalSuite();
  kit = await SqlKit.start(s);
});
after(() => s?.stop());

/** `tdekv doctor --server {name} --json` against the same instance: the codes it finds. */
async function cliCodes(server: string): Promise<string[]> {
  const res = await run(process.execPath, [BIN, "doctor", "--server", server, "--json", "--data-dir", s.inst.dataDir], {});
  const report = JSON.parse(res.stdout) as { servers: { problems: { code: string }[] }[] };
  return report.servers.flatMap((d) => d.problems.map((p) => p.code));
}

test("one finding per seed error, the same as tdekv doctor; Copy and Apply fix", async () => {
  // Four servers, four seed causes (seed "Identify and resolve common errors").
  const noid = await kit.scenario("noid");
  await s.sdk.sql.servers.beginUpdateAndWait(RG, noid.server, { identity: { type: "None" } }, s.sdk.poll);
  const fw = await kit.scenario("fw");
  await s.sdk.kvm.vaults.update(RG, fw.vault, { properties: { networkAcls: { defaultAction: "Deny", bypass: "None", ipRules: [], virtualNetworkRules: [] } } } as any);
  const key = await kit.scenario("key");
  await (await s.sdk.keys(key.vault).beginDeleteKey("tde")).pollUntilDone();
  await kit.probe();
  const perm = await kit.scenario("perm");
  await kit.revoke(perm.vault, perm.principal);

  const page = await s.signedInPage();
  const expected: [typeof noid, string][] = [
    [noid, "AzureKeyVaultNoServerIdentity"],
    [fw, "AzureKeyVaultConnectionFailed"],
    [key, "ServerKeyNotFound"],
    [perm, "AzureKeyVaultMissingPermissions"],
  ];
  for (const [sc, code] of expected) {
    await go(page, bladeHash(sc.serverId, "diagnose"));
    const finding = page.getByRole("article").filter({ hasText: code });
    await finding.first().waitFor();
    const shown = await page.getByRole("article").locator(".finding-code code").allTextContents();
    const cli = await cliCodes(sc.server);
    assert.deepEqual(shown.map((c) => c.replace(/^\d+ /, "")), cli, `${sc.server}: the portal shows what tdekv doctor finds`);
    assert.ok(cli.includes(code), `${sc.server}: ${cli.join(", ")}`);
  }
  // The seed's message verbatim, with its status.
  await go(page, bladeHash(perm.serverId, "diagnose"));
  const card = page.getByRole("article").filter({ hasText: "AzureKeyVaultMissingPermissions" });
  await card.waitFor();
  assert.match((await card.locator(".finding-code").textContent()) ?? "", /^401 AzureKeyVaultMissingPermissions - The server is missing required permissions on the Azure Key Vault\.$/);
  await s.shot(page, "doctor");
  assert.deepEqual(await s.axe(page), []);

  // Copy: the exact, runnable az line, announced as "Command copied".
  const command = `az keyvault set-policy -n ${perm.vault} -g ${RG} --object-id ${perm.principal} --key-permissions get wrapKey unwrapKey`;
  const step = card.getByRole("listitem").filter({ hasText: command });
  await step.getByRole("button", { name: "Copy" }).click();
  await step.getByRole("status").filter({ hasText: "Command copied" }).waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), command);

  // Apply fix: the same public API (an access policy on the vault), and the finding is gone.
  await card.getByRole("button", { name: "Apply fix" }).click();
  await page.getByRole("status").filter({ hasText: "No problems found" }).waitFor();
  const policy = (await s.sdk.kvm.vaults.get(RG, perm.vault)).properties.accessPolicies?.find((p) => p.objectId === perm.principal);
  assert.deepEqual([...(policy?.permissions.keys ?? [])].sort(), ["get", "unwrapKey", "wrapKey"]);
  assert.deepEqual(await cliCodes(perm.server), [], "tdekv doctor agrees");

  // The firewall fix too. Its database already went Inaccessible (the probe above), so the doctor first says
  // it is healing, and the finding clears once the next probes bring it back inside the window.
  await go(page, bladeHash(fw.serverId, "diagnose"));
  const fwCard = page.getByRole("article").filter({ hasText: "AzureKeyVaultConnectionFailed" });
  await fwCard.getByRole("button", { name: "Apply fix" }).click();
  await page.getByRole("article").filter({ has: page.getByRole("heading", { name: /^Key access works again/ }) }).waitFor();
  assert.equal((await s.sdk.kvm.vaults.get(RG, fw.vault)).properties.networkAcls?.bypass, "AzureServices");
  await kit.probe();
  await kit.probe();
  await page.getByRole("status").filter({ hasText: "No problems found" }).waitFor();
  assert.deepEqual(await cliCodes(fw.server), []);
  await s.done(page);
});

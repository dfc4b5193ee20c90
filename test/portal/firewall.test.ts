import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startPortalSuite, type PortalSuite } from "./harness.js";
import { RG, SqlKit, bladeHash, go, openAndGetOid } from "./sql-kit.js";

/**
 * portal.md §3.8 #5, §3.7 #4: vault Networking. Restricting access with "Allow trusted Microsoft services to
 * bypass this firewall" unticked cuts the SQL server off its key (the seed's "firewall doesn't allow Microsoft
 * services": the probe fails with AzureKeyVaultConnectionFailed) and the Keys blade shows Key Vault's
 * ForbiddenByFirewall verbatim with the "enter a key identifier" hint; ticking the exception and adding the
 * client address fixes both. Every state is checked through ARM and the probe, not through the page.
 */
let s: PortalSuite;
let kit: SqlKit;

before(async () => {
  s = await startPortalSuite();
  kit = await SqlKit.start(s);
});
after(async () => {
  await s?.stop();
});

const failing = async (server: string) => ((await kit.probe()).failing as { server: string; code: string }[]).find((f) => f.server === server);

test("networking: no trusted-services exception breaks the server and the key list; ticking it and adding the client IP fixes both", async () => {
  const sc = await kit.scenario("fw");
  const vaultId = `/subscriptions/${kit.sub}/resourceGroups/${RG}/providers/Microsoft.KeyVault/vaults/${sc.vault}`;
  const page = await s.signedInPage();
  // The signed-in user reads keys through the data plane like anyone else: it needs get and list.
  const oid = await openAndGetOid(page, s, bladeHash(vaultId, "keys"));
  await kit.grant(sc.vault, oid, ["get", "list"]);
  await go(page, bladeHash(vaultId, "overview"));
  await page.getByRole("heading", { name: "Essentials" }).waitFor();
  await go(page, bladeHash(vaultId, "keys"));
  const keys = page.getByRole("table", { name: `Keys in ${sc.vault}` });
  await keys.getByRole("row", { name: /tde/ }).waitFor();

  await go(page, bladeHash(vaultId, "networking"));
  await page.getByRole("heading", { name: "Firewalls and virtual networks" }).waitFor();
  const allowFrom = page.getByRole("group", { name: "Allow access from:" });
  assert.equal(await allowFrom.getByRole("radio", { name: "Allow public access from all networks" }).isChecked(), true);
  await allowFrom.getByRole("radio", { name: "Allow public access from specific virtual networks and IP addresses" }).check();
  const bypass = page.getByRole("checkbox", { name: "Allow trusted Microsoft services to bypass this firewall" });
  assert.equal(await bypass.isChecked(), true, "Azure's default: trusted services pass");
  await bypass.uncheck();
  await page.getByRole("button", { name: "Apply" }).click();
  await page.getByRole("status").filter({ hasText: "The network settings were applied." }).waitFor();
  let acls = (await s.sdk.kvm.vaults.get(RG, sc.vault)).properties.networkAcls!;
  assert.equal(acls.defaultAction, "Deny");
  assert.equal(acls.bypass, "None");
  assert.deepEqual(acls.ipRules ?? [], []);
  assert.equal((await failing(sc.server))?.code, "AzureKeyVaultConnectionFailed", "the server can no longer reach its key");

  await go(page, bladeHash(vaultId, "keys"));
  const error = page.getByRole("alert").filter({ hasText: "The keys of this vault could not be listed" });
  await error.waitFor();
  const text = await error.innerText();
  assert.match(text, /HTTP 403/);
  assert.match(text, /Code: Forbidden \(ForbiddenByFirewall\)/);
  assert.match(text, /Client address is not authorized and caller is not a trusted service\.\s+Client address: 127\.0\.0\.1/);
  await page.getByText("enter a key identifier").waitFor();
  assert.deepEqual(await s.axe(page), [], "axe: the refused key list has no WCAG 2.2 AA violations");

  await go(page, bladeHash(vaultId, "networking"));
  await bypass.check();
  await page.getByLabel("IPv4 address or CIDR").fill("127.0.0.1/33");
  await page.getByRole("button", { name: "Add", exact: true }).click();
  await page.getByText("'127.0.0.1/33' is not an IPv4 address or CIDR range").waitFor();
  await page.getByLabel("IPv4 address or CIDR").fill("127.0.0.1");
  await page.getByRole("button", { name: "Add", exact: true }).click();
  await page.getByRole("list", { name: "Firewall IPv4 addresses and ranges" }).getByText("127.0.0.1").waitFor();
  await s.shot(page, "networking");
  await page.getByRole("button", { name: "Apply" }).click();
  await page.getByRole("status").filter({ hasText: "The network settings were applied." }).waitFor();
  acls = (await s.sdk.kvm.vaults.get(RG, sc.vault)).properties.networkAcls!;
  assert.equal(acls.defaultAction, "Deny");
  assert.equal(acls.bypass, "AzureServices");
  assert.deepEqual((acls.ipRules ?? []).map((r) => r.value.replace(/\/32$/, "")), ["127.0.0.1"]);
  assert.equal(await failing(sc.server), undefined, "the trusted SQL service reaches its key again");

  await go(page, bladeHash(vaultId, "keys"));
  await keys.getByRole("row", { name: /tde/ }).waitFor();

  // Keys through the firewall (127.0.0.1 is allowed now): create a key, then disable its version.
  await kit.grant(sc.vault, oid, ["create", "update"]);
  await page.getByRole("button", { name: "Generate/Import" }).click();
  const create = page.getByRole("form", { name: "Create a key" });
  await create.getByLabel("Name").fill("extra");
  await create.getByRole("radio", { name: "3072" }).check();
  await create.getByRole("button", { name: "Create", exact: true }).click();
  const versions = page.getByRole("table", { name: "Versions of key extra" });
  const version = versions.getByRole("row").nth(1);
  await version.getByRole("cell").first().waitFor();
  assert.match(await version.innerText(), /Enabled\s+RSA\s+.*wrapKey/s);
  const kid = [];
  for await (const p of s.sdk.keys(sc.vault).listPropertiesOfKeyVersions("extra")) kid.push(p);
  assert.equal(kid.length, 1);
  await version.getByRole("button", { name: `Disable version ${kid[0]!.version}` }).click();
  await version.getByRole("button", { name: `Enable version ${kid[0]!.version}` }).waitFor();
  for await (const p of s.sdk.keys(sc.vault).listPropertiesOfKeyVersions("extra")) assert.equal(p.enabled, false);
  assert.match(await keys.getByRole("row", { name: /extra/ }).innerText(), /Disabled/);
  await s.done(page);
});

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startPortalSuite, type PortalSuite } from "./harness.js";
import { RG, SqlKit, bladeHash, go } from "./sql-kit.js";

/**
 * portal.md §3.8 #4: the "Create an access policy" wizard grants a SQL server's identity exactly
 * get, wrapKey, unwrapKey through the template "Azure SQL TDE (get, wrapKey, unwrapKey)", and Delete removes
 * it; both are checked through the Key Vault management API (the SDK), not through the page.
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

test("the access-policy wizard grants a server identity get, wrapKey and unwrapKey, and Delete revokes it", async () => {
  await kit.vault("kv-policy");
  const { principal } = await kit.server("srv-policy");
  const vaultId = `/subscriptions/${kit.sub}/resourceGroups/${RG}/providers/Microsoft.KeyVault/vaults/kv-policy`;
  const page = await s.signedInPage();
  await go(page, bladeHash(vaultId, "access-policies"));
  await page.getByRole("heading", { name: "Access policies", level: 2 }).waitFor();
  const table = page.getByRole("table", { name: "Current access policies" });
  await table.waitFor();
  assert.equal(await table.getByRole("row", { name: /srv-policy/ }).count(), 0, "no policy for the server yet");

  await page.getByRole("button", { name: "Create", exact: true }).click();
  const wizard = page.getByRole("region", { name: "Create an access policy" });
  await wizard.getByRole("heading", { name: "Permissions" }).waitFor();
  assert.equal(await wizard.getByRole("button", { name: "Next" }).isDisabled(), true, "Next waits for a permission");
  await wizard.getByLabel("Configure from a template").selectOption({ label: "Azure SQL TDE (get, wrapKey, unwrapKey)" });
  const keys = wizard.getByRole("group", { name: "Key permissions" });
  for (const name of ["Get", "Wrap Key", "Unwrap Key"]) assert.equal(await keys.getByRole("checkbox", { name, exact: true }).isChecked(), true, name);
  for (const name of ["List", "Decrypt", "Delete"]) assert.equal(await keys.getByRole("checkbox", { name, exact: true }).isChecked(), false, name);
  await wizard.getByRole("button", { name: "Next" }).click();

  await wizard.getByRole("heading", { name: "Principal" }).waitFor();
  await wizard.getByRole("searchbox", { name: "Search by name or object ID" }).fill("srv-policy");
  await wizard.getByRole("radio", { name: /srv-policy/ }).check();
  await wizard.getByRole("button", { name: "Next" }).click();
  await wizard.getByRole("heading", { name: "Application (optional)" }).waitFor();
  await wizard.getByRole("button", { name: "Next" }).click();
  await wizard.getByRole("heading", { name: "Review + create" }).waitFor();
  const review = await wizard.innerText();
  assert.match(review, /Key permissions\s+get, wrapKey, unwrapKey/);
  assert.ok(review.includes(principal), "the review names the principal's object ID");
  assert.deepEqual(await s.axe(page), [], "axe: the wizard has no WCAG 2.2 AA violations");
  await s.shot(page, "policy-wizard");
  await wizard.getByRole("button", { name: "Create", exact: true }).click();

  await page.getByRole("status").filter({ hasText: "Created an access policy for srv-policy." }).waitFor();
  const row = table.getByRole("row", { name: /srv-policy/ });
  await row.waitFor();
  assert.match(await row.innerText(), /get, wrapKey, unwrapKey/);

  const granted = (await s.sdk.kvm.vaults.get(RG, "kv-policy")).properties.accessPolicies!.find((p) => p.objectId === principal);
  assert.ok(granted, "the Key Vault management API shows the new policy");
  assert.deepEqual(granted.permissions.keys, ["get", "wrapKey", "unwrapKey"]);
  assert.equal(granted.tenantId, kit.tenantId);
  assert.equal(granted.permissions.secrets, undefined);

  await row.getByRole("button", { name: "Delete the access policy of srv-policy" }).click();
  await page.getByRole("status").filter({ hasText: "Deleted the access policy of srv-policy." }).waitFor();
  await row.waitFor({ state: "detached" });
  const left = (await s.sdk.kvm.vaults.get(RG, "kv-policy")).properties.accessPolicies!.map((p) => p.objectId);
  assert.ok(!left.includes(principal), "the policy is gone from the vault");
  assert.ok(left.includes(kit.adminOid), "the other policies are untouched");
  await s.done(page);
});

test("managed identities: the list, Properties and Used by (a server's primary identity and a vault's access policy)", async () => {
  const uami = await s.sdk.msi.userAssignedIdentities.createOrUpdate(RG, "uami-tde", { location: "eastus" });
  await s.sdk.sql.servers.beginCreateOrUpdateAndWait(
    RG,
    "srv-uami",
    { location: "eastus", administratorLogin: "admin1", administratorLoginPassword: "Str0ng!Passw0rd", identity: { type: "UserAssigned", userAssignedIdentities: { [uami.id!]: {} } }, primaryUserAssignedIdentityId: uami.id! },
    s.sdk.poll,
  );
  await kit.vault("kv-ident", [{ objectId: uami.principalId!, keys: ["get", "wrapKey", "unwrapKey"] }]);
  const page = await s.signedInPage();
  await go(page, "#/identities");
  await page.getByRole("heading", { name: "Managed identities", level: 1 }).waitFor();
  const row = page.getByRole("table", { name: "User-assigned managed identities" }).getByRole("row", { name: /uami-tde/ });
  // allInnerTexts() does not wait: the row appears when the identities list has loaded.
  await row.waitFor();
  const cells = await row.getByRole("cell").allInnerTexts();
  assert.deepEqual(cells, [RG, "eastus", uami.principalId, uami.clientId]);

  await row.getByRole("link", { name: "uami-tde" }).click();
  await page.getByRole("heading", { name: "Properties", level: 2 }).waitFor();
  const props = await page.getByRole("main").innerText();
  for (const v of [uami.principalId!, uami.clientId!, uami.tenantId!]) assert.ok(props.includes(v), v);
  await page.getByRole("button", { name: "Copy Client ID" }).click();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), uami.clientId);

  await page.getByRole("link", { name: "Used by" }).click();
  const uses = page.getByRole("table", { name: "Resources that use this identity" });
  await uses.getByRole("row", { name: /srv-uami/ }).waitFor();
  assert.match(await uses.getByRole("row", { name: /srv-uami/ }).innerText(), /Primary identity: used for Azure Key Vault \(TDE\)/);
  assert.match(await uses.getByRole("row", { name: /kv-ident/ }).innerText(), /Access policy: keys get, wrapKey, unwrapKey/);
  assert.deepEqual(await s.axe(page), [], "axe: Used by has no WCAG 2.2 AA violations");
  await s.done(page);
});

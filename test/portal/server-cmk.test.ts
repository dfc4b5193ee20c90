import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startPortalSuite, type PortalSuite } from "./harness.js";
import { SqlKit, RG, bladeHash, go, openAndGetOid } from "./sql-kit.js";

/**
 * portal.md §3.8 #3, configuring a customer-managed key on a server the way §3.7 #2 describes: Customer-managed
 * key → Select a key (the picker lists the vault's keys, read with the user's own token) → Make this key the
 * default TDE protector → Auto-rotate key → Save; the LRO runs to its end and `encryptionProtector/current`
 * then says exactly what the page says. A key the server may not use fails with the seed's code, verbatim,
 * and a vault the user may not list shows its own error and the "enter a key identifier" hint.
 */
let s: PortalSuite;
let kit: SqlKit;
before(async () => {
  s = await startPortalSuite();
  kit = await SqlKit.start(s);
});
after(() => s?.stop());

test("Select a key → Save makes it the TDE protector with auto-rotation; the seed's errors are shown verbatim", async () => {
  const { id: serverId, principal } = await kit.server("srv-cmk");
  await kit.vault("kv-cmk");
  const keys = s.sdk.keys("kv-cmk");
  await keys.createRsaKey("other", { keySize: 2048 });
  await keys.createRsaKey("tde", { keySize: 2048 });
  const newest = (await keys.createRsaKey("tde", { keySize: 3072 })).id!;
  await kit.grant("kv-cmk", principal);
  await kit.vault("kv-closed");
  const closedKid = (await s.sdk.keys("kv-closed").createRsaKey("tde", { keySize: 2048 })).id!;

  const page = await s.signedInPage();
  const oid = await openAndGetOid(page, s, bladeHash(serverId, "tde"));
  // The user may list keys in kv-cmk (an access policy, as in Azure), not in kv-closed.
  await kit.grant("kv-cmk", oid, ["get", "list"]);

  await page.getByRole("radio", { name: "Customer-managed key" }).check();
  await page.getByRole("radio", { name: "Select a key" }).check();
  await page.getByRole("combobox", { name: "Key vault" }).selectOption({ label: "kv-cmk" });
  const key = page.getByRole("combobox", { name: "Key", exact: true });
  await key.locator("option", { hasText: "other" }).waitFor({ state: "attached" });
  assert.deepEqual((await key.locator("option").allTextContents()).filter((o) => !/^Select/.test(o)).sort(), ["other", "tde"]);
  await key.selectOption("tde");
  const version = page.getByRole("combobox", { name: "Version" });
  await version.locator("option", { hasText: `Current version: ${newest.split("/").pop()}` }).waitFor({ state: "attached" });
  assert.equal(await version.inputValue(), newest);
  assert.equal(await page.getByRole("checkbox", { name: "Make this key the default TDE protector" }).isChecked(), true);
  await page.getByRole("checkbox", { name: "Auto-rotate key" }).check();
  await s.shot(page, "tde-blade");
  assert.deepEqual(await s.axe(page), []);
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByRole("status").filter({ hasText: `Saved: ${newest} is the TDE protector, with auto-rotation.` }).waitFor();

  const p = await s.sdk.sql.encryptionProtectors.get(RG, "srv-cmk", "current");
  assert.equal(p.serverKeyType, "AzureKeyVault");
  assert.equal(p.uri, newest);
  assert.equal(p.autoRotationEnabled, true);
  const shown = page.locator("dd", { has: page.locator("code") }).first();
  await shown.filter({ hasText: newest }).waitFor();
  assert.equal((await shown.textContent())?.trim(), p.uri);
  await page.getByRole("row").filter({ hasText: `kv-cmk_tde_${newest.split("/").pop()}` }).filter({ hasText: "Yes" }).waitFor();
  await s.shot(page, "tde-blade-saved");

  // A vault the user cannot list: its own error, verbatim, and Azure's hint to enter a key identifier.
  await page.getByRole("combobox", { name: "Key vault" }).selectOption({ label: "kv-closed" });
  const denied = page.getByRole("alert").filter({ hasText: "The keys of kv-closed could not be listed" });
  await denied.waitFor();
  assert.match((await denied.textContent()) ?? "", /Forbidden/);
  await page.getByText("A key identifier must be used").waitFor();

  // Enter a key identifier the server's identity may not use: the seed's error, with its code.
  await page.getByRole("radio", { name: "Enter a key identifier" }).check();
  await page.getByRole("textbox", { name: "Key identifier" }).fill(closedKid);
  await page.getByRole("button", { name: "Save" }).click();
  const failed = page.getByRole("alert").filter({ hasText: "Save failed" });
  await failed.waitFor();
  assert.match((await failed.textContent()) ?? "", /AzureKeyVaultMissingPermissions/);
  assert.match((await failed.textContent()) ?? "", /The server 'srv-cmk' is missing required permissions on the Azure Key Vault\./);
  assert.equal((await s.sdk.sql.encryptionProtectors.get(RG, "srv-cmk", "current")).uri, newest, "nothing changed");
  await s.done(page);
});

test("Identity: the page says which identity TDE uses, and Apply sets a primary user-assigned identity", async () => {
  const { id: serverId } = await kit.server("srv-ident");
  const uami = await s.sdk.msi.userAssignedIdentities.createOrUpdate(RG, "uami-tde", { location: "eastus" });
  const page = await s.signedInPage();
  await go(page, bladeHash(serverId, "identity"));
  await page.getByText("Transparent data encryption uses: the system-assigned identity.").waitFor();
  assert.equal(await page.getByRole("radio", { name: "On" }).isChecked(), true);
  await page.getByRole("combobox", { name: "User assigned managed identities" }).selectOption({ label: "uami-tde" });
  await page.getByRole("button", { name: "Add", exact: true }).click();
  await page.getByRole("row").filter({ hasText: "uami-tde" }).waitFor();
  await page.getByText("Transparent data encryption uses: the primary user-assigned identity uami-tde.").waitFor();
  await page.getByRole("button", { name: "Apply" }).click();
  await page.getByRole("status").filter({ hasText: "Saved the server identity." }).waitFor();
  const srv = await s.sdk.sql.servers.get(RG, "srv-ident");
  assert.equal(srv.identity?.type, "SystemAssigned,UserAssigned");
  assert.equal(srv.primaryUserAssignedIdentityId?.toLowerCase(), uami.id!.toLowerCase());
  assert.deepEqual(await s.axe(page), []);
  await s.done(page);
});

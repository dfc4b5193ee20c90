import assert from "node:assert/strict";
import { RG, causeScenario, detectIdentityAndKey, esc, type Setup } from "./scenario-kit.js";

/**
 * Seed "Missing server identity": the server was moved to a different subscription, and "a new managed
 * identity must be assigned to the server when it is moved". The vault stays where it was.
 */
causeScenario({
  cause: "moved-subscription",
  status: 401,
  code: "AzureKeyVaultNoServerIdentity",
  async session(r) {
    // az caches the subscription list at login: refresh it to see the new one.
    await r.ok(r.az, "account", "list", "--refresh", "-o", "none");
    return { az: r.az, env: {} };
  },
  async relocate(r, s): Promise<Setup> {
    const subs = (await r.admin.armOk("GET", "/subscriptions?api-version=2020-01-01")).value as { subscriptionId: string }[];
    for (const sub of subs) {
      const found = await r.admin.armFind(`/subscriptions/${sub.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.Sql/servers/${s.server}?api-version=2021-11-01`);
      if (found && sub.subscriptionId !== s.subscriptionId) {
        return { ...s, subscriptionId: sub.subscriptionId, serverId: found.id, dbId: `${found.id}/databases/db` };
      }
    }
    assert.fail("the server did not move");
  },
  async detect(r, s) {
    const { identity } = await detectIdentityAndKey(r, s, r.az, ["--subscription", s.subscriptionId]);
    assert.equal(identity.type, "SystemAssigned", "the identity block is still there, its principal is not");
  },
  expectMitigation: (s) => [
    new RegExp(`^az sql server update -g ${RG} -n ${esc(s.server)} --subscription ${s.subscriptionId} --assign_identity$`),
    new RegExp(`^az keyvault set-policy -n ${esc(s.vault)} -g ${RG} --object-id "\\$\\(az sql server show -g ${RG} -n ${esc(s.server)} --subscription ${s.subscriptionId} --query identity\\.principalId -o tsv\\)" --key-permissions get wrapKey unwrapKey$`),
  ],
});

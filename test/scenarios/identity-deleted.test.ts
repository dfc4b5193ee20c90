import assert from "node:assert/strict";
import { RG, causeScenario, detectIdentityAndKey, esc } from "./scenario-kit.js";

/**
 * Seed "Missing server identity": the server's managed identity was deleted; `az sql server update
 * --assign_identity`, then `az keyvault set-policy` for the new principal.
 */
causeScenario({
  cause: "identity-deleted",
  status: 401,
  code: "AzureKeyVaultNoServerIdentity",
  async detect(r, s) {
    const { identity } = await detectIdentityAndKey(r, s);
    assert.equal(identity, undefined, "az sql server show --query identity prints nothing");
  },
  expectMitigation: (s) => [
    new RegExp(`^az sql server update -g ${RG} -n ${esc(s.server)} --assign_identity$`),
    new RegExp(`^az keyvault set-policy -n ${esc(s.vault)} -g ${RG} --object-id "\\$\\(az sql server show -g ${RG} -n ${esc(s.server)} --query identity\\.principalId -o tsv\\)" --key-permissions get wrapKey unwrapKey$`),
  ],
});

import assert from "node:assert/strict";
import { RG, causeScenario, detectIdentityAndKey, esc } from "./scenario-kit.js";

/** Seed "Missing permissions": the identity's permissions were revoked from the key vault; `az keyvault set-policy`. */
causeScenario({
  cause: "permissions-revoked",
  status: 401,
  code: "AzureKeyVaultMissingPermissions",
  async detect(r, s) {
    const { identity } = await detectIdentityAndKey(r, s);
    const entries = (await r.ok(r.az, "keyvault", "show", "-n", s.vault, "-g", RG, "--query", `properties.accessPolicies[?objectId=='${identity.principalId}']`, "-o", "json")).json;
    assert.deepEqual(entries, []);
  },
  expectMitigation: (s) => [new RegExp(`^az keyvault set-policy -n ${esc(s.vault)} -g ${RG} --object-id ${s.principal} --key-permissions get wrapKey unwrapKey$`)],
});

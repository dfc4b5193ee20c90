import assert from "node:assert/strict";
import { RG, causeScenario, detectIdentityAndKey, esc } from "./scenario-kit.js";

/** Seed "Missing permissions": the identity's key permissions lack unwrapKey; `az keyvault set-policy ... get wrapKey unwrapKey`. */
causeScenario({
  cause: "permissions-insufficient",
  status: 401,
  code: "AzureKeyVaultMissingPermissions",
  async detect(r, s) {
    const { identity } = await detectIdentityAndKey(r, s);
    const keys = (await r.ok(r.az, "keyvault", "show", "-n", s.vault, "-g", RG, "--query", `properties.accessPolicies[?objectId=='${identity.principalId}'].permissions.keys | [0]`, "-o", "json")).json as string[];
    assert.deepEqual([...keys].sort(), ["get", "wrapKey"]);
  },
  expectMitigation: (s) => [new RegExp(`^az keyvault set-policy -n ${esc(s.vault)} -g ${RG} --object-id ${s.principal} --key-permissions get wrapKey unwrapKey$`)],
});

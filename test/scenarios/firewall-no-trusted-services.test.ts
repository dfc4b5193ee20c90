import assert from "node:assert/strict";
import { RG, causeScenario, detectIdentityAndKey, esc } from "./scenario-kit.js";

/** Seed "Missing key vault": the firewall doesn't allow Microsoft services; `az keyvault update --bypass AzureServices`. */
causeScenario({
  cause: "firewall-no-trusted-services",
  status: 503,
  code: "AzureKeyVaultConnectionFailed",
  async detect(r, s) {
    await detectIdentityAndKey(r, s);
    const acls = (await r.ok(r.az, "keyvault", "show", "-n", s.vault, "-g", RG, "--query", "properties.networkAcls", "-o", "json")).json;
    assert.equal(acls.defaultAction, "Deny");
    assert.equal(acls.bypass, "None");
  },
  expectMitigation: (s) => [new RegExp(`^az keyvault update -n ${esc(s.vault)} -g ${RG} --bypass AzureServices$`)],
});

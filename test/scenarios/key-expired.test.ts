import assert from "node:assert/strict";
import { causeScenario, detectIdentityAndKey, esc } from "./scenario-kit.js";

/** Seed "Missing key": the key expired; `az keyvault key set-attributes --expires <a later date>`. */
causeScenario({
  cause: "key-expired",
  status: 400,
  code: "AzureKeyVaultInvalidExpirationDate",
  async detect(r, s) {
    await detectIdentityAndKey(r, s);
    const expires = (await r.ok(r.az, "keyvault", "key", "show", "--id", s.kid, "--query", "attributes.expires", "-o", "tsv")).stdout.trim();
    assert.ok(Date.parse(expires) <= (await r.now()), `expires ${expires}`);
  },
  expectMitigation: (s) => [new RegExp(`^az keyvault key set-attributes --id ${esc(s.kid)} --expires \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ$`)],
});

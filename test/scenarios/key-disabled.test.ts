import assert from "node:assert/strict";
import { causeScenario, detectIdentityAndKey, esc } from "./scenario-kit.js";

/** Seed "Missing key": the key was disabled; `az keyvault key set-attributes --enabled true`. */
causeScenario({
  cause: "key-disabled",
  status: 400,
  code: "AzureKeyVaultKeyDisabled",
  async detect(r, s) {
    await detectIdentityAndKey(r, s);
    const show = await r.az("keyvault", "key", "show", "--id", s.kid);
    assert.notEqual(show.code, 0, "Key Vault refuses get on a disabled key");
    assert.match(show.stderr, /disabled/i);
  },
  expectMitigation: (s) => [new RegExp(`^az keyvault key set-attributes --id ${esc(s.kid)} --enabled true$`)],
});

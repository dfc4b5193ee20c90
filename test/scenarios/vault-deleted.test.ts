import assert from "node:assert/strict";
import { causeScenario, detectIdentityAndKey, esc } from "./scenario-kit.js";

/** Seed "Missing key vault": the key vault was accidentally deleted; `az keyvault recover` brings it back. */
causeScenario({
  cause: "vault-deleted",
  status: 503,
  code: "AzureKeyVaultConnectionFailed",
  async detect(r, s) {
    await detectIdentityAndKey(r, s);
    const deleted = await r.ok(r.az, "keyvault", "list-deleted", "--resource-type", "vault", "--query", "[].name", "-o", "json");
    assert.ok((deleted.json as string[]).includes(s.vault), deleted.stdout);
  },
  expectMitigation: (s) => [new RegExp(`^az keyvault recover -n ${esc(s.vault)}$`)],
});

import assert from "node:assert/strict";
import { causeScenario, detectIdentityAndKey, esc } from "./scenario-kit.js";

/**
 * Seed "Missing key": the key was accidentally deleted (soft delete keeps it recoverable). Debian's az 2.45
 * cannot run `az keyvault key recover` (it needs the track-1 SDK, az-cli-compat.md §4), so the rehearsal
 * recovers it with the REST form doctor also prints.
 */
causeScenario({
  cause: "key-deleted",
  status: 404,
  code: "ServerKeyNotFound",
  async detect(r, s) {
    await detectIdentityAndKey(r, s);
    const show = await r.az("keyvault", "key", "show", "--id", s.kid);
    assert.notEqual(show.code, 0);
    assert.match(show.stderr, /KeyNotFound|was not found/);
  },
  expectMitigation: (s) => [
    new RegExp(`^az keyvault key recover --vault-name ${esc(s.vault)} -n tde$`),
    new RegExp(`^az rest --method post --url "https://${esc(s.vault)}\\.vault\\.azure\\.net/deletedkeys/tde/recover\\?api-version=7\\.4" --resource https://vault\\.azure\\.net$`),
  ],
  async mitigate(r, _s, p) {
    const ran = await r.runMitigation(r.az, p, { skip: /keyvault key recover/ });
    assert.equal(ran.length, 1);
  },
});

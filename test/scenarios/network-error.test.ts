import { causeScenario, detectIdentityAndKey } from "./scenario-kit.js";

/**
 * Seed "Missing key vault": an intermittent network error makes the vault unavailable. No Azure operation
 * causes it, so tdekv injects it; it takes three failed probes in a row, and when the network comes back the
 * database heals by itself inside the window ("no user action is required"), and needs a revalidation after it.
 */
causeScenario({
  cause: "network-error",
  status: 503,
  code: "AzureKeyVaultConnectionFailed",
  transient: true,
  async detect(r, s) {
    await detectIdentityAndKey(r, s);
  },
  expectMitigation: () => [/^tdekv chaos --undo$/],
  async mitigate(r) {
    // The network comes back.
    await r.chaos("--undo");
  },
});

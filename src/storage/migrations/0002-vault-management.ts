import type { Kysely, Migration } from "kysely";

/** 0002: Key Vault management plane (vaults live in `resources`; deleted vaults, role assignments). */
export const vaultManagement: Migration = {
  async up(_db: Kysely<any>) {
    // Filled in by the vault management plane.
  },
};

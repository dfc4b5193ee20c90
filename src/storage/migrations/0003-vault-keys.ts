import type { Kysely, Migration } from "kysely";

/** 0003: Key Vault keys (versions, deleted keys, rotation policies). */
export const vaultKeys: Migration = {
  async up(_db: Kysely<any>) {
    // Filled in by the vault data plane.
  },
};

/**
 * What the doctor's rules need of its HTTP client besides the calls themselves: the api-versions and the error
 * type. Kept free of Node imports so the portal can bundle facts.ts and checks.ts as they are (issue 9,
 * docs/designs/2026-11-28-portal.md): a browser and the CLI then run the very same rules.
 */
/** An error answer from an Azure API, with Azure's code and message (ARM, Key Vault and Graph envelopes). */
export class RestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly innerCode?: string,
  ) {
    super(message);
  }
}

export const API = {
  sql: "2021-11-01",
  sqlKeys: "2020-11-01-preview",
  keyVault: "2022-07-01",
  resources: "2021-04-01",
  subscriptions: "2020-01-01",
  authorization: "2022-04-01",
  insights: "2015-04-01",
  msi: "2023-01-31",
  keyVaultData: "7.4",
} as const;

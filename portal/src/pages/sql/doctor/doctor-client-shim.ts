/**
 * The browser's stand-in for src/doctor/client.ts (see doctor-shim-plugin.mjs): the doctor's rules import only
 * `API` and `RestError` from it at run time. The HTTP calls themselves go through the portal's lib/api
 * (rest-adapter.ts), with the signed-in user's tokens, like every other portal request.
 */
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

export type AzureRest = unknown;

/**
 * facts.ts measures an RSA modulus with `Buffer.from(n, "base64url")` (n[0], n.length). Browsers have no
 * Buffer; this minimal stand-in answers exactly that call and is only installed when Buffer is absent.
 */
const g = globalThis as { Buffer?: unknown };
if (!g.Buffer) {
  g.Buffer = {
    from(s: string): Uint8Array {
      const b64 = s.replace(/-/g, "+").replace(/_/g, "/");
      const bin = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
      return Uint8Array.from(bin, (c) => c.charCodeAt(0));
    },
  };
}

/**
 * Public clients that users sign in to. Entra knows the Azure Portal by its well-known app id; tdekv
 * registers it as a public "spa" client whose only redirect URI is tdekv's own portal (issue 9 §1), so the
 * portal's `appid` and "Event initiated by" look like Azure's.
 */
export const AZURE_PORTAL_APP_ID = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c";

export interface PublicClient {
  appId: string;
  displayName: string;
  /** Path of the redirect URI on each of tdekv's portal origins. */
  redirectPath: string;
}

export const PUBLIC_CLIENTS: ReadonlyMap<string, PublicClient> = new Map([
  [AZURE_PORTAL_APP_ID, { appId: AZURE_PORTAL_APP_ID, displayName: "Azure Portal (tdekv)", redirectPath: "/portal/" }],
]);

/**
 * A redirect URI is accepted only as an exact match of `{origin}{redirectPath}` for one of tdekv's portal
 * origins (Entra compares redirect URIs exactly, AADSTS50011).
 */
export function isRegisteredRedirect(client: PublicClient, redirectUri: string, portalOrigins: readonly string[]): boolean {
  return portalOrigins.some((o) => `${o}${client.redirectPath}` === redirectUri);
}

/**
 * Key Vault key ids as Microsoft.Sql names them: `https://{vault}.vault.azure.net/keys/{key}/{version}` and
 * the server key name `{vault}_{key}_{version}` (azure-sql-tde.md §1.5; az-cli-compat.md §3.4). tdekv also
 * accepts direct-mode vault hosts (`{vault}.vault.localhost:{port}`).
 */
export interface KeyUri {
  vault: string;
  key: string;
  version: string;
  /** The key id as the caller gave it (host kept, so direct-mode ids stay reachable), without a trailing slash. */
  kid: string;
}

const KID = /^https:\/\/([a-z0-9-]{3,24})\.vault\.(?:azure\.net|localhost)(?::\d+)?\/keys\/([A-Za-z0-9-]{1,127})\/([0-9A-Za-z]+)\/?$/i;

export function parseKeyUri(uri: string): KeyUri | undefined {
  const m = KID.exec(uri.trim());
  if (!m) return undefined;
  const vault = m[1]!.toLowerCase();
  const key = m[2]!;
  const version = m[3]!;
  return { vault, key, version, kid: uri.trim().replace(/\/$/, "") };
}

export const serverKeyName = (k: KeyUri): string => `${k.vault}_${k.key}_${k.version}`;

export const SERVICE_MANAGED = "ServiceManaged";

/** "The combined length for the key vault name and key name cannot exceed 94 characters." (azure-sql-tde.md §1.5) */
export const nameFitsLimits = (k: KeyUri): boolean => k.vault.length + k.key.length <= 94;

/**
 * Which resources (token audiences) tdekv's Entra issues tokens for, and how scopes map to them.
 * A client-credentials scope is `<resource>/.default`; the resource keeps any trailing slash that came
 * before `/.default`, which is why az's `https://management.core.windows.net//.default` yields the
 * audience `https://management.core.windows.net/` (az-cli-compat.md §5.1).
 */
const KNOWN_RESOURCE_HOSTS = new Set([
  "management.core.windows.net",
  "management.azure.com",
  "vault.azure.net",
  "database.windows.net",
  "graph.microsoft.com",
  "graph.windows.net",
  "storage.azure.com",
  "vault.localhost",
]);

/** The Key Vault resource as a client asks for it, and as Key Vault checks it (keyvault.md §2.4). */
export const VAULT_AUDIENCES = ["https://vault.azure.net", "https://vault.azure.net/", "https://vault.localhost", "https://vault.localhost/"];

/** Audiences that ARM accepts (the message of InvalidAuthenticationTokenAudience lists the public four). */
export const PUBLIC_ARM_AUDIENCES = [
  "https://management.core.windows.net/",
  "https://management.core.windows.net",
  "https://management.azure.com/",
  "https://management.azure.com",
];

export function resourceFromScope(scope: string): string | undefined {
  const parts = scope.split(/\s+/).filter((s) => s && !["openid", "profile", "offline_access"].includes(s));
  if (parts.length !== 1) return undefined;
  const only = parts[0]!;
  if (!only.endsWith("/.default")) return undefined;
  return only.slice(0, -"/.default".length);
}

function hostOf(resource: string): string | undefined {
  try {
    return new URL(resource).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}

export function isLocalHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, "");
  return h === "localhost" || h.endsWith(".localhost") || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** Entra only issues tokens for resources it knows; a local direct-mode endpoint counts as one. */
export function isKnownResource(resource: string): boolean {
  const host = hostOf(resource);
  if (!host) return false;
  return KNOWN_RESOURCE_HOSTS.has(host) || isLocalHost(host);
}

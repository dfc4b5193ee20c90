/**
 * Which surface a Host header addresses. Proxy mode brings the real Azure names; direct mode brings
 * localhost names (sdk-compat.md §3.3: vaults are `{vault}.vault.localhost:PORT`).
 */
export type SurfaceName = "arm" | "login" | "graph" | "direct" | "vault" | "sql" | "unknown";

const LOGIN_HOSTS = new Set(["login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net"]);

export function hostName(hostHeader: string): string {
  const h = hostHeader.trim().toLowerCase();
  if (h.startsWith("[")) return h.slice(1, h.indexOf("]"));
  const colon = h.lastIndexOf(":");
  return colon > -1 && h.indexOf(":") === colon ? h.slice(0, colon) : h;
}

export function classifyHost(hostHeader: string, directHosts: ReadonlySet<string>): SurfaceName {
  const h = hostName(hostHeader);
  if (h === "management.azure.com") return "arm";
  if (LOGIN_HOSTS.has(h)) return "login";
  if (h === "graph.microsoft.com") return "graph";
  if (h.endsWith(".vault.azure.net") || h.endsWith(".vault.localhost")) return "vault";
  if (h.endsWith(".database.windows.net") || h.endsWith(".database.localhost")) return "sql";
  if (directHosts.has(h)) return "direct";
  return "unknown";
}

/** Hosts the CONNECT proxy terminates; everything else is refused, nothing is ever forwarded. */
export function proxyAllows(host: string): boolean {
  const h = host.toLowerCase();
  return h === "management.azure.com" || h === "login.microsoftonline.com" || h === "graph.microsoft.com" || h.endsWith(".vault.azure.net") || h.endsWith(".database.windows.net");
}

/**
 * The origins tdekv's portal is served from (issue 9 §1): the direct listener under localhost, 127.0.0.1
 * and the configured host name, and management.azure.com through the proxy. Browsers drop a default port.
 */
export function portalOrigins(configuredHost: string, httpsPort: number): string[] {
  const h = configuredHost.toLowerCase();
  const named = h === "0.0.0.0" || h === "::" || h === "127.0.0.1" ? "localhost" : h.includes(":") ? `[${h}]` : h;
  const port = httpsPort === 443 ? "" : `:${httpsPort}`;
  return [...new Set(["localhost", "127.0.0.1", named].map((n) => `https://${n}${port}`)), "https://management.azure.com"];
}

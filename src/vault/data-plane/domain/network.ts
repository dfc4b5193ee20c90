import type { VaultRecord } from "../../vault-registry.js";

/**
 * Key Vault's network rules (keyvault.md §2.5 NetworkRuleSet, az-cli-compat.md §8): trusted Microsoft
 * services pass when `bypass` is AzureServices; `publicNetworkAccess: Disabled` refuses everything else;
 * otherwise `defaultAction: Allow` admits all and `Deny` admits only addresses in `ipRules` (IPv4 or CIDR).
 * Virtual-network rules have no meaning on one machine and never admit anyone.
 */
export type NetworkVerdict = { allowed: true } | { allowed: false; kind: "firewall" | "connection" };

/** `::ffff:127.0.0.1` (IPv4-mapped, as Node reports dual-stack peers) becomes `127.0.0.1`. */
export function normalizeAddress(address: string): string {
  const a = address.trim().toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  return mapped ? mapped[1]! : a;
}

function ipv4ToInt(ip: string): number | undefined {
  const parts = ip.split(".");
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    n = n * 256 + v;
  }
  return n;
}

/** Whether `address` falls in an ipRules value: a single IPv4 address or an IPv4 CIDR block. */
export function ipRuleMatches(rule: string, address: string): boolean {
  const ip = ipv4ToInt(normalizeAddress(address));
  if (ip === undefined) return false;
  const [base, bitsText] = rule.trim().split("/");
  const net = ipv4ToInt(base ?? "");
  if (net === undefined) return false;
  const bits = bitsText === undefined ? 32 : Number(bitsText);
  if (!Number.isInteger(bits) || bits < 0 || bits > 32) return false;
  if (bits === 0) return true;
  const size = 2 ** (32 - bits);
  return Math.floor(ip / size) === Math.floor(net / size);
}

export function networkVerdict(vault: Pick<VaultRecord, "networkAcls" | "publicNetworkAccess">, caller: { address: string; trustedService: boolean }): NetworkVerdict {
  const acls = vault.networkAcls;
  if (caller.trustedService && acls.bypass === "AzureServices") return { allowed: true };
  if (vault.publicNetworkAccess === "Disabled") return { allowed: false, kind: "connection" };
  if (acls.defaultAction !== "Deny") return { allowed: true };
  if (caller.address && acls.ipRules.some((r) => ipRuleMatches(r.value, caller.address))) return { allowed: true };
  return { allowed: false, kind: "firewall" };
}

import type { Vault } from "./vault-api";

/** Key vault → Overview (portal.md §3.6 #5): the settings that decide whether a deleted key can come back. */
export function VaultOverview({ vault }: { vault: Vault }) {
  const p = vault.properties;
  const rows: [string, string][] = [
    ["Vault URI", p.vaultUri],
    ["Location", vault.location ?? ""],
    ["Pricing tier", p.sku?.name === "premium" ? "Premium" : "Standard"],
    ["Directory ID", p.tenantId],
    ["Soft-delete", p.enableSoftDelete === false ? "Disabled" : "Enabled"],
    ["Days to retain deleted vaults", String(p.softDeleteRetentionInDays ?? 90)],
    ["Purge protection", p.enablePurgeProtection ? "Enabled" : "Disabled"],
    ["Permission model", p.enableRbacAuthorization ? "Azure role-based access control" : "Vault access policy"],
    ["Public network access", publicAccessLabel(vault)],
  ];
  return (
    <section aria-labelledby="vault-essentials">
      <h2 id="vault-essentials">Essentials</h2>
      <dl class="essentials">
        {rows.map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd translate={k === "Vault URI" ? false : undefined}>{v}</dd>
          </div>
        ))}
      </dl>
      {!p.enablePurgeProtection && (
        <p class="field-hint">
          Azure SQL requires soft-delete and purge protection on a vault that holds a TDE protector: without them a deleted key cannot be recovered, and
          the databases it protects stay inaccessible.
        </p>
      )}
    </section>
  );
}

/** Networking → "Allow access from" in Azure's words (portal.md §1.4). */
export function publicAccessLabel(vault: Vault): string {
  const p = vault.properties;
  if (p.publicNetworkAccess === "Disabled") return "Disable public access";
  return p.networkAcls?.defaultAction === "Deny" ? "Allow public access from specific virtual networks and IP addresses" : "Allow public access from all networks";
}

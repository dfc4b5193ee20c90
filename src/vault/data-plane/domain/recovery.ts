import type { VaultRecord } from "../../vault-registry.js";

/**
 * DeletionRecoveryLevel and recoverableDays from the vault's soft-delete settings (keyvault.md §1.4
 * mapping). Computed from the vault as it is now, so a vault that gains purge protection reports it at once.
 */
type SoftDeleteSettings = Pick<VaultRecord, "enableSoftDelete" | "softDeleteRetentionInDays" | "enablePurgeProtection">;

export const DEFAULT_RETENTION_DAYS = 90;

export function retentionDays(vault: SoftDeleteSettings): number {
  const d = vault.softDeleteRetentionInDays;
  return Number.isInteger(d) && d >= 7 && d <= 90 ? d : DEFAULT_RETENTION_DAYS;
}

export function recoveryLevel(vault: SoftDeleteSettings): string {
  if (!vault.enableSoftDelete) return "Purgeable";
  const customized = retentionDays(vault) < 90;
  if (vault.enablePurgeProtection) return customized ? "CustomizedRecoverable" : "Recoverable";
  return customized ? "CustomizedRecoverable+Purgeable" : "Recoverable+Purgeable";
}

export function recoverableDays(vault: SoftDeleteSettings): number | undefined {
  return vault.enableSoftDelete ? retentionDays(vault) : undefined;
}

/** When a key deleted at `deletedAtMs` is purged by the service on its own. */
export const scheduledPurgeAt = (vault: SoftDeleteSettings, deletedAtMs: number): number => deletedAtMs + retentionDays(vault) * 86_400_000;

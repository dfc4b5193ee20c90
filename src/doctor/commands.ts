import { API } from "./rest-types.js";
import { CRYPTO_SERVICE_ENCRYPTION_USER } from "./seed.js";

/**
 * The seed's Mitigation steps as az 2.45 commands with the real names filled in (az-cli-compat.md §6). Every
 * command here runs against tdekv through the proxy, and against Azure.
 */

export interface ServerRef {
  id: string;
  name: string;
  resourceGroup: string;
  subscriptionId: string;
  managed: boolean;
}

export interface VaultRef {
  name: string;
  resourceGroup?: string;
  subscriptionId?: string;
  id?: string;
}

/** Quotes a shell word when it needs it. */
export function sh(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `"${s.replace(/(["\\$`])/g, "\\$1")}"`;
}

export class Az {
  /** The subscription az is logged in to by default: others get an explicit --subscription. */
  constructor(private readonly defaultSubscriptionId?: string) {}

  private sub(id: string | undefined): string {
    return id && this.defaultSubscriptionId && id.toLowerCase() !== this.defaultSubscriptionId.toLowerCase() ? ` --subscription ${id}` : "";
  }

  private group(s: ServerRef): string {
    return s.managed ? "sql mi" : "sql server";
  }

  showIdentity(s: ServerRef): string {
    return `az ${this.group(s)} show -g ${sh(s.resourceGroup)} -n ${sh(s.name)}${this.sub(s.subscriptionId)} --query identity`;
  }

  showProtector(s: ServerRef): string {
    return s.managed
      ? `az sql mi tde-key show -g ${sh(s.resourceGroup)} --mi ${sh(s.name)}${this.sub(s.subscriptionId)}`
      : `az sql server tde-key show -g ${sh(s.resourceGroup)} -s ${sh(s.name)}${this.sub(s.subscriptionId)}`;
  }

  assignIdentity(s: ServerRef): string {
    return s.managed
      ? `az sql mi update -g ${sh(s.resourceGroup)} -n ${sh(s.name)}${this.sub(s.subscriptionId)} --assign-identity`
      : `az sql server update -g ${sh(s.resourceGroup)} -n ${sh(s.name)}${this.sub(s.subscriptionId)} --assign_identity`;
  }

  /** The server's principal id, for commands that need it before it exists (after --assign_identity). */
  principalOf(s: ServerRef): string {
    return `$(az ${this.group(s)} show -g ${sh(s.resourceGroup)} -n ${sh(s.name)}${this.sub(s.subscriptionId)} --query identity.principalId -o tsv)`;
  }

  showVault(v: VaultRef): string {
    return `az keyvault show -n ${sh(v.name)}${v.resourceGroup ? ` -g ${sh(v.resourceGroup)}` : ""}${this.sub(v.subscriptionId)}`;
  }

  setPolicy(v: VaultRef, objectId: string): string {
    return `az keyvault set-policy -n ${sh(v.name)}${v.resourceGroup ? ` -g ${sh(v.resourceGroup)}` : ""}${this.sub(v.subscriptionId)} --object-id ${objectId.startsWith("$(") ? `"${objectId}"` : objectId} --key-permissions get wrapKey unwrapKey`;
  }

  roleAssignment(v: VaultRef, objectId: string): string {
    return `az role assignment create --role ${sh(CRYPTO_SERVICE_ENCRYPTION_USER.name)} --assignee-object-id ${objectId.startsWith("$(") ? `"${objectId}"` : objectId} --assignee-principal-type ServicePrincipal --scope ${v.id ?? `<vault resource id of ${v.name}>`}${this.sub(v.subscriptionId)}`;
  }

  allowTrustedServices(v: VaultRef): string {
    return `az keyvault update -n ${sh(v.name)} -g ${sh(v.resourceGroup ?? "<resource group>")}${this.sub(v.subscriptionId)} --bypass AzureServices`;
  }

  enablePurgeProtection(v: VaultRef): string {
    return `az keyvault update -n ${sh(v.name)} -g ${sh(v.resourceGroup ?? "<resource group>")}${this.sub(v.subscriptionId)} --enable-purge-protection true`;
  }

  setVaultTenant(v: VaultRef, tenantId: string): string {
    return `az keyvault update -n ${sh(v.name)} -g ${sh(v.resourceGroup ?? "<resource group>")}${this.sub(v.subscriptionId)} --set properties.tenantId=${tenantId}`;
  }

  listDeletedVaults(): string {
    return "az keyvault list-deleted --resource-type vault";
  }

  recoverVault(v: VaultRef): string {
    return `az keyvault recover -n ${sh(v.name)}${this.sub(v.subscriptionId)}`;
  }

  showKey(kid: string): string {
    return `az keyvault key show --id ${kid}`;
  }

  recoverKey(vault: string, key: string): string {
    return `az keyvault key recover --vault-name ${sh(vault)} -n ${sh(key)}`;
  }

  /** The same recovery through the REST API (Debian's az 2.45 lacks the track-1 SDK `key recover` needs). */
  recoverKeyRest(vault: string, key: string): string {
    return `az rest --method post --url "https://${vault}.vault.azure.net/deletedkeys/${key}/recover?api-version=${API.keyVaultData}" --resource https://vault.azure.net`;
  }

  enableKey(kid: string): string {
    return `az keyvault key set-attributes --id ${kid} --enabled true`;
  }

  setExpiry(kid: string, iso: string): string {
    return `az keyvault key set-attributes --id ${kid} --expires ${iso}`;
  }

  setNotBefore(kid: string, iso: string): string {
    return `az keyvault key set-attributes --id ${kid} --not-before ${iso}`;
  }

  activityLog(s: ServerRef, dbId: string): string {
    return `az monitor activity-log list --resource-id ${dbId}${this.sub(s.subscriptionId)} --query "[].{event:eventName.value,status:status.value,time:eventTimestamp}" -o table`;
  }

  /** az 2.45 has no `tde-key revalidate`: the REST call behind the portal's "Revalidate key". */
  revalidate(s: ServerRef): string {
    return `az rest --method post --url "https://management.azure.com${s.id}/encryptionProtector/current/revalidate?api-version=${API.sqlKeys}"`;
  }
}

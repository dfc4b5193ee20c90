import https from "node:https";
import dns from "node:dns";
import { ClientSecretCredential } from "@azure/identity";
import { SqlManagementClient } from "@azure/arm-sql";
import { KeyVaultManagementClient } from "@azure/arm-keyvault";
import { ManagedServiceIdentityClient } from "@azure/arm-msi";
import { ResourceManagementClient } from "@azure/arm-resources";
import { KeyClient } from "@azure/keyvault-keys";
import type { Instance } from "./harness.js";

/**
 * The official SDK clients in direct mode against one instance, with tdekv's CA trusted per client
 * (sdk-compat.md §1, §6). Vaults are reached at https://{vault}.vault.localhost:{port} through an agent that
 * resolves *.localhost to 127.0.0.1 (sdk-compat.md §3.3): nothing else is changed, certificates are verified.
 */
export function sdkClients(inst: Instance) {
  const ep = inst.endpoints;
  const ca = inst.ca.toString();
  const tlsOptions = { ca };
  const credential = new ClientSecretCredential(ep.tenantId, ep.clientId, ep.clientSecret, { authorityHost: ep.authorityHost, disableInstanceDiscovery: true, tlsOptions, additionallyAllowedTenants: ["*"] });
  const common = { endpoint: ep.armEndpoint, tlsOptions, retryOptions: { maxRetries: 0 } };
  const agent = new https.Agent({
    ca,
    keepAlive: true,
    lookup: ((host: string, opts: dns.LookupOptions, cb: (...args: any[]) => void) => dns.lookup(host === "localhost" || host.endsWith(".localhost") ? "127.0.0.1" : host, opts, cb)) as any,
  });
  return {
    credential,
    sql: new SqlManagementClient(credential, ep.subscriptionId, { ...common, credentialScopes: ["https://management.azure.com/.default"] }),
    kvm: new KeyVaultManagementClient(credential, ep.subscriptionId, { endpoint: ep.armEndpoint, tlsOptions, credentials: { scopes: ["https://management.azure.com/.default"] } }),
    msi: new ManagedServiceIdentityClient(credential, ep.subscriptionId, common),
    rm: new ResourceManagementClient(credential, ep.subscriptionId, common),
    keys: (vault: string) => new KeyClient(`https://${vault}.vault.localhost:${ep.httpsPort}`, credential, { agent, retryOptions: { maxRetries: 0 } } as any),
    poll: { updateIntervalInMs: 10 },
  };
}

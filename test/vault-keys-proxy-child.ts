// Proxy mode: run as a child process whose environment holds only HTTPS_PROXY, NODE_EXTRA_CA_CERTS and
// AZURE_TENANT_ID/CLIENT_ID/CLIENT_SECRET, the way an unmodified application meets tdekv. The vault URL is
// the real Azure name, https://{vault}.vault.azure.net (argv[2]).
import { DefaultAzureCredential } from "@azure/identity";
import { runKeysScenario } from "./vault-keys-scenario.js";

const result = await runKeysScenario(`https://${process.argv[2]}.vault.azure.net`, new DefaultAzureCredential(), { retryOptions: { maxRetries: 0 } });
process.stdout.write(JSON.stringify(result));

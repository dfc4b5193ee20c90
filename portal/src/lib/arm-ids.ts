// ARM resource ids, types and the api-versions the portal speaks (the same ones the az CLI / SDKs send).
export interface ParsedId {
  subscriptionId?: string;
  resourceGroup?: string;
  /** e.g. "Microsoft.Sql/servers/databases"; "Microsoft.Resources/resourceGroups" for a group. */
  type: string;
  name: string;
  /** The parent resource's id (the server of a database), if any. */
  parentId?: string;
}

export function parseId(id: string): ParsedId {
  const s = id.split("/").filter(Boolean);
  const at = (k: string) => {
    const i = s.findIndex((x) => x.toLowerCase() === k.toLowerCase());
    return i >= 0 ? s[i + 1] : undefined;
  };
  const subscriptionId = at("subscriptions");
  const resourceGroup = at("resourceGroups");
  const p = s.findIndex((x) => x.toLowerCase() === "providers");
  if (p < 0) {
    return { subscriptionId, resourceGroup, type: resourceGroup ? "Microsoft.Resources/resourceGroups" : "Microsoft.Resources/subscriptions", name: (resourceGroup ?? subscriptionId) || "" };
  }
  const ns = s[p + 1] ?? "";
  const pairs = s.slice(p + 2);
  const types: string[] = [];
  for (let i = 0; i < pairs.length; i += 2) types.push(pairs[i]!);
  const parentId = pairs.length > 2 ? `/${s.slice(0, s.length - 2).join("/")}` : undefined;
  return { subscriptionId, resourceGroup, type: [ns, ...types].join("/"), name: pairs[pairs.length - 1] ?? "", ...(parentId ? { parentId } : {}) };
}

export const typeOf = (id: string): string => parseId(id).type;

/** api-version per resource type (lower-case), longest prefix wins. */
const API_VERSIONS: [string, string][] = [
  ["microsoft.sql", "2023-08-01"],
  ["microsoft.keyvault", "2023-07-01"],
  ["microsoft.managedidentity", "2023-01-31"],
  ["microsoft.insights/actiongroups", "2023-01-01"],
  ["microsoft.insights/activitylogalerts", "2020-10-01"],
  ["microsoft.insights/eventtypes", "2015-04-01"],
  ["microsoft.insights", "2023-01-01"],
  ["microsoft.resourcehealth", "2022-10-01"],
  ["microsoft.resources/subscriptions", "2022-12-01"],
  ["microsoft.resources", "2021-04-01"],
];

export function apiVersionFor(typeOrId: string): string {
  const t = (typeOrId.startsWith("/") ? typeOf(typeOrId) : typeOrId).toLowerCase();
  let best: [string, string] | undefined;
  for (const e of API_VERSIONS) if (t.startsWith(e[0]) && (!best || e[0].length > best[0].length)) best = e;
  return best?.[1] ?? "2021-04-01";
}

/** The ARM GET path of a resource id, with its api-version. */
export const armPath = (id: string): string => `${id}?api-version=${apiVersionFor(id)}`;

/** Key Vault data-plane api-version. */
export const VAULT_API = "7.5";

const LABELS: Record<string, string> = {
  "microsoft.sql/servers": "SQL server",
  "microsoft.sql/servers/databases": "SQL database",
  "microsoft.sql/managedinstances": "SQL managed instance",
  "microsoft.sql/managedinstances/databases": "Managed database",
  "microsoft.keyvault/vaults": "Key vault",
  "microsoft.managedidentity/userassignedidentities": "Managed Identity",
  "microsoft.insights/actiongroups": "Action group",
  "microsoft.insights/activitylogalerts": "Activity log alert rule",
  "microsoft.resources/resourcegroups": "Resource group",
  "microsoft.resources/subscriptions": "Subscription",
};

/** Azure's display name of a resource type (the line under the page title), else the ARM type itself. */
export const typeLabel = (type: string): string => LABELS[type.toLowerCase()] ?? type;

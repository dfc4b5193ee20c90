import type { SurfaceResponse } from "../../platform/index.js";
import { type ProviderCall, armErrors, armResponses, resourceGroupId, tracked } from "../../arm/index.js";
import type { MgmtContext } from "./context.js";
import { kvErrors } from "./errors.js";
import { applyAccessPolicyOperation, bodyToProps, propsToBody, readAccessPolicies } from "./vault-rules.js";

const KINDS = ["add", "replace", "remove"] as const;

/**
 * `PUT vaults/{v}/accessPolicies/{add|replace|remove}` (arm-keyvault 5 `vaults.updateAccessPolicy`,
 * keyvault.md §2.5, MGMTEX updateAccessPoliciesAdd.json). Answers 200 with the vault's resulting policies.
 * az's set-policy/delete-policy do not come here: they GET the vault and PUT it whole (az-cli-compat.md §6).
 */
export async function handleAccessPolicies(ctx: MgmtContext, call: ProviderCall): Promise<SurfaceResponse> {
  if (call.kind !== "instance" || call.ref.scope !== "resourceGroup") throw armErrors.pathNotFound(call.req.path);
  if (call.method !== "PUT") throw armErrors.methodNotAllowed(call.method, call.req.path);
  const [vaultName, kindRaw] = call.ref.names as [string, string];
  const kind = KINDS.find((k) => k === kindRaw.toLowerCase());
  if (!kind) throw kvErrors.invalidOperationKind(kindRaw);
  const vaultId = `${resourceGroupId(call.subscription.id, call.ref.resourceGroup)}/providers/Microsoft.KeyVault/vaults/${vaultName}`;
  const row = await ctx.store.byVaultId(vaultId);
  if (!row) throw armErrors.resourceNotFound("Microsoft.KeyVault/vaults", vaultName, call.ref.resourceGroup);
  const body = tracked.requireObjectBody(call.body);
  if (!tracked.isObject(body.properties)) throw kvErrors.propertiesRequired();
  const changes = readAccessPolicies(body.properties.accessPolicies);
  const props = bodyToProps(row.body.properties);
  const accessPolicies = applyAccessPolicyOperation(props.accessPolicies, kind, changes);
  const updated = { ...row.body, properties: propsToBody({ ...props, accessPolicies }) };
  await ctx.store.putActive({ uid: row.uid, subscriptionId: row.subscriptionId, resourceGroup: call.ref.resourceGroup, body: updated, isNew: false });
  ctx.changed();
  return armResponses.ok({ id: `${row.vaultId}/accessPolicies/${kind}`, name: kind, type: "Microsoft.KeyVault/vaults/accessPolicies", properties: { accessPolicies } });
}

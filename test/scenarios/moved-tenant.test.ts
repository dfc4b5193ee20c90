import assert from "node:assert/strict";
import { RG, causeScenario, detectIdentityAndKey, esc } from "./scenario-kit.js";

/**
 * Seed "Missing server identity", IMPORTANT: the server was moved to a new tenant (its subscription was
 * transferred, with its key vault). In the new tenant: point the vault at the tenant, assign a new identity,
 * and grant it get, wrapKey and unwrapKey, all with az signed in to the new tenant.
 */
let tenantId = "";
causeScenario({
  cause: "moved-tenant",
  status: 401,
  code: "AzureKeyVaultNoServerIdentity",
  async session(r, _s, chaos) {
    const t = chaos.entry.tenant as { tenantId: string; clientId: string; clientSecret: string };
    assert.ok(t?.clientSecret, "chaos moved-tenant says how to sign in to the new tenant");
    tenantId = t.tenantId;
    const who = { tenantId: t.tenantId, clientId: t.clientId, clientSecret: t.clientSecret };
    r.rest = r.admin.as(who);
    // The instance's own principal no longer sees the server: doctor must say where to look.
    const lost = await r.tdekv(["doctor", "--server", _s.server]);
    assert.equal(lost.code, 2);
    assert.match(lost.stderr, /was not found .* run doctor as a principal of that tenant/);
    return { az: await r.login(who), env: { AZURE_TENANT_ID: t.tenantId, AZURE_CLIENT_ID: t.clientId, AZURE_CLIENT_SECRET: t.clientSecret } };
  },
  async reset(r, s) {
    // Back to the original tenant (tdekv chaos --undo also re-assigns an identity and its permissions).
    await r.chaos("--undo");
    r.rest = r.admin;
    await r.probe();
    assert.equal(await r.dbStatus(s.dbId), "Online");
    return s;
  },
  async detect(r, s, az) {
    const { identity } = await detectIdentityAndKey(r, s, az);
    assert.notEqual(identity.tenantId, tenantId, "the identity block still names the old tenant");
  },
  expectMitigation: (s) => [
    new RegExp(`^az keyvault update -n ${esc(s.vault)} -g ${RG} --set properties\\.tenantId=${tenantId}$`),
    new RegExp(`^az sql server update -g ${RG} -n ${esc(s.server)} --assign_identity$`),
    new RegExp(`^az keyvault set-policy -n ${esc(s.vault)} -g ${RG} --object-id "\\$\\(az sql server show -g ${RG} -n ${esc(s.server)} --query identity\\.principalId -o tsv\\)" --key-permissions get wrapKey unwrapKey$`),
  ],
});

import { useArm, useLoad } from "../../lib/hooks";
import { href } from "../../lib/router";
import type { ArmResource } from "../../lib/types";
import { CopyButton } from "../../components/copy-button";
import { DataTable } from "../../components/data-table";
import { ErrorBox } from "../../components/error-box";
import { armListAll } from "../../lib/api";
import { listSubscriptions } from "../vault/principals";
import { KV_API, MSI_API, sameId, type Vault, withApi } from "../vault/vault-api";
import { listSqlServers } from "./identity-api";

/** Properties: the three ids a user pastes into access policies, role assignments and app settings. */
export function IdentityProperties({ id }: { id: string }) {
  const r = useArm<ArmResource>(withApi(id, MSI_API));
  if (r.error) return <ErrorBox error={r.error} />;
  if (!r.data) return <p role="status">Loading…</p>;
  const p = r.data.properties ?? {};
  const rows: [string, string][] = [
    ["Object (principal) ID", p.principalId],
    ["Client ID", p.clientId],
    ["Tenant ID", p.tenantId],
    ["Location", r.data.location ?? ""],
  ];
  return (
    <section aria-labelledby="props-h">
      <h2 id="props-h">Properties</h2>
      <dl class="essentials">
        {rows.map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd>
              <code>{v}</code> {v && k !== "Location" ? <CopyButton text={v} label={`Copy ${k}`} /> : null}
            </dd>
          </div>
        ))}
      </dl>
    </section>
  );
}

interface Use {
  resource: ArmResource;
  role: string;
}

/** Used by: servers and managed instances that list the identity, and vaults whose access policies name its principal. */
export function UsedBy({ id }: { id: string }) {
  const me = useArm<ArmResource>(withApi(id, MSI_API));
  const principalId = me.data?.properties?.principalId as string | undefined;
  const uses = useLoad<Use[]>(principalId ? `used-by:${id}` : null, async () => {
    const out: Use[] = [];
    for (const s of await listSqlServers()) {
      const assigned = Object.keys(s.identity?.userAssignedIdentities ?? {});
      if (!assigned.some((k) => sameId(k, id))) continue;
      const primary = sameId(s.properties?.primaryUserAssignedIdentityId, id);
      out.push({ resource: s, role: primary ? "Primary identity: used for Azure Key Vault (TDE)" : "Assigned, not primary: not used for Azure Key Vault" });
    }
    for (const sub of await listSubscriptions()) {
      for (const v of await armListAll<Vault>(withApi(`/subscriptions/${sub}/providers/Microsoft.KeyVault/vaults`, KV_API))) {
        const ap = (v.properties.accessPolicies ?? []).find((p) => sameId(p.objectId, principalId));
        if (ap) out.push({ resource: v, role: `Access policy: keys ${(ap.permissions.keys ?? []).join(", ") || "none"}${v.properties.enableRbacAuthorization ? " (not in effect: the vault uses Azure RBAC)" : ""}` });
      }
    }
    return out;
  }, [principalId]);
  return (
    <section aria-labelledby="used-h">
      <h2 id="used-h">Used by</h2>
      {(me.error || uses.error) && <ErrorBox error={me.error ?? uses.error} />}
      {!uses.data && !uses.error && !me.error && <p role="status">Loading…</p>}
      {uses.data && (
        <DataTable<Use>
          caption="Resources that use this identity"
          rows={uses.data}
          rowKey={(u) => u.resource.id}
          empty="Nothing uses this identity."
          columns={[
            { key: "name", label: "Resource", rowHeader: true, render: (u) => <a href={href(u.resource.id)} translate={false}>{u.resource.name}</a> },
            { key: "type", label: "Type", render: (u) => u.resource.type },
            { key: "role", label: "How", render: (u) => u.role },
          ]}
        />
      )}
    </section>
  );
}

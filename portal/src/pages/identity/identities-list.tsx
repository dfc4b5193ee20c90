import { useLoad } from "../../lib/hooks";
import { href } from "../../lib/router";
import type { ArmResource } from "../../lib/types";
import { DataTable } from "../../components/data-table";
import { ErrorBox } from "../../components/error-box";
import { rgOf } from "../vault/vault-api";
import { listIdentities } from "./identity-api";

/** #/identities: "Managed Identities", every user-assigned identity with its ids. */
export function IdentitiesList() {
  const list = useLoad<ArmResource[]>("identities", listIdentities, [], { match: (h) => (!h.resourceId && h.type !== "clock") || /userassignedidentities/i.test(h.resourceId ?? "") });
  return (
    <>
      <h1>Managed identities</h1>
      <p>User-assigned managed identities. A SQL server or managed instance uses one for Azure Key Vault when it is the server's primary identity.</p>
      {list.error && <ErrorBox error={list.error} />}
      {!list.data && !list.error && <p role="status">Loading…</p>}
      {list.data && (
        <DataTable<ArmResource>
          caption="User-assigned managed identities"
          rows={list.data}
          rowKey={(r) => r.id}
          empty="No user-assigned managed identities."
          sort={{ key: "name", dir: "ascending" }}
          columns={[
            { key: "name", label: "Name", rowHeader: true, sortValue: (r) => r.name, render: (r) => <a href={href(r.id)} translate={false}>{r.name}</a> },
            { key: "rg", label: "Resource group", sortValue: (r) => rgOf(r.id), render: (r) => rgOf(r.id) },
            { key: "location", label: "Location", render: (r) => r.location ?? "" },
            { key: "principalId", label: "Object (principal) ID", render: (r) => <code>{r.properties?.principalId}</code> },
            { key: "clientId", label: "Client ID", render: (r) => <code>{r.properties?.clientId}</code> },
          ]}
        />
      )}
    </>
  );
}

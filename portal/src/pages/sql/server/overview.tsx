import { DataTable, ErrorBox, StatusBadge } from "../../../components";
import { useArm } from "../../../lib/hooks";
import { href } from "../../../lib/router";
import type { ArmResource } from "../../../lib/types";
import { type Protector, type SqlDatabase, api, isManaged } from "../sql-api";

/** Server / managed instance → Overview, and → Databases (portal.md §3.6 #3). */
export function ServerOverview({ resource }: { resource: ArmResource }) {
  const protector = useArm<Protector>(api(`${resource.id}/encryptionProtector/current`));
  const p = resource.properties ?? {};
  const t = protector.data?.properties;
  return (
    <div class="server-overview">
      <dl class="facts">
        <div>
          <dt>Status</dt>
          <dd>
            <StatusBadge state={p.state ?? p.provisioningState ?? "Unknown"} />
          </dd>
        </div>
        <div>
          <dt>{isManaged(resource.id) ? "Host" : "Server name"}</dt>
          <dd translate={"no" as any}>{p.fullyQualifiedDomainName ?? resource.name}</dd>
        </div>
        <div>
          <dt>Location</dt>
          <dd>{resource.location}</dd>
        </div>
        <div>
          <dt>Server admin</dt>
          <dd>{p.administratorLogin ?? "—"}</dd>
        </div>
        <div>
          <dt>Identity</dt>
          <dd>
            <a href={href(resource.id, "identity")}>{resource.identity?.type ?? "None"}</a>
          </dd>
        </div>
        <div>
          <dt>Transparent data encryption</dt>
          <dd>
            <a href={href(resource.id, "tde")}>{t ? (t.serverKeyType === "AzureKeyVault" ? "Customer-managed key" : "Service-managed key") : "—"}</a>
          </dd>
        </div>
      </dl>
      {protector.error ? <ErrorBox error={protector.error} /> : null}
      <DatabasesBlade resource={resource} />
    </div>
  );
}

export function DatabasesBlade({ resource }: { resource: ArmResource }) {
  const dbs = useArm<{ value: SqlDatabase[] }>(api(`${resource.id}/databases`));
  if (dbs.error) return <ErrorBox error={dbs.error} />;
  const rows = (dbs.data?.value ?? []).filter((d) => d.name.toLowerCase() !== "master");
  return (
    <DataTable
      caption="Databases"
      rows={rows}
      rowKey={(d) => d.id}
      empty={dbs.data ? "No databases." : "Loading databases…"}
      columns={[
        {
          key: "name",
          label: "Name",
          rowHeader: true,
          sortValue: (d) => d.name,
          render: (d) => (
            <a href={href(d.id)} translate={"no" as any}>
              {d.name}
            </a>
          ),
        },
        { key: "status", label: "Status", sortValue: (d) => d.properties.status ?? "", render: (d) => <StatusBadge state={d.properties.status} /> },
        { key: "tags", label: "Tags", render: (d) => Object.entries(d.tags ?? {}).map(([k, v]) => `${k}: ${v}`).join(", ") || "—" },
        {
          key: "incident",
          label: "Incident",
          render: (d) => (d.properties.status === "Inaccessible" ? <a href={href(d.id, "incident")}>Incident timeline<span class="sr-only">{` of ${d.name}`}</span></a> : "—"),
        },
      ]}
    />
  );
}

// Home / All resources (portal.md §3.6 #2): every resource with its state visible without clicking.
import { useContext, useState } from "preact/hooks";
import { DataTable, ErrorBox, Loading, Select, StatusBadge } from "../../components";
import { typeLabel } from "../../lib/arm-ids";
import { href } from "../../lib/router";
import { InventoryContext, type InventoryRow } from "./inventory";

export function HomePage() {
  const inv = useContext(InventoryContext);
  const [type, setType] = useState("");
  const rows = inv.data?.rows ?? [];
  const types = [...new Set(rows.map((r) => r.type.toLowerCase()))].sort();
  const shown = type ? rows.filter((r) => r.type.toLowerCase() === type) : rows;
  const subs = new Map((inv.data?.subscriptions ?? []).map((s) => [s.subscriptionId, s.displayName]));
  return (
    <>
      <h1>All resources</h1>
      {inv.error ? <ErrorBox error={inv.error} title="Resources could not be listed" /> : null}
      {!inv.data && inv.loading ? (
        <Loading what="Loading resources…" />
      ) : inv.data ? (
        <>
          <p class="muted">
            {inv.data.subscriptions.length === 1 ? "1 subscription" : `${inv.data.subscriptions.length} subscriptions`} ·{" "}
            {shown.length === 1 ? "1 record" : `${shown.length} records`}
          </p>
          <div class="filters">
            <Select
              label="Type"
              value={type}
              onValue={setType}
              placeholder="All types"
              options={types.map((t) => ({ value: t, label: typeLabel(t) }))}
            />
          </div>
          <DataTable<InventoryRow>
            caption="Resources"
            hideCaption
            rows={shown}
            rowKey={(r) => r.id}
            sort={{ key: "name", dir: "ascending" }}
            empty="No resources to display. Create one with az or an Azure SDK, or from Scenarios."
            columns={[
              {
                key: "name",
                label: "Name",
                rowHeader: true,
                sortValue: (r) => r.name.toLowerCase(),
                render: (r) => (
                  <a href={href(r.id)} translate={false}>
                    {r.parentName ? `${r.parentName}/${r.name}` : r.name}
                  </a>
                ),
              },
              { key: "type", label: "Type", sortValue: (r) => typeLabel(r.type), render: (r) => typeLabel(r.type) },
              { key: "resourceGroup", label: "Resource group", sortValue: (r) => r.resourceGroup.toLowerCase(), render: (r) => <span translate={false}>{r.resourceGroup}</span> },
              { key: "location", label: "Location", sortValue: (r) => r.location },
              { key: "subscription", label: "Subscription", render: (r) => <span translate={false}>{subs.get(r.subscriptionId) ?? r.subscriptionId}</span> },
              { key: "state", label: "State", sortValue: (r) => r.state ?? "", render: (r) => (r.state ? <StatusBadge state={r.state} /> : <span class="muted">—</span>) },
            ]}
          />
        </>
      ) : null}
    </>
  );
}

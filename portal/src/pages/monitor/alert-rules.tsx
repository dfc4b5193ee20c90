import { useState } from "preact/hooks";
import { arm, armListAll, ApiError, toApiError } from "../../lib/api";
import { useLoad } from "../../lib/hooks";
import { DataTable } from "../../components/data-table";
import { ErrorBox } from "../../components/error-box";
import { StatusBadge } from "../../components/status-badge";
import { Button } from "../../components/button";
import type { ArmResource } from "../../lib/types";
import { ACTION_GROUPS_API, ALERT_RULES_API, listResourceGroups, listSubscriptions } from "./monitor-api";

/**
 * Monitor → Alert rules: Microsoft.Insights/activityLogAlerts (2020-10-01), listed subscription-wide, created,
 * enabled/disabled (PATCH properties.enabled) and deleted. Presets are the two rules a TDE drill needs: the
 * database write events the seed's MakeDatabaseInaccessible arrives as, and Resource Health turning Unavailable.
 */
interface Rule extends ArmResource {
  properties: { scopes: string[]; enabled: boolean; description?: string; condition: { allOf: { field: string; equals?: string; containsAny?: string[] }[] }; actions: { actionGroups: { actionGroupId: string }[] } };
}

const PRESETS: { id: string; label: string; allOf: { field: string; equals: string }[] }[] = [
  { id: "tde", label: "Administrative: Update SQL database (MakeDatabaseInaccessible and the rest of the TDE lifecycle)", allOf: [{ field: "category", equals: "Administrative" }, { field: "operationName", equals: "Microsoft.Sql/servers/databases/write" }] },
  { id: "health", label: "Resource Health: the resource became Unavailable", allOf: [{ field: "category", equals: "ResourceHealth" }, { field: "properties.currentHealthStatus", equals: "Unavailable" }] },
  { id: "all", label: "Administrative: every administrative event", allOf: [{ field: "category", equals: "Administrative" }] },
];
const last = (id: string) => id.split("/").filter(Boolean).pop() ?? id;

async function loadAll(): Promise<{ subs: string[]; rules: Rule[]; groups: ArmResource[]; rgs: string[] }> {
  const subs = (await listSubscriptions()).map((s) => s.subscriptionId);
  const rules: Rule[] = [];
  const groups: ArmResource[] = [];
  const rgs: string[] = [];
  for (const s of subs) {
    rules.push(...(await armListAll<Rule>(`/subscriptions/${s}/providers/Microsoft.Insights/activityLogAlerts?api-version=${ALERT_RULES_API}`)));
    groups.push(...(await armListAll<ArmResource>(`/subscriptions/${s}/providers/Microsoft.Insights/actionGroups?api-version=${ACTION_GROUPS_API}`)));
    rgs.push(...(await listResourceGroups(s)).map((g) => g.id));
  }
  return { subs, rules, groups, rgs };
}

export function AlertRules() {
  const data = useLoad("alert-rules", loadAll, [], { match: (h) => (!h.resourceId && h.type !== "clock") || (h.type === "resource.changed" && /microsoft\.insights/i.test(h.resourceId ?? "")) });
  const [creating, setCreating] = useState(false);
  const [error, setError] = useState<ApiError | undefined>();
  const [note, setNote] = useState("");
  const act = async (what: string, run: () => Promise<unknown>) => {
    setError(undefined);
    setNote("");
    try {
      await run();
      setNote(what);
      data.reload();
    } catch (err) {
      setError(toApiError(err));
    }
  };
  return (
    <section aria-labelledby="ar-h">
      <h2 id="ar-h">Alert rules</h2>
      <div class="actions">
        <button type="button" class="btn btn-primary" aria-expanded={creating} onClick={() => setCreating(true)}>
          Create
        </button>
      </div>
      {creating && data.data && <CreateRule rgs={data.data.rgs} groups={data.data.groups} onDone={(made) => { setCreating(false); if (made) { setNote(`Created alert rule ${made}.`); data.reload(); } }} />}
      <p role="status" class="muted">{note}</p>
      {error && <ErrorBox error={error} />}
      {data.error && <ErrorBox error={data.error} />}
      {data.data && (
        <DataTable<Rule>
          caption="Activity log alert rules"
          rows={data.data.rules}
          rowKey={(r) => r.id}
          empty="No alert rules."
          columns={[
            { key: "name", label: "Name", rowHeader: true, render: (r) => <span translate={false}>{r.name}</span> },
            { key: "cond", label: "Condition", render: (r) => r.properties.condition.allOf.map((c) => `${c.field} = ${c.equals ?? (c.containsAny ?? []).join(" | ")}`).join("; ") },
            { key: "scope", label: "Scope", render: (r) => r.properties.scopes.map((s) => s.split("/providers/")[1] ?? s).join(", ") },
            { key: "ag", label: "Action groups", render: (r) => r.properties.actions.actionGroups.map((a) => last(a.actionGroupId)).join(", ") },
            { key: "status", label: "Status", render: (r) => <StatusBadge state={r.properties.enabled ? "Enabled" : "Disabled"} /> },
            {
              key: "actions",
              label: "Actions",
              render: (r) => (
                <span class="row-actions">
                  <Button onClick={() => act(`${r.properties.enabled ? "Disabled" : "Enabled"} ${r.name}.`, () => arm("PATCH", `${r.id}?api-version=${ALERT_RULES_API}`, { properties: { enabled: !r.properties.enabled } }))}>
                    {r.properties.enabled ? "Disable" : "Enable"}
                    <span class="sr-only"> {r.name}</span>
                  </Button>
                  <Button onClick={() => act(`Deleted ${r.name}.`, () => arm("DELETE", `${r.id}?api-version=${ALERT_RULES_API}`))}>
                    Delete<span class="sr-only"> {r.name}</span>
                  </Button>
                </span>
              ),
            },
          ]}
        />
      )}
    </section>
  );
}

function CreateRule({ rgs, groups, onDone }: { rgs: string[]; groups: ArmResource[]; onDone: (made?: string) => void }) {
  const [name, setName] = useState("");
  const [rg, setRg] = useState(rgs[0] ?? "");
  const [preset, setPreset] = useState(PRESETS[0]!.id);
  const [group, setGroup] = useState(groups[0]?.id ?? "");
  const [description, setDescription] = useState("");
  const [error, setError] = useState<ApiError | undefined>();
  const submit = async () => {
    setError(undefined);
    try {
      const sub = rg.split("/")[2];
      await arm("PUT", `${rg}/providers/Microsoft.Insights/activityLogAlerts/${encodeURIComponent(name)}?api-version=${ALERT_RULES_API}`, {
        location: "Global",
        properties: {
          scopes: [`/subscriptions/${sub}`],
          condition: { allOf: PRESETS.find((p) => p.id === preset)!.allOf },
          actions: { actionGroups: group ? [{ actionGroupId: group }] : [] },
          enabled: true,
          ...(description ? { description } : {}),
        },
      });
      onDone(name);
    } catch (err) {
      setError(toApiError(err));
    }
  };
  return (
    <form class="panel" aria-labelledby="cr-h" onSubmit={(e) => { e.preventDefault(); void submit(); }}>
      <h3 id="cr-h">Create an alert rule</h3>
      <div class="field">
        <label for="cr-name">Alert rule name</label>
        <input class="input" id="cr-name" required value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
      </div>
      <div class="field">
        <label for="cr-rg">Resource group</label>
        <select class="input" id="cr-rg" value={rg} onChange={(e) => setRg((e.target as HTMLSelectElement).value)}>
          {rgs.map((g) => (
            <option key={g} value={g}>
              {last(g)}
            </option>
          ))}
        </select>
      </div>
      <div class="field">
        <label for="cr-cond">Condition</label>
        <select class="input" id="cr-cond" value={preset} onChange={(e) => setPreset((e.target as HTMLSelectElement).value)}>
          {PRESETS.map((p) => (
            <option key={p.id} value={p.id}>
              {p.label}
            </option>
          ))}
        </select>
      </div>
      <div class="field">
        <label for="cr-ag">Action group</label>
        <select class="input" id="cr-ag" value={group} onChange={(e) => setGroup((e.target as HTMLSelectElement).value)}>
          <option value="">None</option>
          {groups.map((g) => (
            <option key={g.id} value={g.id}>
              {g.name}
            </option>
          ))}
        </select>
      </div>
      <div class="field">
        <label for="cr-desc">Description</label>
        <input class="input" id="cr-desc" value={description} onInput={(e) => setDescription((e.target as HTMLInputElement).value)} />
      </div>
      <p class="field-hint">The rule watches the whole subscription and fires for events logged after it is created, as Azure's do.</p>
      {error && <ErrorBox error={error} title="The alert rule could not be created" />}
      <div class="actions">
        <Button kind="primary" type="submit">
          Create
        </Button>
        <button type="button" class="btn btn-secondary" onClick={() => onDone()}>
          Cancel
        </button>
      </div>
    </form>
  );
}

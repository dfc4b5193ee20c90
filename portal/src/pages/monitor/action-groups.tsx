import { useRef, useState } from "preact/hooks";
import { arm, armListAll, armLro, ApiError, toApiError } from "../../lib/api";
import { useLoad } from "../../lib/hooks";
import { navigate } from "../../lib/router";
import type { ArmResource } from "../../lib/types";
import { Button } from "../../components/button";
import { DataTable } from "../../components/data-table";
import { ErrorBox } from "../../components/error-box";
import { Pane } from "../../components/dialog";
import { StatusBadge } from "../../components/status-badge";
import { ActionGroupWizard } from "./action-group-wizard";
import { ACTION_GROUPS_API, listResourceGroups, listSubscriptions } from "./monitor-api";

/**
 * Monitor → Action groups (portal.md §1.7, §3.7 #10): the list, "Create" (Basics / Notifications / Actions /
 * Review + create) and "Test action group", which calls Azure's `POST …/actionGroups/{g}/createNotifications`
 * and follows its Location to the per-receiver result. Deliveries land in the Notifications inbox.
 */
export interface ActionGroup extends ArmResource {
  properties: { groupShortName: string; enabled: boolean; emailReceivers?: Record<string, unknown>[]; webhookReceivers?: Record<string, unknown>[]; [list: string]: unknown };
}

const RECEIVER_LISTS = ["emailReceivers", "smsReceivers", "webhookReceivers", "itsmReceivers", "azureAppPushReceivers", "automationRunbookReceivers", "voiceReceivers", "logicAppReceivers", "azureFunctionReceivers", "armRoleReceivers", "eventHubReceivers"];
const receiverCount = (g: ActionGroup) => RECEIVER_LISTS.reduce((n, l) => n + ((g.properties[l] as unknown[] | undefined)?.length ?? 0), 0);

async function loadAll(): Promise<{ groups: ActionGroup[]; rgs: string[] }> {
  const groups: ActionGroup[] = [];
  const rgs: string[] = [];
  for (const s of (await listSubscriptions()).map((x) => x.subscriptionId)) {
    groups.push(...(await armListAll<ActionGroup>(`/subscriptions/${s}/providers/Microsoft.Insights/actionGroups?api-version=${ACTION_GROUPS_API}`)));
    rgs.push(...(await listResourceGroups(s)).map((g) => g.id));
  }
  return { groups, rgs };
}

export function ActionGroups() {
  const data = useLoad("action-groups", loadAll, [], { match: (h) => (!h.resourceId && h.type !== "clock") || (h.type === "resource.changed" && /microsoft\.insights/i.test(h.resourceId ?? "")) });
  const [creating, setCreating] = useState(false);
  const createBtn = useRef<HTMLButtonElement>(null);
  const [testing, setTesting] = useState<ActionGroup | undefined>();
  const [error, setError] = useState<ApiError | undefined>();
  const [note, setNote] = useState("");
  const remove = async (g: ActionGroup) => {
    setError(undefined);
    try {
      await arm("DELETE", `${g.id}?api-version=${ACTION_GROUPS_API}`);
      setNote(`Deleted ${g.name}.`);
      data.reload();
    } catch (err) {
      setError(toApiError(err));
    }
  };
  return (
    <section aria-labelledby="ag-h">
      <h2 id="ag-h">Action groups</h2>
      <div class="actions">
        <button type="button" class="btn btn-primary" ref={createBtn} aria-expanded={creating} onClick={() => setCreating(true)}>
          Create
        </button>
      </div>
      {creating && data.data && (
        <ActionGroupWizard
          rgs={data.data.rgs}
          onDone={(made) => {
            // The wizard (and the focused Create/Cancel in it) unmounts: give focus back to its opener.
            createBtn.current?.focus();
            setCreating(false);
            if (made) {
              setNote(`Created action group ${made}.`);
              data.reload();
            }
          }}
        />
      )}
      <p role="status" class="muted">{note}</p>
      {error && <ErrorBox error={error} />}
      {data.error && <ErrorBox error={data.error} />}
      {data.data && (
        <DataTable<ActionGroup>
          caption="Action groups"
          rows={data.data.groups}
          rowKey={(g) => g.id}
          empty="No action groups."
          columns={[
            { key: "name", label: "Name", rowHeader: true, render: (g) => <span translate={false}>{g.name}</span> },
            { key: "short", label: "Display name", render: (g) => g.properties.groupShortName },
            { key: "rg", label: "Resource group", render: (g) => g.id.split("/")[4] ?? "" },
            { key: "receivers", label: "Receivers", render: (g) => String(receiverCount(g)) },
            { key: "status", label: "Status", render: (g) => <StatusBadge state={g.properties.enabled ? "Enabled" : "Disabled"} /> },
            {
              key: "actions",
              label: "Actions",
              render: (g) => (
                <span class="row-actions">
                  <button type="button" class="btn btn-secondary" onClick={() => setTesting(g)}>
                    Test action group<span class="sr-only"> {g.name}</span>
                  </button>
                  <Button onClick={() => remove(g)}>
                    Delete<span class="sr-only"> {g.name}</span>
                  </Button>
                </span>
              ),
            },
          ]}
        />
      )}
      <Pane open={!!testing} title={testing ? `Test ${testing.name}` : "Test action group"} onClose={() => setTesting(undefined)}>
        {testing && <TestActionGroup group={testing} />}
      </Pane>
    </section>
  );
}

interface TestResult {
  State: string;
  CompletedTime?: string | null;
  ActionDetails?: { MechanismType: string; Name: string; Status: string; SendTime?: string; Detail?: string | null }[];
}

const SAMPLES = [
  { id: "activitylog", label: "Activity log" },
  { id: "resourcehealth", label: "Resource health" },
  { id: "servicehealth", label: "Service health" },
];

/** Sends Azure's test notification to every receiver of the saved group, and shows what each one did. */
function TestActionGroup({ group }: { group: ActionGroup }) {
  const [sample, setSample] = useState("activitylog");
  const [result, setResult] = useState<TestResult | undefined>();
  const [progress, setProgress] = useState("");
  const [error, setError] = useState<ApiError | undefined>();
  const run = async () => {
    setError(undefined);
    setResult(undefined);
    setProgress("Sending test notifications…");
    try {
      const receivers = Object.fromEntries(RECEIVER_LISTS.map((l) => [l, group.properties[l] ?? []]));
      const r = await armLro<TestResult>("POST", `${group.id}/createNotifications?api-version=${ACTION_GROUPS_API}`, { alertType: sample, ...receivers }, (p) =>
        setProgress(`Waiting for the receivers (${Math.round(p.elapsedMs / 1000)} s)…`),
      );
      setResult(r);
      setProgress(`Test ${r.State === "Completed" ? "completed" : r.State}.`);
    } catch (err) {
      setError(toApiError(err));
      setProgress("");
    }
  };
  return (
    <div>
      <div class="field">
        <label for="ag-sample">Select sample type</label>
        <select class="input" id="ag-sample" value={sample} onChange={(e) => setSample((e.target as HTMLSelectElement).value)}>
          {SAMPLES.map((s) => (
            <option key={s.id} value={s.id}>
              {s.label}
            </option>
          ))}
        </select>
      </div>
      <div class="actions">
        <Button kind="primary" onClick={run} busyText="Testing…">
          Test
        </Button>
        <button type="button" class="btn btn-secondary" onClick={() => navigate("#/monitor/notifications")}>
          Open the Notifications inbox
        </button>
      </div>
      <p role="status">{progress}</p>
      {error && <ErrorBox error={error} title="The test could not be sent" />}
      {result && (
        <DataTable
          caption="Test results"
          rows={result.ActionDetails ?? []}
          rowKey={(d) => `${d.MechanismType}|${d.Name}`}
          columns={[
            { key: "Name", label: "Name", rowHeader: true },
            { key: "MechanismType", label: "Action type" },
            { key: "Status", label: "Status", render: (d) => <StatusBadge state={d.Status} /> },
            { key: "Detail", label: "Details", render: (d) => d.Detail ?? "" },
          ]}
        />
      )}
    </div>
  );
}

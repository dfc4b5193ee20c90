import { useEffect, useState } from "preact/hooks";
import { Button, DataTable, ErrorBox, RadioGroup, Select } from "../../../components";
import { type ApiError, type LroProgress, armListAll, armLro, toApiError } from "../../../lib/api";
import { useArm, useLoad } from "../../../lib/hooks";
import { href } from "../../../lib/router";
import type { ArmResource } from "../../../lib/types";
import { LroStatus } from "../lro-status";
import { SQL_API, api, nameOf, subscriptionOf } from "../sql-api";

/**
 * Server → Identity (portal.md §1.2): "System assigned managed identity" On/Off, "User assigned managed
 * identity" (Add / Remove), "Primary identity", Apply. Unlike Azure's blade it says which identity TDE uses:
 * the primary user-assigned identity if there is one, else the system-assigned identity.
 */
export function IdentityBlade({ resource }: { resource: ArmResource }) {
  const server = useArm<ArmResource>(api(resource.id));
  const s = server.data ?? resource;
  const type = (s.identity?.type ?? "None").replace(/\s+/g, "").toLowerCase();
  const [system, setSystem] = useState(type.includes("systemassigned"));
  const [users, setUsers] = useState<string[]>(Object.keys(s.identity?.userAssignedIdentities ?? {}));
  const [primary, setPrimary] = useState<string>((s.properties?.primaryUserAssignedIdentityId as string | undefined) ?? "");
  const [add, setAdd] = useState("");
  const [error, setError] = useState<ApiError | undefined>();
  const [progress, setProgress] = useState<LroProgress | undefined>();
  const [running, setRunning] = useState(false);
  const [saved, setSaved] = useState("");
  useEffect(() => {
    const t = (s.identity?.type ?? "None").replace(/\s+/g, "").toLowerCase();
    setSystem(t.includes("systemassigned"));
    setUsers(Object.keys(s.identity?.userAssignedIdentities ?? {}));
    setPrimary((s.properties?.primaryUserAssignedIdentityId as string | undefined) ?? "");
  }, [server.data]);
  const uamis = useLoad(`uamis:${subscriptionOf(resource.id)}`, () => armListAll<ArmResource>(`/subscriptions/${subscriptionOf(resource.id)}/providers/Microsoft.ManagedIdentity/userAssignedIdentities?api-version=2023-01-31`));
  const candidates = (uamis.data ?? []).filter((u) => !users.some((x) => x.toLowerCase() === u.id.toLowerCase()));
  const effectivePrimary = users.find((u) => u.toLowerCase() === primary.toLowerCase()) ?? (users.length === 1 ? users[0] : undefined);
  const tdeUses = effectivePrimary ? `the primary user-assigned identity ${nameOf(effectivePrimary)}` : system ? "the system-assigned identity" : "no identity: a customer-managed key cannot be used (AzureKeyVaultNoServerIdentity)";

  const apply = async () => {
    setError(undefined);
    setSaved("");
    setRunning(true);
    try {
      const t = system && users.length ? "SystemAssigned,UserAssigned" : system ? "SystemAssigned" : users.length ? "UserAssigned" : "None";
      const body = {
        identity: { type: t, ...(users.length ? { userAssignedIdentities: Object.fromEntries(users.map((u) => [u, {}])) } : {}) },
        ...(effectivePrimary ? { properties: { primaryUserAssignedIdentityId: effectivePrimary } } : {}),
      };
      await armLro("PATCH", `${resource.id}?api-version=${SQL_API}`, body, setProgress);
      setSaved("Saved the server identity.");
      server.reload();
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setRunning(false);
    }
  };

  return (
    <div class="identity">
      <p class="callout">
        <strong>Transparent data encryption uses:</strong> {tdeUses}.
      </p>
      <RadioGroup
        legend="System assigned managed identity"
        name="system-identity"
        value={system ? "on" : "off"}
        onValue={(v) => setSystem(v === "on")}
        options={[
          { value: "off", label: "Off" },
          { value: "on", label: "On" },
        ]}
      />
      {s.identity?.principalId ? (
        <p>
          Object (principal) ID: <code>{s.identity.principalId}</code>
        </p>
      ) : null}
      <h2>User assigned managed identity</h2>
      <DataTable
        caption="User assigned managed identities"
        rows={users}
        rowKey={(u) => u}
        empty="No user assigned managed identity."
        columns={[
          { key: "name", label: "Name", rowHeader: true, render: (u) => <a href={href(u)} translate={"no" as any}>{nameOf(u)}</a> },
          { key: "principal", label: "Object (principal) ID", render: (u) => <code>{Object.entries(s.identity?.userAssignedIdentities ?? {}).find(([k]) => k.toLowerCase() === u.toLowerCase())?.[1].principalId ?? "—"}</code> },
          {
            key: "remove",
            label: "Action",
            render: (u) => (
              <button type="button" class="btn btn-link" onClick={() => setUsers(users.filter((x) => x !== u))}>
                Remove<span class="sr-only">{` ${nameOf(u)}`}</span>
              </button>
            ),
          },
        ]}
      />
      <div class="inline-add">
        <Select label="User assigned managed identities" value={add} placeholder={candidates.length ? "Choose an identity to add" : "No other identity in this subscription"} options={candidates.map((u) => ({ value: u.id, label: u.name }))} onValue={setAdd} />
        <Button onClick={() => add && (setUsers([...users, add]), setAdd(""))}>Add</Button>
      </div>
      {users.length ? <Select label="Primary identity" value={effectivePrimary ?? ""} placeholder="Choose the primary identity" options={users.map((u) => ({ value: u, label: nameOf(u) }))} onValue={setPrimary} /> : null}
      <Button kind="primary" onClick={apply} busy={running} busyText="Applying…">
        Apply
      </Button>
      {running ? <LroStatus name="UpdateLogicalServer" progress={progress} /> : null}
      {error ? <ErrorBox error={error} title="Apply failed" /> : null}
      {saved ? <p role="status">{saved}</p> : null}
    </div>
  );
}

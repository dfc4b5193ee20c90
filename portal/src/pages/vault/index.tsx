import type { JSX } from "preact";
import { useState } from "preact/hooks";
import type { Area, ArmResource } from "../../lib/types";
import { useArm } from "../../lib/hooks";
import { ErrorBox } from "../../components/error-box";
import { VaultOverview } from "./overview";
import { VaultKeys } from "./keys";
import { AccessPolicies } from "./access-policies";
import { AccessConfiguration } from "./access-configuration";
import { Networking } from "./networking";
import { KV_API, type Vault, withApi } from "./vault-api";

/**
 * Key vault pages (portal.md §3.6 #5). Each blade re-reads the vault itself (GET on its id, re-read on live
 * hints), so a change made here shows at once, and a change made elsewhere (az, chaos) shows within a second.
 */
function WithVault({ id, children }: { id: string; children: (v: Vault, reload: () => void) => JSX.Element }) {
  const v = useArm<Vault>(withApi(id, KV_API));
  if (v.error) return <ErrorBox error={v.error} />;
  if (!v.data) return <p role="status">Loading…</p>;
  return children(v.data, v.reload);
}

/**
 * A settings form re-created from the vault after each change (so it shows what ARM now holds); its "done"
 * message lives here, outside the form, so it survives that.
 */
function Settings({ id, form }: { id: string; form: (v: Vault, reload: () => void, onDone: (m: string) => void) => JSX.Element }) {
  const [done, setDone] = useState("");
  return (
    <>
      <WithVault id={id}>{(v, reload) => form(v, reload, setDone)}</WithVault>
      <p role="status" class="muted">
        {done}
      </p>
    </>
  );
}

export const area: Area = {
  resourceTypes: ["microsoft.keyvault/vaults"],
  blades: (r: ArmResource) => [
    { id: "overview", label: "Overview", render: () => <WithVault id={r.id}>{(v) => <VaultOverview vault={v} />}</WithVault> },
    { id: "keys", label: "Keys", render: () => <WithVault id={r.id}>{(v) => <VaultKeys vault={v} />}</WithVault> },
    { id: "access-configuration", label: "Access configuration", render: () => <Settings id={r.id} form={(v, reload, onDone) => <AccessConfiguration key={String(v.properties.enableRbacAuthorization)} vault={v} reload={reload} onDone={onDone} />} /> },
    { id: "access-policies", label: "Access policies", render: () => <WithVault id={r.id}>{(v, reload) => <AccessPolicies vault={v} reload={reload} />}</WithVault> },
    { id: "networking", label: "Networking", render: () => <Settings id={r.id} form={(v, reload, onDone) => <Networking key={JSON.stringify([v.properties.networkAcls, v.properties.publicNetworkAccess])} vault={v} reload={reload} onDone={onDone} />} /> },
  ],
};

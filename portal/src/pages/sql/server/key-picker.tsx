import { useEffect } from "preact/hooks";
import { ErrorBox, Select } from "../../../components";
import { armListAll, vault } from "../../../lib/api";
import { useLoad } from "../../../lib/hooks";
import { KV_API, KV_DATA_API, nameOf } from "../sql-api";

/**
 * "Change key" → Subscription, Key vault, Key, Version (portal.md §1.1, create-server.md step 16). Vaults come
 * from ARM; keys and versions from each vault's data plane at its properties.vaultUri, with the user's own
 * token. When the vault refuses (no access policy for you, or its firewall), its error is shown verbatim with
 * Azure's hint that a key identifier must be entered instead (byok-identity.md).
 */
export interface PickedKey {
  subscriptionId: string;
  vaultId: string;
  key: string;
  /** The chosen version's key identifier (kid). */
  kid: string;
}

interface VaultRow {
  id: string;
  name: string;
  properties: { vaultUri: string };
}

export const NO_LIST_HINT =
  "The available keys can't be listed in the SQL server TDE menu: the key vault did not let you list them (its firewall without the trusted-services bypass, or no access policy for you). A key identifier must be used: choose \"Enter a key identifier\".";

export function KeyPicker({ value, onChange, defaultSubscription }: { value: Partial<PickedKey>; onChange: (v: Partial<PickedKey>) => void; defaultSubscription: string }) {
  const sub = value.subscriptionId ?? defaultSubscription;
  const subs = useLoad("subscriptions", () => armListAll<{ subscriptionId: string; displayName?: string }>("/subscriptions?api-version=2020-01-01"), [], { live: false });
  const vaults = useLoad(`vaults:${sub}`, () => armListAll<VaultRow>(`/subscriptions/${sub}/providers/Microsoft.KeyVault/vaults?api-version=${KV_API}`));
  const v = vaults.data?.find((x) => x.id.toLowerCase() === value.vaultId?.toLowerCase());
  const keys = useLoad(v ? `keys:${v.id}` : null, () => vault<{ value: { kid: string; attributes?: { enabled?: boolean } }[] }>(v!.properties.vaultUri, "GET", `/keys?api-version=${KV_DATA_API}`));
  const versions = useLoad(v && value.key ? `versions:${v.id}/${value.key}` : null, () =>
    vault<{ value: { kid: string; attributes?: { enabled?: boolean; created?: number } }[] }>(v!.properties.vaultUri, "GET", `/keys/${encodeURIComponent(value.key!)}/versions?api-version=${KV_DATA_API}`),
  );
  // The current version is what GET /keys/{name} answers (Azure's "Current version"); needs `get`, else newest by date.
  const latest = useLoad(v && value.key ? `latest:${v.id}/${value.key}` : null, () =>
    vault<{ key: { kid: string } }>(v!.properties.vaultUri, "GET", `/keys/${encodeURIComponent(value.key!)}/?api-version=${KV_DATA_API}`).then(
      (b) => b.key.kid,
      () => undefined,
    ),
  );
  const byDate = [...(versions.data?.value ?? [])].sort((a, b) => (b.attributes?.created ?? 0) - (a.attributes?.created ?? 0));
  const currentKid = latest.data ?? (latest.loading ? undefined : byDate[0]?.kid);
  const versionRows = [...byDate.filter((r) => r.kid === currentKid), ...byDate.filter((r) => r.kid !== currentKid)];
  useEffect(() => {
    if (value.key && !value.kid && currentKid && versions.data) onChange({ ...value, subscriptionId: sub, kid: currentKid });
  }, [versions.data, currentKid]);
  return (
    <fieldset class="key-picker">
      <legend>Select a key</legend>
      <Select
        label="Subscription"
        value={sub}
        options={(subs.data ?? [{ subscriptionId: sub }]).map((s) => ({ value: s.subscriptionId, label: s.displayName ? `${s.displayName} (${s.subscriptionId})` : s.subscriptionId }))}
        onValue={(x) => onChange({ subscriptionId: x })}
      />
      <Select
        label="Key vault"
        value={value.vaultId ?? ""}
        placeholder={vaults.data ? (vaults.data.length ? "Select a key vault" : "No key vaults in this subscription") : "Loading key vaults…"}
        options={(vaults.data ?? []).map((x) => ({ value: x.id, label: x.name }))}
        onValue={(x) => onChange({ subscriptionId: sub, vaultId: x })}
      />
      {vaults.error ? <ErrorBox error={vaults.error} title="The key vaults could not be listed" /> : null}
      {keys.error ? (
        <div class="no-list">
          <ErrorBox error={keys.error} title={`The keys of ${v ? nameOf(v.id) : "the vault"} could not be listed`} />
          <p class="field-hint">{NO_LIST_HINT}</p>
        </div>
      ) : (
        <Select
          label="Key"
          value={value.key ?? ""}
          disabled={!v}
          placeholder={!v ? "Select a key vault first" : keys.data ? (keys.data.value.length ? "Select a key" : "No keys in this vault") : "Loading keys…"}
          options={(keys.data?.value ?? []).map((k) => ({ value: nameOf(k.kid), label: nameOf(k.kid) }))}
          onValue={(x) => onChange({ subscriptionId: sub, ...(value.vaultId ? { vaultId: value.vaultId } : {}), key: x })}
        />
      )}
      {versions.error ? <ErrorBox error={versions.error} title="The key versions could not be listed" /> : null}
      <Select
        label="Version"
        value={value.kid ?? ""}
        disabled={!value.key || !versions.data}
        placeholder={value.kid ? undefined : !value.key ? "Select a key first" : versions.data ? "Select a version" : "Loading versions…"}
        options={versionRows.map((r) => ({ value: r.kid, label: `${r.kid === currentKid ? "Current version: " : ""}${nameOf(r.kid)}${r.attributes?.enabled === false ? " (disabled)" : ""}` }))}
        onValue={(x) => onChange({ ...value, subscriptionId: sub, kid: x })}
      />
    </fieldset>
  );
}

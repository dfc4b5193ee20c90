import { useState } from "preact/hooks";
import { ApiError, toApiError, vault as kv } from "../../lib/api";
import { useLoad } from "../../lib/hooks";
import { useServerNow } from "../../lib/live";
import { ErrorBox } from "../../components/error-box";
import { StatusBadge } from "../../components/status-badge";
import { DataTable } from "../../components/data-table";
import { Time } from "../../components/time";
import { epochMs, KV_DATA_API, type KeyBundle, type KeyItem, type Vault, withApi } from "./vault-api";

/**
 * Key vault → Keys (portal.md §3.6 #5), read from the vault's data plane with the signed-in user's vault token,
 * exactly as Azure's portal does: the user needs "list"/"get" in an access policy (or a Key Vault RBAC role)
 * and must pass the vault firewall. A 403 (ForbiddenByPolicy, ForbiddenByFirewall) is shown verbatim.
 */
const enc = encodeURIComponent;
const nameOfKid = (kid: string): string => kid.split("/keys/")[1]?.split("/")[0] ?? kid;
const versionOfKid = (kid: string): string => kid.split("/keys/")[1]?.split("/")[1] ?? "";

/** Enabled, Disabled, Expired or Not yet active: what the portal's Status column says. */
export function keyStatus(a: KeyItem["attributes"], nowMs: number): string {
  if (a.enabled === false) return "Disabled";
  if (a.exp !== undefined && a.exp * 1000 <= nowMs) return "Expired";
  if (a.nbf !== undefined && a.nbf * 1000 > nowMs) return "Not yet active";
  return "Enabled";
}

/** Follows nextLink on the vault origin (the data plane pages with absolute links). */
async function listAll<T>(vaultUri: string, path: string): Promise<T[]> {
  const out: T[] = [];
  let next: string | undefined = path;
  while (next) {
    const page: { value?: T[]; nextLink?: string | null } = await kv(vaultUri, "GET", next);
    out.push(...(page.value ?? []));
    next = page.nextLink ? page.nextLink.replace(/^https?:\/\/[^/]+/i, "") : undefined;
  }
  return out;
}

function FirewallHint({ error }: { error: ApiError }) {
  const inner = error.innerCode ?? error.code;
  if (inner === "ForbiddenByFirewall" || /firewall|public network access/i.test(error.message)) {
    return (
      <p class="field-hint">
        Keys can't be listed through this vault's firewall from your address. Add your client IP address under Networking → Firewall, or enter a key
        identifier where a key is needed (as Azure's SQL TDE menu asks when the vault's firewall is on).
      </p>
    );
  }
  if (inner === "AccessDenied" || inner === "ForbiddenByPolicy" || inner === "ForbiddenByRbac") {
    return <p class="field-hint">You need the "list" and "get" key permissions on this vault: grant them under Access policies (or a Key Vault role).</p>;
  }
  return null;
}

export function VaultKeys({ vault }: { vault: Vault }) {
  const uri = vault.properties.vaultUri;
  const keys = useLoad<KeyItem[]>(`keys:${uri}`, () => listAll<KeyItem>(uri, withApi("/keys", KV_DATA_API)), [uri]);
  const [open, setOpen] = useState<string | undefined>();
  const [creating, setCreating] = useState(false);
  // Expiry is judged on tdekv's clock (it may be manual), as the vault itself judges it.
  const now = useServerNow();
  return (
    <section aria-labelledby="keys-h">
      <h2 id="keys-h">Keys</h2>
      <div class="actions">
        <button type="button" class="btn btn-primary" onClick={() => setCreating(true)} aria-expanded={creating}>
          Generate/Import
        </button>
        <button type="button" class="btn btn-secondary" onClick={keys.reload}>
          Refresh
        </button>
      </div>
      {creating && <CreateKey vaultUri={uri} onDone={(made) => { setCreating(false); if (made) { setOpen(made); keys.reload(); } }} />}
      {keys.error && (
        <>
          <ErrorBox error={keys.error} title="The keys of this vault could not be listed" />
          <FirewallHint error={keys.error} />
        </>
      )}
      {!keys.data && !keys.error && <p role="status">Loading keys…</p>}
      {keys.data && (
        <DataTable<KeyItem>
          caption={`Keys in ${vault.name}`}
          rows={keys.data}
          rowKey={(k) => k.kid}
          empty="There are no keys available."
          columns={[
            {
              key: "name",
              label: "Name",
              rowHeader: true,
              sortValue: (k) => nameOfKid(k.kid),
              render: (k) => (
                <button type="button" class="btn btn-link" aria-expanded={open === nameOfKid(k.kid)} onClick={() => setOpen(open === nameOfKid(k.kid) ? undefined : nameOfKid(k.kid))}>
                  <span translate={false}>{nameOfKid(k.kid)}</span>
                </button>
              ),
            },
            { key: "status", label: "Status", render: (k) => <StatusBadge state={keyStatus(k.attributes, now)} /> },
            { key: "nbf", label: "Activation date", render: (k) => (k.attributes.nbf ? <Time ms={epochMs(k.attributes.nbf)!} /> : "") },
            { key: "exp", label: "Expiration date", render: (k) => (k.attributes.exp ? <Time ms={epochMs(k.attributes.exp)!} /> : "") },
          ]}
        />
      )}
      {open && <KeyVersions vaultUri={uri} name={open} />}
    </section>
  );
}

interface VersionRow {
  item: KeyItem;
  bundle?: KeyBundle;
}

function KeyVersions({ vaultUri, name }: { vaultUri: string; name: string }) {
  const versions = useLoad<VersionRow[]>(`versions:${vaultUri}:${name}`, async () => {
    const items = await listAll<KeyItem>(vaultUri, withApi(`/keys/${enc(name)}/versions`, KV_DATA_API));
    // Key operations and type are on the key bundle only (GET /keys/{name}/{version}).
    return Promise.all(items.map(async (item) => ({ item, bundle: await kv<KeyBundle>(vaultUri, "GET", withApi(`/keys/${enc(name)}/${enc(versionOfKid(item.kid))}`, KV_DATA_API)).catch(() => undefined) })));
  }, [vaultUri, name]);
  const [busy, setBusy] = useState<string | undefined>();
  const [error, setError] = useState<ApiError | undefined>();
  const setEnabled = async (version: string, enabled: boolean) => {
    setBusy(version);
    setError(undefined);
    try {
      await kv(vaultUri, "PATCH", withApi(`/keys/${enc(name)}/${enc(version)}`, KV_DATA_API), { attributes: { enabled } });
      versions.reload();
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setBusy(undefined);
    }
  };
  const now = useServerNow();
  return (
    <section aria-labelledby="versions-h" class="subsection">
      <h3 id="versions-h">
        Versions of <span translate={false}>{name}</span>
      </h3>
      {error && <ErrorBox error={error} />}
      {versions.error && <ErrorBox error={versions.error} />}
      {versions.data && (
        <DataTable<VersionRow>
          caption={`Versions of key ${name}`}
          rows={[...versions.data].sort((a, b) => (b.item.attributes.created ?? 0) - (a.item.attributes.created ?? 0))}
          rowKey={(r) => r.item.kid}
          columns={[
            { key: "version", label: "Version", rowHeader: true, render: (r) => <code translate={false}>{versionOfKid(r.item.kid)}</code> },
            { key: "status", label: "Status", render: (r) => <StatusBadge state={keyStatus(r.item.attributes, now)} /> },
            { key: "type", label: "Key type", render: (r) => r.bundle?.key.kty ?? "" },
            { key: "ops", label: "Permitted operations", render: (r) => (r.bundle?.key.key_ops ?? []).join(", ") },
            { key: "nbf", label: "Activation date", render: (r) => (r.item.attributes.nbf ? <Time ms={epochMs(r.item.attributes.nbf)!} /> : "") },
            { key: "exp", label: "Expiration date", render: (r) => (r.item.attributes.exp ? <Time ms={epochMs(r.item.attributes.exp)!} /> : "") },
            {
              key: "act",
              label: "Actions",
              render: (r) => {
                const v = versionOfKid(r.item.kid);
                const on = r.item.attributes.enabled !== false;
                return (
                  <button type="button" class="btn btn-secondary" aria-busy={busy === v} disabled={busy !== undefined} onClick={() => setEnabled(v, !on)} aria-label={`${on ? "Disable" : "Enable"} version ${v}`}>
                    {on ? "Disable" : "Enable"}
                  </button>
                );
              },
            },
          ]}
        />
      )}
    </section>
  );
}

/** "Create a key": RSA 2048/3072/4096 (what a TDE protector accepts), POST /keys/{name}/create. */
function CreateKey({ vaultUri, onDone }: { vaultUri: string; onDone: (made?: string) => void }) {
  const [name, setName] = useState("");
  const [size, setSize] = useState("2048");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | undefined>();
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await kv(vaultUri, "POST", withApi(`/keys/${enc(name)}/create`, KV_DATA_API), { kty: "RSA", key_size: Number(size) });
      onDone(name);
    } catch (err) {
      setError(toApiError(err));
      setBusy(false);
    }
  };
  return (
    <form class="panel" onSubmit={submit} aria-labelledby="create-key-h">
      <h3 id="create-key-h">Create a key</h3>
      <div class="field">
        <label for="key-name">Name</label>
        <input class="input" id="key-name" required pattern="[0-9a-zA-Z\-]{1,127}" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
      </div>
      <fieldset class="radios">
        <legend>RSA key size</legend>
        {["2048", "3072", "4096"].map((s) => (
          <label key={s} class="check">
            <input type="radio" name="key-size" value={s} checked={size === s} onChange={() => setSize(s)} /> {s}
          </label>
        ))}
      </fieldset>
      {error && <ErrorBox error={error} />}
      <div class="actions">
        <button type="submit" class="btn btn-primary" aria-busy={busy} disabled={busy}>
          Create
        </button>
        <button type="button" class="btn btn-secondary" onClick={() => onDone()}>
          Cancel
        </button>
      </div>
    </form>
  );
}

import { useState } from "preact/hooks";
import { arm, ApiError, toApiError } from "../../lib/api";
import { ErrorBox } from "../../components/error-box";
import { KV_API, type Vault, withApi } from "./vault-api";
import { publicAccessLabel } from "./overview";

/**
 * Key vault → Networking → Firewalls and virtual networks (portal.md §1.4, §3.7 #4). Apply writes ARM's
 * `networkAcls` (defaultAction, bypass, ipRules) and `publicNetworkAccess`, as `az keyvault update` and
 * `az keyvault network-rule add` do. The SQL service is a trusted Microsoft service: without the exception
 * a closed firewall cuts every server off its TDE protector (seed: firewall without trusted services).
 */
const ALL = "Allow public access from all networks";
const SPECIFIC = "Allow public access from specific virtual networks and IP addresses";
const NONE = "Disable public access";
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}(\/(3[0-2]|[12]?\d))?$/;

export function Networking({ vault, reload, onDone }: { vault: Vault; reload: () => void; onDone: (message: string) => void }) {
  const acls = vault.properties.networkAcls ?? {};
  const [access, setAccess] = useState(publicAccessLabel(vault));
  const [ips, setIps] = useState<string[]>((acls.ipRules ?? []).map((r) => r.value));
  const [bypass, setBypass] = useState(acls.bypass !== "None");
  const [ip, setIp] = useState("");
  const [ipError, setIpError] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | undefined>();

  const add = () => {
    const v = ip.trim();
    if (!IPV4.test(v)) return setIpError(`'${v}' is not an IPv4 address or CIDR range (for example 203.0.113.5 or 203.0.113.0/24).`);
    setIpError("");
    if (!ips.includes(v)) setIps([...ips, v]);
    setIp("");
  };
  const apply = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    onDone("");
    try {
      await arm("PATCH", withApi(vault.id, KV_API), {
        properties: {
          publicNetworkAccess: access === NONE ? "Disabled" : "Enabled",
          networkAcls: {
            defaultAction: access === ALL ? "Allow" : "Deny",
            bypass: bypass ? "AzureServices" : "None",
            ipRules: ips.map((value) => ({ value })),
            virtualNetworkRules: acls.virtualNetworkRules ?? [],
          },
        },
      });
      onDone("The network settings were applied.");
      reload();
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={apply} aria-labelledby="net-h">
      <h2 id="net-h">Networking</h2>
      <h3>Firewalls and virtual networks</h3>
      <fieldset>
        <legend>Allow access from:</legend>
        {[ALL, SPECIFIC, NONE].map((l) => (
          <label key={l} class="check">
            <input type="radio" name="allow-access" checked={access === l} onChange={() => setAccess(l)} /> {l}
          </label>
        ))}
      </fieldset>
      {access === SPECIFIC && (
        <fieldset>
          <legend>Firewall</legend>
          <p class="field-hint" id="fw-hint">Add IPv4 addresses or CIDR ranges that may reach this vault from the internet.</p>
          <div class="field inline-field">
            <label for="fw-ip">IPv4 address or CIDR</label>
            <input class="input" id="fw-ip" value={ip} aria-describedby={ipError ? "fw-ip-error fw-hint" : "fw-hint"} aria-invalid={!!ipError} onInput={(e) => setIp((e.target as HTMLInputElement).value)} onKeyDown={(e) => { if (e.key === "Enter") { e.preventDefault(); add(); } }} />
            <button type="button" class="btn btn-secondary" onClick={add}>
              Add
            </button>
          </div>
          {ipError && <p id="fw-ip-error" class="field-error">{ipError}</p>}
          <ul class="plain-list" aria-label="Firewall IPv4 addresses and ranges">
            {ips.map((v) => (
              <li key={v}>
                <code>{v}</code>{" "}
                <button type="button" class="btn btn-secondary" aria-label={`Remove ${v}`} onClick={() => setIps(ips.filter((x) => x !== v))}>
                  Remove
                </button>
              </li>
            ))}
            {!ips.length && <li>No addresses or ranges.</li>}
          </ul>
        </fieldset>
      )}
      <fieldset>
        <legend>Exception</legend>
        <label class="check">
          <input type="checkbox" checked={bypass} onChange={(e) => setBypass((e.target as HTMLInputElement).checked)} aria-describedby="bypass-hint" /> Allow trusted Microsoft services to bypass this
          firewall
        </label>
        <p class="field-hint" id="bypass-hint">
          Azure SQL reaches its TDE protector as a trusted Microsoft service. Without this exception, a firewall that denies public access cuts every server
          off its key and its databases become Inaccessible.
        </p>
      </fieldset>
      {error && <ErrorBox error={error} />}
      <div class="actions">
        <button type="submit" class="btn btn-primary" aria-busy={busy} disabled={busy}>
          Apply
        </button>
      </div>
    </form>
  );
}

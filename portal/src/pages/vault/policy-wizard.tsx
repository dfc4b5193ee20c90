import { useState } from "preact/hooks";
import { arm, ApiError, toApiError } from "../../lib/api";
import { ErrorBox } from "../../components/error-box";
import { WizardFooter, WizardSteps } from "../../components/wizard-steps";
import { GUID, type Principal } from "./principals";
import { CERTIFICATE_PERMISSIONS, KEY_PERMISSIONS, KV_API, SECRET_PERMISSIONS, TDE_TEMPLATE, type Vault, withApi } from "./vault-api";

/**
 * "Create an access policy" (portal.md §1.4): Permissions (Key / Secret / Certificate permissions, with the
 * one-click "Azure SQL TDE (get, wrapKey, unwrapKey)" template), Principal (search), Application (optional),
 * Review + create → Create = ARM `PUT vaults/{v}/accessPolicies/add` (what `az keyvault set-policy` amounts to).
 */
const STEPS = ["Permissions", "Principal", "Application (optional)", "Review + create"] as const;
type Kind = "keys" | "secrets" | "certificates";
const GROUPS: { kind: Kind; legend: string; all: string[] }[] = [
  { kind: "keys", legend: "Key permissions", all: KEY_PERMISSIONS },
  { kind: "secrets", legend: "Secret permissions", all: SECRET_PERMISSIONS },
  { kind: "certificates", legend: "Certificate permissions", all: CERTIFICATE_PERMISSIONS },
];
/** Azure's checkbox labels: "Wrap Key", "Get Rotation Policy", ... */
const label = (p: string) => p.replace(/([a-z])([A-Z])/g, "$1 $2").replace(/^(get|set)(rotationpolicy)$/, "$1 rotation policy").replace(/^manage(contacts|issuers)$/, "manage $1").replace(/^(get|list|set|delete)(issuers)$/, "$1 $2").replace(/\b\w/g, (c) => c.toUpperCase());

export function PolicyWizard({ vault, principals, principalsError, onClose }: { vault: Vault; principals: Principal[]; principalsError?: ApiError; onClose: (created?: string) => void }) {
  const [step, setStep] = useState(0);
  const [chosen, setChosen] = useState<Record<Kind, string[]>>({ keys: [], secrets: [], certificates: [] });
  const [template, setTemplate] = useState("");
  const [query, setQuery] = useState("");
  const [principal, setPrincipal] = useState<Principal | undefined>();
  const [appId, setAppId] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | undefined>();

  const toggle = (kind: Kind, p: string, on: boolean) => setChosen((c) => ({ ...c, [kind]: on ? [...c[kind], p] : c[kind].filter((x) => x !== p) }));
  const applyTemplate = (v: string) => {
    setTemplate(v);
    if (v === "tde") setChosen({ keys: [...TDE_TEMPLATE.keys], secrets: [], certificates: [] });
  };
  const q = query.trim().toLowerCase();
  const typedId = GUID.test(query.trim()) && !principals.some((p) => p.objectId.toLowerCase() === q);
  const matches = principals.filter((p) => !q || p.displayName.toLowerCase().includes(q) || p.objectId.toLowerCase().includes(q) || p.kind.toLowerCase().includes(q));
  const nothingChosen = !chosen.keys.length && !chosen.secrets.length && !chosen.certificates.length;
  const blocker = step === 0 && nothingChosen ? "Select at least one permission." : step === 1 && !principal ? "Select a principal." : step === 2 && appId && !GUID.test(appId) ? "The application ID must be a GUID." : "";

  const create = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const permissions = Object.fromEntries(Object.entries(chosen).filter(([, l]) => l.length));
      await arm("PUT", withApi(`${vault.id}/accessPolicies/add`, KV_API), {
        properties: { accessPolicies: [{ tenantId: vault.properties.tenantId, objectId: principal!.objectId, ...(appId ? { applicationId: appId } : {}), permissions }] },
      });
      onClose(principal!.displayName);
    } catch (err) {
      setError(toApiError(err));
      setBusy(false);
    }
  };

  return (
    <section class="panel wizard" aria-labelledby="wiz-title">
      <h3 id="wiz-title">Create an access policy</h3>
      <WizardSteps steps={STEPS} step={step} blocked={!!blocker} onStep={setStep} />
      {step === 0 && (
        <div>
          <div class="field">
            <label for="ap-template">Configure from a template</label>
            <select class="input" id="ap-template" value={template} onChange={(e) => applyTemplate((e.target as HTMLSelectElement).value)}>
              <option value="">Select a template</option>
              <option value="tde">{TDE_TEMPLATE.label}</option>
            </select>
          </div>
          <div class="perm-groups">
            {GROUPS.map((g) => (
              <fieldset key={g.kind} class="perm-group">
                <legend>{g.legend}</legend>
                {g.all.map((p) => (
                  <label key={p} class="check">
                    <input type="checkbox" checked={chosen[g.kind].includes(p)} onChange={(e) => toggle(g.kind, p, (e.target as HTMLInputElement).checked)} /> {label(p)}
                  </label>
                ))}
              </fieldset>
            ))}
          </div>
        </div>
      )}
      {step === 1 && (
        <div>
          <div class="field">
            <label for="ap-search">Search by name or object ID</label>
            <input class="input" id="ap-search" type="search" value={query} onInput={(e) => setQuery((e.target as HTMLInputElement).value)} aria-describedby="ap-search-hint" />
            <p id="ap-search-hint" class="field-hint">
              Lists you, the subscription's user-assigned managed identities and the system-assigned identities of SQL servers and managed instances.
              Paste any other principal's object ID.
            </p>
          </div>
          {principalsError && <ErrorBox error={principalsError} title="The principals could not be listed" />}
          <fieldset class="principal-list">
            <legend>Principal</legend>
            {typedId && (
              <label class="check">
                <input type="radio" name="ap-principal" checked={principal?.objectId === query.trim()} onChange={() => setPrincipal({ objectId: query.trim().toLowerCase(), displayName: query.trim(), kind: "Object ID" })} />
                <span>
                  Object ID <code>{query.trim()}</code>
                </span>
              </label>
            )}
            {matches.map((p) => (
              <label key={p.objectId} class="check">
                <input type="radio" name="ap-principal" checked={principal?.objectId === p.objectId} onChange={() => setPrincipal(p)} />
                <span>
                  <span translate={false}>{p.displayName}</span> <small>({p.kind}, {p.objectId})</small>
                </span>
              </label>
            ))}
            {!matches.length && !typedId && <p>No principal matches “{query}”.</p>}
          </fieldset>
        </div>
      )}
      {step === 2 && (
        <div class="field">
          <label for="ap-app">Application ID</label>
          <input class="input" id="ap-app" value={appId} onInput={(e) => setAppId((e.target as HTMLInputElement).value.trim())} aria-describedby="ap-app-hint" />
          <p id="ap-app-hint" class="field-hint">
            Only for a compound identity (a user signed in through a specific application). Leave it empty for a managed identity.
          </p>
        </div>
      )}
      {step === 3 && (
        <dl class="essentials">
          <div>
            <dt>Key permissions</dt>
            <dd>{chosen.keys.join(", ") || "None"}</dd>
          </div>
          <div>
            <dt>Secret permissions</dt>
            <dd>{chosen.secrets.join(", ") || "None"}</dd>
          </div>
          <div>
            <dt>Certificate permissions</dt>
            <dd>{chosen.certificates.join(", ") || "None"}</dd>
          </div>
          <div>
            <dt>Principal</dt>
            <dd>
              <span translate={false}>{principal?.displayName}</span> (<code>{principal?.objectId}</code>)
            </dd>
          </div>
          <div>
            <dt>Application</dt>
            <dd>{appId || "None"}</dd>
          </div>
        </dl>
      )}
      <WizardFooter
        steps={STEPS}
        step={step}
        blocker={blocker || undefined}
        idPrefix="ap"
        onStep={setStep}
        finish={
          <button type="button" class="btn btn-primary" aria-busy={busy} disabled={busy} onClick={create}>
            Create
          </button>
        }
        onCancel={() => onClose()}
      >
        {error && <ErrorBox error={error} title="The access policy could not be created" />}
      </WizardFooter>
    </section>
  );
}

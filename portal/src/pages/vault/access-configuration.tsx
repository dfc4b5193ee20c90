import { useState } from "preact/hooks";
import { arm, ApiError, toApiError } from "../../lib/api";
import { ErrorBox } from "../../components/error-box";
import { KV_API, type Vault, withApi } from "./vault-api";

/**
 * Key vault → Access configuration (portal.md §1.4): the permission model. With Azure role-based access control
 * Key Vault ignores access policies (keyvault.md §2.5), so switching can cut a SQL server off its key.
 */
export function AccessConfiguration({ vault, reload, onDone }: { vault: Vault; reload: () => void; onDone: (message: string) => void }) {
  const current = vault.properties.enableRbacAuthorization ? "rbac" : "policy";
  const [model, setModel] = useState(current);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | undefined>();
  const apply = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    onDone("");
    try {
      await arm("PATCH", withApi(vault.id, KV_API), { properties: { enableRbacAuthorization: model === "rbac" } });
      onDone("The permission model was saved.");
      reload();
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={apply} aria-labelledby="ac-h">
      <h2 id="ac-h">Access configuration</h2>
      <fieldset>
        <legend>Permission model</legend>
        <label class="check">
          <input type="radio" name="perm-model" checked={model === "policy"} onChange={() => setModel("policy")} /> Vault access policy
        </label>
        <label class="check">
          <input type="radio" name="perm-model" checked={model === "rbac"} onChange={() => setModel("rbac")} /> Azure role-based access control
        </label>
      </fieldset>
      {model !== current && (
        <p class="field-hint">
          {model === "rbac"
            ? "After the switch, only role assignments grant access: principals that rely on an access policy (a SQL server's identity, say) lose access to the keys until they get a Key Vault role such as Key Vault Crypto Service Encryption User."
            : "After the switch, only access policies grant access: role assignments on this vault stop granting data-plane access."}
        </p>
      )}
      {error && <ErrorBox error={error} />}
      <div class="actions">
        <button type="submit" class="btn btn-primary" aria-busy={busy} disabled={busy || model === current}>
          Apply
        </button>
      </div>
    </form>
  );
}

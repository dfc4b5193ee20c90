import { useRef, useState } from "preact/hooks";
import { arm, ApiError, toApiError } from "../../lib/api";
import { useLoad } from "../../lib/hooks";
import { href } from "../../lib/router";
import { Banner } from "../../components/banner";
import { DataTable } from "../../components/data-table";
import { ErrorBox } from "../../components/error-box";
import { listPrincipals, type Principal } from "./principals";
import { PolicyWizard } from "./policy-wizard";
import { type AccessPolicy, KV_API, type Vault, withApi } from "./vault-api";

/**
 * Key vault → Access policies (portal.md §1.4, §3.7 #3): the list, "Create" (the wizard) and "Delete". Both go
 * through ARM's `vaults/{v}/accessPolicies/{add|remove}` (arm-keyvault updateAccessPolicy), which changes one
 * entry atomically instead of rewriting the whole vault.
 */
const perms = (l?: string[]) => (l && l.length ? l.join(", ") : "");

export function AccessPolicies({ vault, reload }: { vault: Vault; reload: () => void }) {
  const principals = useLoad<Principal[]>("principals", listPrincipals, [], { live: false });
  const [wizard, setWizard] = useState(false);
  const [busy, setBusy] = useState<string | undefined>();
  const [error, setError] = useState<ApiError | undefined>();
  const [done, setDone] = useState("");
  const createBtn = useRef<HTMLButtonElement>(null);
  const policies = vault.properties.accessPolicies ?? [];
  const nameOf = (p: AccessPolicy) => principals.data?.find((x) => x.objectId.toLowerCase() === p.objectId.toLowerCase());

  const remove = async (p: AccessPolicy) => {
    setBusy(p.objectId);
    setError(undefined);
    setDone("");
    try {
      await arm("PUT", withApi(`${vault.id}/accessPolicies/remove`, KV_API), { properties: { accessPolicies: [{ tenantId: p.tenantId, objectId: p.objectId, ...(p.applicationId ? { applicationId: p.applicationId } : {}), permissions: {} }] } });
      setDone(`Deleted the access policy of ${nameOf(p)?.displayName ?? p.objectId}.`);
      reload();
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setBusy(undefined);
    }
  };

  return (
    <section aria-labelledby="ap-h">
      <h2 id="ap-h">Access policies</h2>
      {vault.properties.enableRbacAuthorization && (
        <Banner kind="info" heading="Access policies are not in effect">
          <p>
            This vault uses the Azure role-based access control permission model, so Key Vault ignores its access policies. Change it under{" "}
            <a href={href(vault.id, "access-configuration")}>Access configuration</a>.
          </p>
        </Banner>
      )}
      <div class="actions">
        <button type="button" class="btn btn-primary" ref={createBtn} onClick={() => { setWizard(true); setDone(""); }} aria-expanded={wizard}>
          Create
        </button>
      </div>
      <p role="status" class="muted">{done}</p>
      {wizard && (
        <PolicyWizard
          vault={vault}
          principals={principals.data ?? []}
          principalsError={principals.error}
          onClose={(created) => {
            // The wizard (and the focused Create/Cancel in it) unmounts: give focus back to its opener.
            createBtn.current?.focus();
            setWizard(false);
            if (created) {
              setDone(`Created an access policy for ${created}.`);
              reload();
            }
          }}
        />
      )}
      {error && <ErrorBox error={error} />}
      <DataTable<AccessPolicy>
        caption="Current access policies"
        rows={policies}
        rowKey={(p) => `${p.objectId}|${p.applicationId ?? ""}`}
        empty="No access policies. Nobody can use this vault's keys, secrets or certificates."
        columns={[
          {
            key: "name",
            label: "Name",
            rowHeader: true,
            sortValue: (p) => nameOf(p)?.displayName ?? p.objectId,
            render: (p) => {
              const who = nameOf(p);
              return who ? (
                <span>
                  <span translate={false}>{who.displayName}</span>
                  <br />
                  <small>{who.kind}</small>
                </span>
              ) : (
                <span>Unknown principal</span>
              );
            },
          },
          { key: "objectId", label: "Object ID", render: (p) => <code translate={false}>{p.objectId}</code> },
          { key: "keys", label: "Key permissions", render: (p) => perms(p.permissions.keys) },
          { key: "secrets", label: "Secret permissions", render: (p) => perms(p.permissions.secrets) },
          { key: "certificates", label: "Certificate permissions", render: (p) => perms(p.permissions.certificates) },
          {
            key: "actions",
            label: "Actions",
            render: (p) => (
              <button type="button" class="btn btn-secondary" aria-busy={busy === p.objectId} disabled={busy !== undefined} onClick={() => remove(p)} aria-label={`Delete the access policy of ${nameOf(p)?.displayName ?? p.objectId}`}>
                Delete
              </button>
            ),
          },
        ]}
      />
    </section>
  );
}

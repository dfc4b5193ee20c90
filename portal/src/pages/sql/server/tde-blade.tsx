import { useEffect, useState } from "preact/hooks";
import { Button, Checkbox, DataTable, ErrorBox, Loading, RadioGroup, StatusBadge, TextInput, Time } from "../../../components";
import { type ApiError, type LroProgress, armLro, toApiError } from "../../../lib/api";
import { useArm } from "../../../lib/hooks";
import type { ArmResource } from "../../../lib/types";
import { LroStatus } from "../lro-status";
import { type Protector, type ServerKey, type SqlDatabase, SQL_API, api, parseKeyUri, serverKeyNameFor, subscriptionOf } from "../sql-api";
import { KeyPicker, type PickedKey } from "./key-picker";

/**
 * Server (or managed instance) → Security → "Transparent data encryption" (portal.md §1.1), in Azure's words:
 * Service-managed key / Customer-managed key, Select a key or Enter a key identifier, "Make this key the
 * default TDE protector", "Auto-rotate key", Save. Save is Microsoft.Sql's own two calls, as az makes them:
 * PUT …/keys/{vault}_{key}_{version} (UpsertServerKey), then PUT …/encryptionProtector/current
 * (UpsertEncryptionProtector), each followed to its end with progress; the seed's errors are shown verbatim.
 */
type Mode = "ServiceManaged" | "AzureKeyVault";

export function TdeBlade({ resource }: { resource: ArmResource }) {
  const id = resource.id;
  const protector = useArm<Protector>(api(`${id}/encryptionProtector/current`));
  const keys = useArm<{ value: ServerKey[] }>(api(`${id}/keys`));
  const dbs = useArm<{ value: SqlDatabase[] }>(api(`${id}/databases`));
  const [mode, setMode] = useState<Mode>("AzureKeyVault");
  const [method, setMethod] = useState<"select" | "uri">("select");
  const [picked, setPicked] = useState<Partial<PickedKey>>({});
  const [uri, setUri] = useState("");
  const [makeDefault, setMakeDefault] = useState(true);
  const [autoRotate, setAutoRotate] = useState(false);
  const [fieldError, setFieldError] = useState<string | undefined>();
  const [error, setError] = useState<ApiError | undefined>();
  const [op, setOp] = useState<string | undefined>();
  const [progress, setProgress] = useState<LroProgress | undefined>();
  const [saved, setSaved] = useState("");
  const [init, setInit] = useState(false);

  // Start from what the server has now.
  useEffect(() => {
    const p = protector.data?.properties;
    if (!p || init) return;
    setInit(true);
    setMode(p.serverKeyType);
    setAutoRotate(!!p.autoRotationEnabled);
    if (p.uri) setUri(p.uri);
  }, [protector.data]);

  if (protector.error) return <ErrorBox error={protector.error} />;
  if (!protector.data) return <Loading what="Loading the TDE protector…" />;
  const current = protector.data.properties;
  const cmkDown = current.serverKeyType === "AzureKeyVault" && (dbs.data?.value ?? []).some((d) => d.properties.status === "Inaccessible");

  const save = async () => {
    setError(undefined);
    setFieldError(undefined);
    setSaved("");
    setProgress(undefined);
    try {
      if (mode === "ServiceManaged") {
        setOp("UpsertEncryptionProtector");
        await armLro("PUT", `${id}/encryptionProtector/current?api-version=${SQL_API}`, { properties: { serverKeyType: "ServiceManaged", serverKeyName: "ServiceManaged" } }, setProgress);
        setSaved("Saved: the server uses a service-managed key.");
      } else {
        const kid = (method === "select" ? picked.kid : uri.trim()) ?? "";
        const name = serverKeyNameFor(kid);
        if (!kid || !name) {
          setFieldError(method === "select" ? "Select a key vault, a key and a version." : "Enter a key identifier with a version: https://{vault}.vault.azure.net/keys/{key}/{version}");
          return;
        }
        setOp("UpsertServerKey");
        await armLro("PUT", `${id}/keys/${name}?api-version=${SQL_API}`, { properties: { serverKeyType: "AzureKeyVault", uri: kid } }, setProgress);
        if (makeDefault) {
          setOp("UpsertEncryptionProtector");
          setProgress(undefined);
          await armLro("PUT", `${id}/encryptionProtector/current?api-version=${SQL_API}`, { properties: { serverKeyType: "AzureKeyVault", serverKeyName: name, autoRotationEnabled: autoRotate } }, setProgress);
          setSaved(`Saved: ${kid} is the TDE protector${autoRotate ? ", with auto-rotation" : ""}.`);
        } else {
          setSaved(`Saved: ${kid} was added to the server's keys; the TDE protector is unchanged.`);
        }
      }
      protector.reload();
      keys.reload();
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setOp(undefined);
    }
  };

  const protectorName = current.serverKeyName?.toLowerCase();
  return (
    <div class="tde">
      <dl class="facts">
        <div>
          <dt>Current TDE protector</dt>
          <dd>{current.serverKeyType === "AzureKeyVault" ? <code class="wrap">{current.uri}</code> : "Service-managed key"}</dd>
        </div>
        <div>
          <dt>Auto-rotate key</dt>
          <dd>
            <StatusBadge state={current.autoRotationEnabled ? "Enabled" : "Disabled"} />
          </dd>
        </div>
      </dl>
      <form
        class="tde-form"
        onSubmit={(e) => {
          e.preventDefault();
        }}
      >
        <RadioGroup
          legend="Transparent data encryption"
          name="tde-mode"
          value={mode}
          onValue={(v) => setMode(v as Mode)}
          options={[
            {
              value: "ServiceManaged",
              label: "Service-managed key",
              disabled: cmkDown,
              ...(cmkDown ? { hint: "Not available while a database encrypted with the customer-managed key is Inaccessible: restore access to the key first (seed)." } : {}),
            },
            { value: "AzureKeyVault", label: "Customer-managed key" },
          ]}
        />
        {mode === "AzureKeyVault" ? (
          <>
            <RadioGroup
              legend="Key selection method"
              name="tde-method"
              value={method}
              onValue={(v) => setMethod(v as "select" | "uri")}
              options={[
                { value: "select", label: "Select a key" },
                { value: "uri", label: "Enter a key identifier" },
              ]}
            />
            {method === "select" ? (
              <KeyPicker value={picked} onChange={setPicked} defaultSubscription={subscriptionOf(id)} />
            ) : (
              <TextInput label="Key identifier" value={uri} onValue={setUri} spellcheck={false} hint="https://{vault}.vault.azure.net/keys/{key}/{version}" {...(fieldError ? { error: fieldError } : {})} />
            )}
            {method === "select" && fieldError ? <p class="field-error">{fieldError}</p> : null}
            {method === "select" && picked.kid ? (
              <p>
                Key identifier: <code class="wrap">{picked.kid}</code>
              </p>
            ) : null}
            <Checkbox label="Make this key the default TDE protector" checked={makeDefault} onValue={setMakeDefault} hint="Unchecked: the key is only added to the server." />
            <Checkbox label="Auto-rotate key" checked={autoRotate} onValue={setAutoRotate} disabled={!makeDefault} hint="The server follows new versions of the key within 24 hours." />
          </>
        ) : null}
        <Button kind="primary" onClick={save} busy={!!op} busyText="Saving…">
          Save
        </Button>
      </form>
      {op ? <LroStatus name={op} progress={progress} /> : null}
      {error ? <ErrorBox error={error} title="Save failed" /> : null}
      {saved ? <p role="status">{saved}</p> : null}
      <h2>Server keys</h2>
      {keys.error ? <ErrorBox error={keys.error} /> : null}
      <DataTable
        caption="Keys of this server"
        rows={keys.data?.value ?? []}
        rowKey={(k) => k.name}
        columns={[
          { key: "name", label: "Key", rowHeader: true, render: (k) => <span translate={"no" as any}>{k.name}</span> },
          { key: "type", label: "Type", render: (k) => (k.properties.serverKeyType === "AzureKeyVault" ? "Customer-managed key" : "Service-managed key") },
          { key: "uri", label: "Key identifier", render: (k) => (k.properties.uri ? <code class="wrap">{k.properties.uri}</code> : "—") },
          { key: "created", label: "Created", render: (k) => <Time ms={k.properties.creationDate} relative={false} /> },
          { key: "protector", label: "TDE protector", render: (k) => (k.name.toLowerCase() === protectorName ? "Yes" : "No") },
        ]}
      />
      {keys.data && !keys.data.value.some((k) => parseKeyUri(k.properties.uri ?? "")) ? <p class="muted">No customer-managed key has been added yet.</p> : null}
    </div>
  );
}

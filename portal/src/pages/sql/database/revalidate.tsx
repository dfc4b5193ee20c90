import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, type LroProgress, armLro, toApiError } from "../../../lib/api";
import { useArm } from "../../../lib/hooks";
import { href } from "../../../lib/router";
import { Button, ErrorBox, Select } from "../../../components";
import { LroStatus } from "../lro-status";
import { type Protector, type ServerKey, SQL_API, api, serverIdOf } from "../sql-api";

/**
 * "Revalidate key" (portal.md §1.3; database-level-basic-actions.md): shown only while the database has lost
 * access to its key. "Retry existing key" posts `…/databases/{db}/encryptionProtector/current/revalidate`
 * (what `az sql db tde key revalidate` calls); "Select backup key" first makes another server key the TDE
 * protector, then revalidates. Both are LROs named MakeAllLogicalDatabasesAccessible by Microsoft.Sql.
 * Azure's errors (e.g. CMKOperationNotAllowed while a database is inaccessible) are shown verbatim.
 */
export function Revalidate({ dbId, down, primary, onDone }: { dbId: string; down: boolean; primary: boolean; onDone: () => void }) {
  const [open, setOpen] = useState(false);
  const [progress, setProgress] = useState<LroProgress | undefined>();
  const [running, setRunning] = useState<string | undefined>();
  const [error, setError] = useState<ApiError | undefined>();
  const [backup, setBackup] = useState("");
  const [done, setDone] = useState("");
  const choices = useRef<HTMLDivElement>(null);
  // "Revalidate key" unmounts when the choices replace it; without this, keyboard focus falls to <body>
  // (WCAG 2.4.3). Land on the first choice, "Retry existing key".
  useEffect(() => {
    if (open) choices.current?.querySelector("button")?.focus();
  }, [open]);
  // Once the database is back, the choices unmount with focus in them: move it to this section's heading.
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (done && document.activeElement === document.body) heading.current?.focus();
  }, [done, down]);
  const serverId = serverIdOf(dbId);
  const keys = useArm<{ value: ServerKey[] }>(open ? api(`${serverId}/keys`) : null);
  const protector = useArm<Protector>(open ? api(`${serverId}/encryptionProtector/current`) : null);
  const others = (keys.data?.value ?? []).filter((k) => k.properties.serverKeyType === "AzureKeyVault" && k.name.toLowerCase() !== protector.data?.properties.serverKeyName?.toLowerCase());

  const run = async (what: string, steps: () => Promise<void>) => {
    setError(undefined);
    setDone("");
    setRunning(what);
    setProgress(undefined);
    try {
      await steps();
      setDone("Revalidation succeeded: access to the Azure Key Vault key was re-established.");
      onDone();
    } catch (err) {
      setError(toApiError(err));
      throw err;
    } finally {
      setRunning(undefined);
    }
  };
  const revalidate = () => armLro(`POST`, api(`${dbId}/encryptionProtector/current/revalidate`), undefined, setProgress).then(() => undefined);
  const retry = () => run("MakeAllLogicalDatabasesAccessible", revalidate);
  const useBackup = () =>
    run("UpsertEncryptionProtector", async () => {
      await armLro("PUT", `${serverId}/encryptionProtector/current?api-version=${SQL_API}`, { properties: { serverKeyType: "AzureKeyVault", serverKeyName: backup } }, setProgress);
      setRunning("MakeAllLogicalDatabasesAccessible");
      await revalidate();
    });

  // Stays mounted through its operation and result even after the database is back (a live re-read would
  // otherwise remove the busy button mid-operation); idle and online, there is nothing to revalidate.
  if (!down && !running && !done && !error) return null;
  return (
    <section class="revalidate" aria-labelledby="revalidate-h">
      <h3 id="revalidate-h" ref={heading} tabIndex={-1}>
        Revalidate key
      </h3>
      <p>Fix access to the key first (see Diagnose and solve problems), then revalidate: the database comes back online once Microsoft.Sql can use the key again.</p>
      {!down && !running ? null : !open ? (
        <Button kind={primary ? "primary" : "secondary"} onClick={() => setOpen(true)}>
          Revalidate key
        </Button>
      ) : (
        <div class="revalidate-choices" ref={choices}>
          <Button kind="primary" onClick={retry} busyText="Revalidating…">
            Retry existing key
          </Button>
          <div class="backup-key">
            <Select
              label="Select backup key"
              value={backup}
              placeholder={others.length ? "Choose a server key" : "No other key on this server"}
              options={others.map((k) => ({ value: k.name, label: k.properties.uri ?? k.name }))}
              onValue={setBackup}
              hint="Makes this key the TDE protector of the server, then revalidates."
            />
            <Button onClick={() => (backup ? useBackup() : setError(new ApiError(0, "NoKeySelected", "Select a backup key first.", undefined)))} busyText="Revalidating…">
              Use backup key and revalidate
            </Button>
          </div>
        </div>
      )}
      {running ? <LroStatus name={running} progress={progress} /> : null}
      {error ? (
        <>
          <ErrorBox error={error} title="Revalidate key failed" />
          <p>
            <a href={href(dbId, "diagnose")}>Diagnose and solve problems</a> shows which access is still missing.
          </p>
        </>
      ) : null}
      {done ? <p role="status">{done}</p> : null}
    </section>
  );
}

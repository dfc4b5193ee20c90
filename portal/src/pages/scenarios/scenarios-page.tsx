import { useState } from "preact/hooks";
import { ApiError, toApiError } from "../../lib/api";
import { useLoad } from "../../lib/hooks";
import { href } from "../../lib/router";
import { Banner } from "../../components/banner";
import { Button } from "../../components/button";
import { CopyButton } from "../../components/copy-button";
import { ErrorBox } from "../../components/error-box";
import { Time } from "../../components/time";
import { CAUSES, type CauseId, type ChaosRun, cmkServers, runCause, undoRun } from "./chaos";
import { ClockControl } from "./clock-control";

/**
 * Scenarios (tdekv only): inject each of the seed's causes into a server with a customer-managed key, see the
 * equivalent az command and the seed's error to expect, and undo. The runs live in this tab's memory only.
 */
const runs: ChaosRun[] = [];

export function ScenariosPage() {
  const servers = useLoad("chaos-servers", cmkServers, [], { match: (h) => (!h.resourceId && h.type !== "clock") || (h.type === "resource.changed" && /microsoft\.sql/i.test(h.resourceId ?? "")) });
  const [target, setTarget] = useState("");
  const [list, setList] = useState<ChaosRun[]>(runs);
  const [error, setError] = useState<ApiError | undefined>();
  const [note, setNote] = useState("");
  const chosen = servers.data?.find((s) => s.server.id === target) ?? servers.data?.[0];

  const inject = async (cause: CauseId) => {
    if (!chosen) return;
    setError(undefined);
    setNote("");
    try {
      const run = await runCause(cause, chosen);
      runs.unshift(run);
      setList([...runs]);
      setNote(`Injected: ${run.summary}.`);
    } catch (err) {
      setError(toApiError(err));
    }
  };
  const undo = async (run: ChaosRun) => {
    setError(undefined);
    setNote("");
    try {
      const did = await undoRun(run);
      runs.splice(runs.indexOf(run), 1);
      setList([...runs]);
      setNote(`Undone: ${did.join("; ")}.`);
    } catch (err) {
      setError(toApiError(err));
    }
  };

  return (
    <>
      <h1>Scenarios (tdekv only)</h1>
      <Banner kind="info" heading="tdekv only: this page does not exist in Azure">
        <p>
          Each button breaks key access the way the seed describes, with the same public ARM and Key Vault calls <code>tdekv chaos</code> makes, as you.
          Key faults need key permissions on the vault (get, update, delete, recover). A network error has no Azure operation, so it uses tdekv's fault
          injection.
        </p>
      </Banner>
      <ClockControl />
      <section aria-labelledby="faults-h">
        <h2 id="faults-h">Faults</h2>
        {servers.error && <ErrorBox error={servers.error} />}
        {servers.data && !servers.data.length && <p>No server or managed instance uses a customer-managed key yet. Configure Transparent data encryption with a customer-managed key first.</p>}
        {servers.data && servers.data.length > 0 && (
          <>
            <div class="field">
              <label for="sc-target">Server</label>
              <select class="input" id="sc-target" value={chosen?.server.id} onChange={(e) => setTarget((e.target as HTMLSelectElement).value)}>
                {servers.data.map((s) => (
                  <option key={s.server.id} value={s.server.id}>
                    {s.server.name} ({s.managed ? "managed instance" : "SQL server"}, key {s.kid.split("/keys/")[1]})
                  </option>
                ))}
              </select>
            </div>
            <ul class="cause-list">
              {CAUSES.map((c) => (
                <li key={c.id} class="cause">
                  <Button kind="secondary" onClick={() => inject(c.id)} busyText="Injecting…">
                    {c.label}
                  </Button>
                  <span class="cause-seed">
                    Seed: {c.seed}. Expect <code>{c.status} {c.code}</code>: “{c.message}”
                  </span>
                </li>
              ))}
            </ul>
            <p class="field-hint">The next key probe (Run probe now, or tdekv's probe interval) takes the server's databases Inaccessible.</p>
          </>
        )}
        <p role="status" class="muted">{note}</p>
        {error && <ErrorBox error={error} title="The scenario could not be run" />}
      </section>
      <section aria-labelledby="runs-h">
        <h2 id="runs-h">In effect</h2>
        {!list.length && <p>Nothing injected from this tab.</p>}
        <ol class="runs">
          {list.map((r) => (
            <li key={r.id}>
              <p>
                <strong>{CAUSES.find((c) => c.id === r.cause)?.label}</strong> on <span translate={false}>{r.target}</span>, <Time ms={r.at} relative={false} />: {r.summary}.
              </p>
              <p>The equivalent az command:</p>
              <pre tabIndex={0} role="region" aria-label={`The az command of run ${r.id}`}>
                <code>{r.az.join("\n")}</code>
              </pre>
              <CopyButton text={r.az.join("\n")} label="Copy az command" copied="Command copied" />
              <Button kind="primary" onClick={() => undo(r)} busyText="Undoing…">
                Undo<span class="sr-only"> {CAUSES.find((c) => c.id === r.cause)?.label}</span>
              </Button>
            </li>
          ))}
        </ol>
        {servers.data?.map((s) => (
          <p key={s.server.id}>
            Watch <a href={href(s.server.id)} translate={false}>{s.server.name}</a> and its databases.
          </p>
        ))}
      </section>
    </>
  );
}

import { useState } from "preact/hooks";
import { Button, CopyButton, ErrorBox, Loading, StatusBadge } from "../../../components";
import { armLro, toApiError, type ApiError } from "../../../lib/api";
import { useArm, useLoad } from "../../../lib/hooks";
import type { ArmResource } from "../../../lib/types";
import type { Check, Problem } from "../../../../../src/doctor/types";
import { noteDoctorFinding } from "../database/use-story";
import { api, isDatabase, serverIdOf } from "../sql-api";
import { applyFix, describeFix } from "./apply-fix";
import { runDoctorFor } from "./rest-adapter";

/**
 * "Diagnose and solve problems" (portal.md §1.3, §4.2): tdekv doctor's findings for the server (or the
 * database's server), from the same rules as `tdekv doctor` (rest-adapter.ts). One card per finding with
 * the seed's code and message verbatim, the evidence, numbered az commands with Copy ("Command copied"),
 * and "Apply fix" for the safe mitigations, which calls the same public API and says which. The checks that
 * passed are listed too, in the doctor's order (identity → vault → network → policy → key → protector).
 */
const SEED_DOC = "https://learn.microsoft.com/azure/azure-sql/database/transparent-data-encryption-byok-common-errors";

export function DoctorBlade({ resource }: { resource: ArmResource }) {
  const serverId = isDatabase(resource.id) ? serverIdOf(resource.id) : resource.id;
  const server = useArm<ArmResource>(api(serverId), [], { live: false });
  const run = useLoad(server.data ? `doctor:${serverId}` : null, () => runDoctorFor(server.data!), [server.data]);
  if (server.error) return <ErrorBox error={server.error} />;
  if (run.error && !run.data) return <ErrorBox error={run.error} title="The diagnostics could not run" />;
  if (!run.data) return <Loading what="Running diagnostics (the same checks as tdekv doctor)…" />;
  const { diagnosis } = run.data;
  // Findings are about the server's key access, so a database shows its server's findings (Azure does the same).
  const problems = diagnosis.problems;
  if (isDatabase(resource.id) && problems[0]) noteDoctorFinding(resource.id, { code: problems[0].code, title: problems[0].summary, at: run.data.now });
  return (
    <div class="doctor">
      <p class="muted">
        The same checks as <code>tdekv doctor</code>, run in this page with your sign-in, over the public ARM, Key Vault and Activity Log APIs. Microsoft Graph is not called from the portal, so a server moved to another subscription or tenant is recognised by its vault and Activity Log only.
      </p>
      {problems.length ? (
        <p class="doctor-summary">
          We ran diagnostics on your resource and found {problems.length === 1 ? "an issue" : `${problems.length} issues`}.
        </p>
      ) : (
        <p class="doctor-summary" role="status">
          <StatusBadge state="Succeeded" /> No problems found: the server can use its TDE protector.
        </p>
      )}
      {problems.length ? <h2>Findings</h2> : null}
      {problems.map((p, i) => (
        <Finding key={`${p.cause}-${i}`} problem={p} index={i} serverId={diagnosis.server.id} onApplied={run.reload} />
      ))}
      <section aria-labelledby="checks-h">
        <h2 id="checks-h">Checks</h2>
        <ol class="checks">
          {diagnosis.checks.map((c) => (
            <CheckRow key={c.id} check={c} />
          ))}
        </ol>
      </section>
    </div>
  );
}

const CHECK_WORD: Record<Check["status"], string> = { ok: "Succeeded", problem: "Failed", warning: "Degraded", skipped: "Unknown" };

function CheckRow({ check }: { check: Check }) {
  return (
    <li class={`check-row check-${check.status}`}>
      <StatusBadge state={CHECK_WORD[check.status]} /> <strong>{check.title}</strong>: {check.detail}
      {check.detect ? (
        <pre>
          <code>{check.detect}</code>
        </pre>
      ) : null}
    </li>
  );
}

function Finding({ problem: p, index, serverId, onApplied }: { problem: Problem; index: number; serverId: string; onApplied: () => void }) {
  const [error, setError] = useState<ApiError | undefined>();
  const [done, setDone] = useState<string[]>([]);
  const id = `finding-${index}`;
  const apply = async () => {
    setError(undefined);
    const out: string[] = [];
    try {
      // Identity before its permissions, like `tdekv doctor --fix` (doctor.ts plannedFixes).
      const order = { "assign-identity": 0, "grant-key-permissions": 1, "allow-trusted-services": 2 } as const;
      for (const f of [...p.fixes].sort((a, b) => order[a.kind] - order[b.kind])) {
        const r = await applyFix(f);
        out.push(`${r.done} — same as: ${r.az}`);
      }
      setDone(out);
      onApplied();
    } catch (err) {
      setDone(out);
      setError(toApiError(err));
    }
  };
  const revalidate = async () => {
    setError(undefined);
    try {
      await armLro("POST", api(`${serverId}/encryptionProtector/current/revalidate`));
      setDone(["Revalidated the TDE protector — same as: " + p.revalidation.command]);
      onApplied();
    } catch (err) {
      setError(toApiError(err));
    }
  };
  return (
    <article class={`finding finding-${p.transient ? "warning" : "error"}`} aria-labelledby={`${id}-h`}>
      <p class="finding-severity">
        <span aria-hidden="true">{p.transient ? "! " : "✕ "}</span>
        {p.transient ? "Warning" : "Error"} · seed: {p.seed}
      </p>
      <h3 id={`${id}-h`}>{capital(p.summary)}</h3>
      <p class="finding-code">
        <code>
          {p.status ? `${p.status} ` : ""}
          {p.code}
        </code>{" "}
        - {p.message}
      </p>
      <h4>Evidence</h4>
      <ul>
        {p.evidence.map((e) => (
          <li key={e}>{e}</li>
        ))}
      </ul>
      <h4>Fix</h4>
      <ol class="fix-steps">
        {p.mitigation.map((m, i) => (
          <li key={i}>
            {m.note ? <p>{capital(m.note)}</p> : null}
            {m.command.startsWith("#") ? (
              <p>{capital(m.command.replace(/^#\s*/, ""))}</p>
            ) : (
              <div class="command">
                <pre>
                  <code>{m.command}</code>
                </pre>
                <CopyButton text={m.command} label="Copy" copied="Command copied" />
              </div>
            )}
          </li>
        ))}
      </ol>
      <p class="finding-revalidation">
        <strong>Revalidation:</strong> {p.revalidation.detail}
      </p>
      <div class="finding-actions">
        {p.fixes.length ? (
          <>
            <Button kind="primary" onClick={apply} busyText="Applying…">
              Apply fix
            </Button>
            <p class="muted">Calls the same public API as the commands above: {p.fixes.map(describeFix).join("; ")}.</p>
          </>
        ) : null}
        {p.revalidation.needed ? (
          <Button kind={p.fixes.length ? "secondary" : "primary"} onClick={revalidate} busyText="Revalidating…">
            Revalidate key
          </Button>
        ) : null}
      </div>
      {done.length ? (
        <ul role="status" class="applied">
          {done.map((d) => (
            <li key={d}>{d}</li>
          ))}
        </ul>
      ) : null}
      {error ? <ErrorBox error={error} title="Apply fix failed" /> : null}
      <p>
        <a href={`${SEED_DOC}#${p.seed.toLowerCase().split(" (")[0]!.replace(/\s+/g, "-")}`} rel="noreferrer" target="_blank">
          Microsoft docs: {p.seed}
        </a>
      </p>
    </article>
  );
}

const capital = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

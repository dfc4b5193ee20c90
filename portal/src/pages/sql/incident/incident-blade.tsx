import { Banner, CopyButton, ErrorBox, Loading, StatusBadge, Time } from "../../../components";
import { useArm, useLoad } from "../../../lib/hooks";
import type { ArmResource } from "../../../lib/types";
import { Countdown } from "../database/countdown";
import { noteDoctorFinding, useStory } from "../database/use-story";
import { runDoctorFor } from "../doctor/rest-adapter";
import { type SqlDatabase, api, duration, nameOf, serverIdOf } from "../sql-api";
import { settingsLost } from "./settings-memory";
import { type Step, incidentMarkdown } from "./timeline";

const ICON: Record<Step["tone"], string> = { bad: "✕", good: "✓", info: "i" };

/**
 * The incident timeline (issue 9 §3, portal.md §4.1): one ordered list per database, from the Activity Log,
 * Resource Health events, the notifications outbox and the doctor, with UTC and relative times, duration
 * chips, the auto-heal countdown, the "Settings lost" callout after a late revalidation and a post-mortem
 * as Markdown.
 */
export function IncidentBlade({ resource }: { resource: ArmResource }) {
  const { db, events, incident, windowMs } = useStory(resource.id);
  const serverId = serverIdOf(resource.id);
  const server = useArm<ArmResource>(api(serverId), [], { live: false });
  // The doctor's first finding, while the database is down (same rules as `tdekv doctor`).
  const down = db.data?.properties.status === "Inaccessible";
  useLoad(down && server.data ? `doctor:${serverId}` : null, async () => {
    const run = await runDoctorFor(server.data!);
    const p = run.diagnosis.problems[0];
    if (p) noteDoctorFinding(resource.id, { code: p.code, title: p.summary, at: run.now });
    return run;
  }, [server.data], { match: (h) => h.type === "resource.changed" });

  if (events.error) return <ErrorBox error={events.error} title="The Activity Log could not be read" />;
  if (!db.data || !events.data) return <Loading what="Reading the Activity Log…" />;
  const d: SqlDatabase = db.data;
  if (!incident) {
    return (
      <div class="incident">
        <p>
          <StatusBadge state={d.properties.status} /> The Activity Log of <span translate={"no" as any}>{d.name}</span> shows no loss of access to its Azure Key Vault key.
        </p>
      </div>
    );
  }
  const lost = incident.revalidatedAt !== undefined ? settingsLost(d, incident.lostAt) : undefined;
  const markdown = incidentMarkdown(d.name, nameOf(serverId), incident, lost ?? []);
  return (
    <div class="incident">
      <p>
        Status: <StatusBadge state={d.properties.status} /> · lost access <Time ms={incident.lostAt} />
        {incident.code ? (
          <>
            {" "}
            with <code>{incident.code}</code>
          </>
        ) : null}
      </p>
      {incident.open ? (
        <section aria-labelledby="inc-window-h">
          <h2 id="inc-window-h">Auto-heal window</h2>
          <Countdown lostAt={incident.lostAt} windowMs={windowMs} {...(incident.closedAt ? { closedAt: incident.closedAt } : {})} />
        </section>
      ) : null}
      <h2>Timeline</h2>
      <ul class="chips" aria-label="Durations">
        {incident.chips.map((c) => (
          <li class="chip" key={c.label}>
            {c.label}: <strong>{duration(c.ms)}</strong>
          </li>
        ))}
      </ul>
      <ol class="timeline">
        {incident.steps.map((s, i) => (
          <li class={`step step-${s.tone}`} key={`${s.kind}-${i}`}>
            <span class="step-icon" aria-hidden="true">
              {ICON[s.tone]}
            </span>
            <div class="step-body">
              <h3 class="step-title">{s.title}</h3>
              <p class="step-time">{s.at !== undefined ? <Time ms={s.at} /> : "time not recorded (before detection)"}</p>
              {s.event ? (
                <p class="step-event">
                  <code>{s.event}</code>
                </p>
              ) : null}
              <p class="step-detail">{s.detail}</p>
              <p class="step-who muted">By: {s.who}</p>
            </div>
          </li>
        ))}
      </ol>
      {incident.revalidatedAt !== undefined ? (
        <Banner kind="warning" heading="Settings lost">
          <p>The database came back after the auto-heal window, through a revalidation. As the seed says, previously configured settings such as failover group, PITR history and tags are lost.</p>
          {lost === undefined ? (
            <p>This tab did not see the database before the revalidation, so it cannot list what it had.</p>
          ) : lost.length ? (
            <ul class="lost">
              {lost.map((l) => (
                <li key={l}>{l}</li>
              ))}
            </ul>
          ) : (
            <p>It had no tags, failover group or restore points to lose.</p>
          )}
        </Banner>
      ) : null}
      <p class="muted">Times are UTC, on tdekv's clock.</p>
      <CopyButton text={markdown} label="Copy as Markdown" copied="Post-mortem copied" />
    </div>
  );
}

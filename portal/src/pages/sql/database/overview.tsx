import { Banner, ErrorBox, Loading, StatusBadge, Time } from "../../../components";
import { href } from "../../../lib/router";
import type { ArmResource } from "../../../lib/types";
import { causeText } from "../incident/timeline";
import { isManaged, nameOf, serverIdOf } from "../sql-api";
import { Countdown } from "./countdown";
import { Revalidate } from "./revalidate";
import { useStory } from "./use-story";

/** Azure's banner for a database that lost its key (portal.md §1.3, techcommunity 4497165), word for word. */
export const BANNER = "Access to Azure Key Vault has been lost for this database. Existing data will be inaccessible until this issue is resolved.";

/**
 * Database → Overview (portal.md §3.6 #4): status badge, the banner (role=alert when it appears), the
 * 30-minute countdown from the server clock and "Revalidate key", on one screen (portal.md §0 finding 2).
 */
export function DatabaseOverview({ resource }: { resource: ArmResource }) {
  const { db, incident, windowMs, now } = useStory(resource.id);
  if (!db.data) return db.error ? <ErrorBox error={db.error} /> : <Loading what="Loading the database…" />;
  const d = db.data;
  const status = d.properties.status ?? "Unknown";
  const down = status === "Inaccessible";
  const serverId = serverIdOf(d.id);
  const closed = !!incident?.closedAt || (!!incident && !!now && now >= incident.lostAt + windowMs);
  return (
    <div class="db-overview">
      {down ? (
        <Banner kind="error" heading={BANNER}>
          <p>
            {incident?.code ? (
              <>
                Error: <code>{incident.code}</code> ({causeText(incident.cause)}).{" "}
              </>
            ) : null}
            <a href={href(d.id, "diagnose")}>Diagnose and solve problems</a> · <a href={href(d.id, "incident")}>Incident timeline</a>
          </p>
        </Banner>
      ) : null}
      <dl class="facts">
        <div>
          <dt>Status</dt>
          <dd>
            <StatusBadge state={status} />
          </dd>
        </div>
        <div>
          <dt>{isManaged(d.id) ? "Managed instance" : "Server name"}</dt>
          <dd>
            <a href={href(serverId)} translate={"no" as any}>
              {nameOf(serverId)}
            </a>
          </dd>
        </div>
        <div>
          <dt>Location</dt>
          <dd>{d.location}</dd>
        </div>
        <div>
          <dt>Creation date</dt>
          <dd>
            <Time ms={d.properties.creationDate} />
          </dd>
        </div>
        <div>
          <dt>Earliest restore point</dt>
          <dd>{d.properties.earliestRestoreDate ? <Time ms={d.properties.earliestRestoreDate} /> : "—"}</dd>
        </div>
        <div>
          <dt>Tags</dt>
          <dd>{d.tags && Object.keys(d.tags).length ? Object.entries(d.tags).map(([k, v]) => <span class="tag" key={k}>{`${k}: ${v}`}</span>) : "None"}</dd>
        </div>
      </dl>
      {down ? (
        <section class="window" aria-labelledby="window-h">
          <h2 id="window-h">Auto-heal window</h2>
          {incident ? (
            <>
              <p>
                Lost access <Time ms={incident.lostAt} />. For the first {Math.round(windowMs / 60_000)} minutes the database heals by itself once access to the key is back; after that, the key must be revalidated and tags, failover group and PITR history are lost (seed).
              </p>
              <Countdown lostAt={incident.lostAt} windowMs={windowMs} {...(incident.closedAt ? { closedAt: incident.closedAt } : {})} />
            </>
          ) : (
            <p>The Activity Log does not show when access was lost yet (Azure's events can appear 15–30 minutes late), so the window cannot be timed.</p>
          )}
        </section>
      ) : null}
      <Revalidate dbId={d.id} down={down} primary={closed} onDone={db.reload} />
    </div>
  );
}

import { ErrorBox, Loading, StatusBadge, Time } from "../../../components";
import { useArm } from "../../../lib/hooks";
import type { ArmResource, Hint } from "../../../lib/types";
import { type AvailabilityStatus, healthPath } from "../sql-api";

/**
 * Database → Resource health (portal.md §1.6): Microsoft.ResourceHealth availabilityStatuses/current in
 * Azure's words (Available / Unavailable / Degraded / Unknown) with its summary. An inaccessible database
 * turns Unavailable "after the first connection to the database is denied" (resource-health-checks, BYOK).
 */
export function HealthBlade({ resource }: { resource: ArmResource }) {
  const match = (h: Hint) => h.type === "health.changed" || h.type === "resource.changed" || h.type === "activity.appended";
  const s = useArm<AvailabilityStatus>(healthPath(resource.id), [], { match });
  if (s.error) return <ErrorBox error={s.error} />;
  if (!s.data) return <Loading what="Reading Resource Health…" />;
  const p = s.data.properties;
  return (
    <div class="health">
      <h2>
        <StatusBadge state={p.availabilityState} />
      </h2>
      <p>{p.summary}</p>
      {p.detailedStatus ? <p>{p.detailedStatus}</p> : null}
      <dl class="facts">
        {p.reasonType ? (
          <div>
            <dt>Reason type</dt>
            <dd>{p.reasonType}</dd>
          </div>
        ) : null}
        <div>
          <dt>Since</dt>
          <dd>
            <Time ms={p.occuredTime} />
          </dd>
        </div>
      </dl>
      <p class="muted">Resource Health shows Unavailable after the first denied connection (error 40613), not when the key is lost; Unknown means no signal for more than 10 minutes.</p>
    </div>
  );
}

// The Overview of a resource no area renders: Azure's "Essentials" (group, location, subscription, state, tags).
import { StatusBadge } from "../../components";
import { parseId } from "../../lib/arm-ids";
import type { ArmResource, Blade } from "../../lib/types";

/** Azure's state word for a resource: a database's status, a server's state, else the provisioning state. */
export function stateOf(r: Pick<ArmResource, "properties">): string | undefined {
  const p = r.properties ?? {};
  return p.status ?? p.state ?? p.provisioningState;
}

export function GenericOverview({ resource }: { resource: ArmResource }) {
  const id = parseId(resource.id);
  const tags = Object.entries(resource.tags ?? {});
  const state = stateOf(resource);
  return (
    <section aria-labelledby="essentials">
      <h2 id="essentials">Essentials</h2>
      <dl class="essentials">
        {id.resourceGroup ? (
          <>
            <dt>Resource group</dt>
            <dd translate={false}>{id.resourceGroup}</dd>
          </>
        ) : null}
        {resource.location ? (
          <>
            <dt>Location</dt>
            <dd>{resource.location}</dd>
          </>
        ) : null}
        {id.subscriptionId ? (
          <>
            <dt>Subscription ID</dt>
            <dd translate={false}>{id.subscriptionId}</dd>
          </>
        ) : null}
        {state ? (
          <>
            <dt>Status</dt>
            <dd>
              <StatusBadge state={state} />
            </dd>
          </>
        ) : null}
        <dt>Tags</dt>
        <dd>{tags.length ? tags.map(([k, v]) => <span class="tag" key={k} translate={false}>{`${k} : ${v}`}</span>) : "None"}</dd>
      </dl>
    </section>
  );
}

export function genericBlades(resource: ArmResource): Blade[] {
  return [{ id: "overview", label: "Overview", render: () => <GenericOverview resource={resource} /> }];
}

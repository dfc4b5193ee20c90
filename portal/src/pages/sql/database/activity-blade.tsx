import { useState } from "preact/hooks";
import { DataTable, Dialog, ErrorBox, JsonView, Loading, StatusBadge, Time } from "../../../components";
import type { ArmResource } from "../../../lib/types";
import { type ActivityEvent, eventNameOf } from "../sql-api";
import { useStory } from "./use-story";

/**
 * Database → Activity log (portal.md §1.5): pre-filtered to this resource, Azure's columns (Operation name,
 * Status, Time, Event initiated by) and the JSON of each event. Unlike Azure, the seed's event name
 * (MakeDatabaseInaccessible…) is shown next to "Update SQL database" instead of only in the JSON tab.
 */
export function ActivityBlade({ resource }: { resource: ArmResource }) {
  const { events } = useStory(resource.id);
  const [open, setOpen] = useState<ActivityEvent | undefined>();
  if (events.error) return <ErrorBox error={events.error} />;
  if (!events.data) return <Loading what="Reading the Activity Log…" />;
  return (
    <div class="activity">
      <p class="muted">{events.data.length} items. In Azure these events can appear 15–30 minutes after the change (seed); tdekv records them at once unless its Activity Log delay is set.</p>
      <DataTable
        caption={`Activity log of ${resource.name}`}
        rows={events.data}
        rowKey={(e) => e.eventDataId}
        columns={[
          {
            key: "op",
            label: "Operation name",
            rowHeader: true,
            render: (e) => (
              <>
                {e.operationName.localizedValue}
                {eventNameOf(e) && eventNameOf(e) !== "EndRequest" ? (
                  <>
                    {" "}
                    <code>{eventNameOf(e)}</code>
                  </>
                ) : null}
              </>
            ),
          },
          { key: "status", label: "Status", render: (e) => <StatusBadge state={e.status.value} /> },
          { key: "time", label: "Time", render: (e) => <Time ms={e.eventTimestamp} />, sortValue: (e) => Date.parse(e.eventTimestamp) },
          { key: "caller", label: "Event initiated by", render: (e) => e.caller ?? "" },
          {
            key: "json",
            label: "Details",
            render: (e) => (
              <button type="button" class="btn btn-link" onClick={() => setOpen(e)}>
                JSON<span class="sr-only">{` of ${eventNameOf(e)} ${e.status.value}`}</span>
              </button>
            ),
          },
        ]}
      />
      <Dialog open={!!open} title={open ? `${open.operationName.localizedValue}: ${eventNameOf(open)} ${open.status.value}` : "Event"} onClose={() => setOpen(undefined)} variant="pane">
        {open ? <JsonView value={open} label="Event JSON" /> : null}
      </Dialog>
    </div>
  );
}

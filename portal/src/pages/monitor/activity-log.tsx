import { useRef, useState } from "preact/hooks";
import { useLoad } from "../../lib/hooks";
import { serverNow, useServerNow } from "../../lib/live";
import { DataTable } from "../../components/data-table";
import { ErrorBox } from "../../components/error-box";
import { JsonView } from "../../components/json-view";
import { Pane } from "../../components/dialog";
import { StatusBadge } from "../../components/status-badge";
import { Tabs } from "../../components/tabs";
import { formatUtc, relative } from "../../components/time";
import { href } from "../../lib/router";
import type { ArmResource } from "../../lib/types";
import { type ActivityEvent, download, eventsCsv, eventsPath, listEvents, listResources, listSubscriptions, type Subscription } from "./monitor-api";

/**
 * Monitor → Activity log (portal.md §1.5, §3.7 #9), subscription-wide: Azure's filter chips (Subscription,
 * Timespan, Resource group, Resource), its columns, "N items.", the event's Summary and JSON tabs (the seed's
 * event name, e.g. MakeDatabaseInaccessible, is only in the JSON, as in Azure) and "Download as CSV".
 * Time spans are measured on tdekv's clock, the clock that stamps the events.
 */
const SPANS: { label: string; ms: number }[] = [
  { label: "Last hour", ms: 3_600_000 },
  { label: "Last 6 hours", ms: 6 * 3_600_000 },
  { label: "Last 24 hours", ms: 24 * 3_600_000 },
  { label: "Last week", ms: 7 * 24 * 3_600_000 },
  { label: "Last 2 weeks", ms: 14 * 24 * 3_600_000 },
  { label: "Last month", ms: 30 * 24 * 3_600_000 },
];

interface Data {
  subs: Subscription[];
  resources: ArmResource[];
  events: ActivityEvent[];
}

export function ActivityLog() {
  const [sub, setSub] = useState("");
  const [span, setSpan] = useState(SPANS[1]!.label);
  const [rg, setRg] = useState("");
  const [resource, setResource] = useState("");
  const [open, setOpen] = useState<ActivityEvent | undefined>();
  const now = useServerNow();
  const key = `activity:${sub}:${span}:${rg}:${resource}`;
  const data = useLoad<Data>(
    key,
    async () => {
      const subs = await listSubscriptions();
      const s = sub || subs[0]?.subscriptionId || "";
      const ms = SPANS.find((x) => x.label === span)!.ms;
      const to = serverNow() || Date.now();
      // A minute of slack past "now": the server clock may have moved since the page last heard it.
      const [resources, events] = await Promise.all([listResources(s), listEvents(eventsPath(s, to - ms, to + 60_000, { resourceGroup: rg || undefined, resourceId: resource || undefined }))]);
      return { subs, resources, events };
    },
    [],
    { match: (h) => !h.resourceId || h.type === "activity.appended" || h.type === "clock" },
  );
  const subs = data.data?.subs ?? [];
  const subName = (id: string) => subs.find((s) => s.subscriptionId.toLowerCase() === id.toLowerCase())?.displayName ?? id;
  // ARM's resource list has top-level resources only: databases come from the events seen so far.
  const seen = useRef(new Map<string, string>());
  for (const r of data.data?.resources ?? []) seen.current.set(r.id.toLowerCase(), r.id);
  for (const e of data.data?.events ?? []) if (e.resourceId.split("/").length > 8) seen.current.set(e.resourceId.toLowerCase(), e.resourceId);
  const all = [...seen.current.values()].sort();
  const groups = [...new Set(all.map((id) => id.split("/")[4] ?? ""))].filter(Boolean).sort();
  const resources = all.filter((id) => !rg || id.split("/")[4]?.toLowerCase() === rg.toLowerCase());
  const events = data.data?.events ?? [];

  return (
    <section aria-labelledby="al-h">
      <h2 id="al-h">Activity log</h2>
      <form class="filters" aria-label="Activity log filters" onSubmit={(e) => e.preventDefault()}>
        <div class="field">
          <label for="al-sub">Subscription</label>
          <select class="input" id="al-sub" value={sub || subs[0]?.subscriptionId} onChange={(e) => setSub((e.target as HTMLSelectElement).value)}>
            {subs.map((s) => (
              <option key={s.subscriptionId} value={s.subscriptionId}>
                {s.displayName ?? s.subscriptionId}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="al-span">Timespan</label>
          <select class="input" id="al-span" value={span} onChange={(e) => setSpan((e.target as HTMLSelectElement).value)}>
            {SPANS.map((s) => (
              <option key={s.label}>{s.label}</option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="al-rg">Resource group</label>
          <select class="input" id="al-rg" value={rg} onChange={(e) => { setRg((e.target as HTMLSelectElement).value); setResource(""); }}>
            <option value="">All resource groups</option>
            {groups.map((g) => (
              <option key={g}>{g}</option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="al-res">Resource</label>
          <select class="input" id="al-res" value={resource} onChange={(e) => setResource((e.target as HTMLSelectElement).value)}>
            <option value="">All resources</option>
            {resources.map((id) => (
              <option key={id} value={id}>
                {id.split("/providers/")[1] ?? id}
              </option>
            ))}
          </select>
        </div>
      </form>
      <div class="actions">
        <button type="button" class="btn btn-secondary" disabled={!events.length} onClick={() => download("ActivityLog.csv", eventsCsv(events, subName))}>
          Download as CSV
        </button>
        <button type="button" class="btn btn-secondary" onClick={data.reload}>
          Refresh
        </button>
      </div>
      <p class="field-hint">Azure's Activity Log can show events 15–30 minutes late; tdekv shows them as soon as they are logged unless it runs with --activity-log-delay.</p>
      {data.error && <ErrorBox error={data.error} />}
      {!data.data && !data.error && <p role="status">Loading events…</p>}
      {data.data && (
        <>
          <p role="status" class="count">
            {events.length} items.
          </p>
          <DataTable<ActivityEvent>
            caption="Activity log events"
            hideCaption
            rows={events}
            rowKey={(e) => e.eventDataId}
            empty="No events to display in this time span."
            columns={[
              {
                key: "op",
                label: "Operation name",
                rowHeader: true,
                render: (e) => (
                  <button type="button" class="btn btn-link" onClick={() => setOpen(e)}>
                    {e.operationName.localizedValue || e.operationName.value}
                  </button>
                ),
              },
              { key: "status", label: "Status", render: (e) => <StatusBadge state={e.status.localizedValue || e.status.value} /> },
              { key: "time", label: "Time", render: (e) => <time dateTime={e.eventTimestamp}>{relative(Date.parse(e.eventTimestamp), now || Date.now())}</time> },
              { key: "stamp", label: "Time stamp", render: (e) => <time dateTime={e.eventTimestamp}>{formatUtc(Date.parse(e.eventTimestamp))}</time> },
              { key: "sub", label: "Subscription", render: (e) => subName(e.subscriptionId) },
              { key: "caller", label: "Event initiated by", render: (e) => e.caller ?? "" },
            ]}
          />
        </>
      )}
      <Pane open={!!open} title={open ? open.operationName.localizedValue || open.operationName.value : "Event"} onClose={() => setOpen(undefined)}>
        {open && <EventDetail event={open} subName={subName} />}
      </Pane>
    </section>
  );
}

function EventDetail({ event: e, subName }: { event: ActivityEvent; subName: (id: string) => string }) {
  const rows: [string, string][] = [
    ["Operation name", e.operationName.localizedValue || e.operationName.value],
    ["Status", e.status.localizedValue || e.status.value],
    ["Level", e.level ?? ""],
    ["Event category", e.category.localizedValue || e.category.value],
    ["Time stamp", formatUtc(Date.parse(e.eventTimestamp))],
    ["Event initiated by", e.caller ?? ""],
    ["Subscription", subName(e.subscriptionId)],
    ["Correlation id", e.correlationId],
    ["Description", e.description ?? ""],
  ];
  return (
    <Tabs
      label="Event details"
      tabs={[
        {
          id: "summary",
          label: "Summary",
          render: () => (
            <>
              <dl class="essentials">
                {rows.map(([k, v]) => (
                  <div key={k}>
                    <dt>{k}</dt>
                    <dd>{v}</dd>
                  </div>
                ))}
                <div>
                  <dt>Resource</dt>
                  <dd>
                    <a href={href(e.resourceId)} translate={false}>
                      {e.resourceId}
                    </a>
                  </dd>
                </div>
              </dl>
            </>
          ),
        },
        { id: "json", label: "JSON", render: () => <JsonView value={e} label="Event JSON" /> },
      ]}
    />
  );
}

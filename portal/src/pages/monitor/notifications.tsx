import { useState } from "preact/hooks";
import { tdekv } from "../../lib/api";
import { useLoad } from "../../lib/hooks";
import { DataTable } from "../../components/data-table";
import { ErrorBox } from "../../components/error-box";
import { JsonView } from "../../components/json-view";
import { Pane } from "../../components/dialog";
import { StatusBadge } from "../../components/status-badge";
import { Time } from "../../components/time";

/**
 * Monitor → Notifications (tdekv only, portal.md §3.6 #7): what action groups sent, from tdekv's outbox
 * (`GET /_tdekv/alerts/outbox`, src/activity/alerts/outbox-route.ts). Azure has no such view; it is how a drill
 * checks that the alert reached the on-call webhook or mailbox. The payload is the exact body sent.
 */
interface Summary {
  id: string;
  status: string;
  detail: string | null;
  attempts: number;
  createdTime: string;
  deliveredTime: string | null;
  receiver: { kind: string; name: string; channel: string; target: string; actionGroupId: string };
  alert: { alertRule: string; schemaId: string };
  event: { eventName: string; status: string; resourceId: string };
}

interface Detail extends Summary {
  payload: unknown;
  attemptHistory: { attempt: number; time: string; durationMs: number; outcome: string; detail: string }[];
}

const CHANNEL: Record<string, string> = { http: "HTTP POST", smtp: "SMTP", none: "Kept in tdekv (not sent)" };

export function Notifications() {
  const list = useLoad<{ value: Summary[] }>("outbox", () => tdekv("GET", "/_tdekv/alerts/outbox?top=200"), [], { match: (h) => (!h.resourceId && h.type !== "clock") || h.type === "notification.sent" || h.type === "activity.appended" });
  const [open, setOpen] = useState<string | undefined>();
  return (
    <section aria-labelledby="nt-h">
      <h2 id="nt-h">Notifications</h2>
      <p class="field-hint">
        tdekv only: every notification your action groups sent (webhooks, logic apps, email) or kept because nothing can carry it (SMS, voice, push), newest
        first. Azure has no such inbox.
      </p>
      {list.error && <ErrorBox error={list.error} />}
      {!list.data && !list.error && <p role="status">Loading…</p>}
      {list.data && (
        <DataTable<Summary>
          caption="Notifications sent by action groups"
          rows={list.data.value}
          rowKey={(n) => n.id}
          empty="No notifications yet. Use Test action group, or let an alert rule fire."
          columns={[
            { key: "time", label: "Time", render: (n) => <Time ms={n.createdTime} /> },
            {
              key: "receiver",
              label: "Receiver",
              rowHeader: true,
              render: (n) => (
                <button type="button" class="btn btn-link" onClick={() => setOpen(n.id)}>
                  {n.receiver.kind} {n.receiver.name}
                </button>
              ),
            },
            { key: "target", label: "Sent to", render: (n) => <code class="wrap">{n.receiver.target}</code> },
            { key: "channel", label: "Channel", render: (n) => CHANNEL[n.receiver.channel] ?? n.receiver.channel },
            { key: "status", label: "Status", render: (n) => <StatusBadge state={n.status} /> },
            { key: "rule", label: "Alert rule", render: (n) => n.alert.alertRule },
            { key: "event", label: "Event", render: (n) => `${n.event.eventName} ${n.event.status}` },
          ]}
        />
      )}
      <Pane open={!!open} title="Notification" onClose={() => setOpen(undefined)}>
        {open && <NotificationDetail id={open} />}
      </Pane>
    </section>
  );
}

function NotificationDetail({ id }: { id: string }) {
  const d = useLoad<Detail>(`outbox:${id}`, () => tdekv("GET", `/_tdekv/alerts/outbox/${encodeURIComponent(id)}`), [id]);
  if (d.error) return <ErrorBox error={d.error} />;
  if (!d.data) return <p role="status">Loading…</p>;
  const n = d.data;
  return (
    <>
      <dl class="essentials">
        <div>
          <dt>Status</dt>
          <dd>
            <StatusBadge state={n.status} /> {n.detail ?? ""}
          </dd>
        </div>
        <div>
          <dt>Receiver</dt>
          <dd>
            {n.receiver.kind} {n.receiver.name} → <code class="wrap">{n.receiver.target}</code>
          </dd>
        </div>
        <div>
          <dt>Schema</dt>
          <dd>{n.alert.schemaId}</dd>
        </div>
        <div>
          <dt>Attempts</dt>
          <dd>{n.attemptHistory.map((a) => `#${a.attempt} ${a.outcome} (${a.durationMs} ms) ${a.detail}`).join("; ") || "None"}</dd>
        </div>
      </dl>
      <h3>Payload</h3>
      <JsonView value={n.payload} label="Notification payload" />
    </>
  );
}

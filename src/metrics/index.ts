import type { SurfaceHandler, SurfaceResponse } from "../platform/index.js";
import { KEY_ACCESS_STATES, type LifecyclePort, type LifecycleSnapshot, type ProbeOutcome } from "../health/index.js";
import { CONTENT_TYPE, Histogram, type MetricFamily, render } from "./exposition.js";

export { render, escapeLabelValue, escapeHelp, formatValue, Histogram, CONTENT_TYPE, DEFAULT_BUCKETS, type MetricFamily, type Sample, type Labels, type MetricType } from "./exposition.js";

/** What the metrics read, all through the other components' public read methods (composition root wires them). */
export interface MetricsDeps {
  /** health: every probe target's key access and the auto-heal windows still open, on the injected clock. */
  lifecycle: { snapshot(): Promise<LifecycleSnapshot> };
  /** alerts: notifications per status (Pending is the outbox depth). */
  outboxCounts(): Promise<Record<string, number>>;
  /** This node: its name and its store engine (asked at each scrape: the port is known once listening). */
  node(): { name: string; store: "sqlite" | "postgres" };
  /** Probe leases taken over from another node: 0 on a single node (the multi-node slice fills it in). */
  leaseTakeovers?: () => number;
  /** Probe leases this node holds now (issue 11 slice 2). */
  leasesHeld?: () => number;
  /** Probe results dropped because the lease had lapsed (the store's fence, or the node's own clock margin). */
  fencedWrites?: () => number;
  /** alerts: notifications this node sent again after a send nobody recorded (possible duplicates at the receiver). */
  alertRedeliveries?: () => number;
  /** alerts: outbox writes (in-flight marks, attempts, dispatcher commits) dropped because their lease had lapsed. */
  alertFencedWrites?: () => number;
  /** A monotonic stopwatch in ms for probe durations (performance.now): real elapsed work, not tdekv's clock. */
  stopwatch?: () => number;
}

export interface Metrics {
  /** Records one key probe (get, wrap and unwrap of a canary against Key Vault). */
  observeProbe(outcome: ProbeOutcome, seconds: number): void;
  /** The lifecycle port with its probes timed; every other call is passed through unchanged. */
  instrument(port: LifecyclePort): LifecyclePort;
  /** The exposition text, gathered now. */
  render(): Promise<string>;
  /** `GET /metrics` (also HEAD); undefined for every other path. Mounted on the direct host only. */
  route: SurfaceHandler;
}

/** The probe's outcome label: the health rules' own split between a transient and a definitive failure. */
export const probeOutcomeLabel = (o: ProbeOutcome): "success" | "transient_failure" | "definitive_failure" => (o.ok ? "success" : o.transient ? "transient_failure" : "definitive_failure");

/**
 * tdekv's Prometheus metrics (issue 11 §4). Counts and states only: no key material, no tokens, no secrets,
 * so the endpoint is unauthenticated on the direct host, as Prometheus scrapes usually are. See docs/metrics.md.
 */
export function createMetrics(deps: MetricsDeps): Metrics {
  const stopwatch = deps.stopwatch ?? (() => performance.now());
  const probes = new Histogram(
    "tdekv_probe_duration_seconds",
    "Duration of key probes against Key Vault (get the key, wrap and unwrap a canary as the server's identity), by outcome.",
  );
  const observeProbe = (outcome: ProbeOutcome, seconds: number) => probes.observe({ outcome: probeOutcomeLabel(outcome) }, seconds);

  async function families(): Promise<MetricFamily[]> {
    const [snap, counts] = await Promise.all([deps.lifecycle.snapshot(), deps.outboxCounts()]);
    const node = deps.node();
    return [
      probes.family(),
      {
        name: "tdekv_key_access_state",
        help: "Key access of each probe target (server or managed instance and its customer-managed TDE protector): 1 for its current state, 0 for the others.",
        type: "gauge",
        samples: snap.targets.flatMap((t) => KEY_ACCESS_STATES.map((state) => ({ labels: { server: t.serverId, state }, value: t.state === state ? 1 : 0 }))),
      },
      {
        name: "tdekv_autoheal_window_minutes_left",
        help: "Minutes left in the auto-heal window of each Inaccessible database still inside it, on tdekv's clock.",
        type: "gauge",
        samples: snap.windows.map((w) => ({ labels: { database: w.databaseResourceId }, value: w.leftMs / 60_000 })),
      },
      { name: "tdekv_outbox_depth", help: "Alert notifications waiting for delivery (Pending in the outbox).", type: "gauge", samples: [{ value: counts.Pending ?? 0 }] },
      { name: "tdekv_notifications_delivered_total", help: "Alert notifications delivered (accepted by their receiver).", type: "counter", samples: [{ value: counts.Delivered ?? 0 }] },
      { name: "tdekv_notifications_failed_total", help: "Alert notifications that failed for good (permanent refusal or retries ran out).", type: "counter", samples: [{ value: counts.Failed ?? 0 }] },
      { name: "tdekv_lease_takeovers_total", help: "Probe leases this node took over from another node (0 on a single node).", type: "counter", samples: [{ value: deps.leaseTakeovers?.() ?? 0 }] },
      { name: "tdekv_probe_leases_held", help: "Probe leases (server, protector targets) this node holds now.", type: "gauge", samples: [{ value: deps.leasesHeld?.() ?? 0 }] },
      { name: "tdekv_fenced_writes_total", help: "Probe results this node dropped because its lease had lapsed, been shed or taken over (fencing).", type: "counter", samples: [{ value: deps.fencedWrites?.() ?? 0 }] },
      {
        name: "tdekv_alert_redeliveries_total",
        help: "Alert notifications this node sent again after a send that was never recorded (a node died, stopped or lost the queue mid-send): possible duplicates at the receiver.",
        type: "counter",
        samples: [{ value: deps.alertRedeliveries?.() ?? 0 }],
      },
      { name: "tdekv_alert_fenced_writes_total", help: "Outbox writes this node dropped because its queue or dispatcher lease had lapsed or been taken over (fencing).", type: "counter", samples: [{ value: deps.alertFencedWrites?.() ?? 0 }] },
      { name: "tdekv_node_info", help: "This tdekv node and its control-plane store engine.", type: "gauge", samples: [{ labels: { node: node.name, store: node.store }, value: 1 }] },
    ];
  }

  const metrics: Metrics = {
    observeProbe,
    instrument(port) {
      return {
        targets: () => port.targets(),
        targetKeys: () => port.targetKeys(),
        target: (id) => port.target(id),
        async probe(t) {
          const t0 = stopwatch();
          const outcome = await port.probe(t);
          observeProbe(outcome, Math.max(0, stopwatch() - t0) / 1000);
          return outcome;
        },
        databases: (t) => port.databases(t),
        holds: (db) => port.holds(db),
        close: (db) => port.close(db),
        open: (t, db) => port.open(t, db),
        setStatus: (db, status, opts) => port.setStatus(db, status, opts),
      };
    },
    render: async () => render(await families()),
    async route(req): Promise<SurfaceResponse | undefined> {
      if (req.path !== "/metrics") return undefined;
      if (req.method !== "GET" && req.method !== "HEAD") return { status: 405, headers: { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" }, body: "Method Not Allowed\n" };
      return { status: 200, headers: { "content-type": CONTENT_TYPE, "cache-control": "no-store" }, body: await metrics.render() };
    },
  };
  return metrics;
}

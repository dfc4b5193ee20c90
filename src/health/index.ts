export { Lifecycle, type PassSummary, type LifecycleSnapshot } from "./lifecycle.js";
export { HealthStore, type Availability, type DatabaseRecord, type ProbedBy } from "./health-store.js";
export { type LifecyclePort, type ProbeTarget, type DatabaseRef, type ProbeLease, type ProbeOwnership, soleOwnership } from "./port.js";
export { type ProbeOutcome, type TargetState, type DatabaseLife, type KeyAccessState, KEY_ACCESS_STATES, keyAccessState, autohealLeftMs, DEFAULT_AUTOHEAL_WINDOW_MS, TRANSIENT_FAILURES_FOR_LOSS, SUCCESSES_FOR_HEAL } from "./domain/rules.js";
export { eventText } from "./domain/event-texts.js";
export { resourceHealthProvider } from "./resource-health-provider.js";
export { createHealthAdminRoutes, parseDuration, type FaultControl } from "./admin-routes.js";

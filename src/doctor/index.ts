/**
 * tdekv doctor (issue 7): the seed's Detection and Mitigation steps, run against a running tdekv through
 * Azure's public APIs only (ARM, Key Vault, Microsoft Graph, the Activity Log), the way a user's own script
 * would; plus the client and resolution helpers `tdekv chaos` and `tdekv demo` share.
 * Design record: docs/designs/2026-11-28-doctor.md.
 */
export { AzureRest, RestError, API, type Connection, type Credentials, type HttpResult } from "./client.js";
export { runDoctor, applyFixes, plannedFixes, DoctorError, type DoctorOptions } from "./doctor.js";
export { diagnose, formatDuration, impactOf } from "./checks.js";
export { findServers, gatherFacts, listSubscriptions, parseKid, timelineOf, policyGrants, actionMatches, type FoundServer, type Subscription } from "./facts.js";
export { renderReport, renderDiagnosis, describeFix } from "./render.js";
export { Az, sh } from "./commands.js";
export { SEED_ERRORS, SEED_WINDOW_MS, CRYPTO_SERVICE_ENCRYPTION_USER } from "./seed.js";
export type * from "./types.js";
export { undoChaos } from "./chaos-undo.js";
export { runChaos, CHAOS_CAUSES, FAULT_COMMANDS, type ChaosCause, type FaultCommand, type ChaosResult } from "./chaos.js";
export { ChaosJournal, type JournalEntry, type UndoStep, type Grant } from "./chaos-journal.js";

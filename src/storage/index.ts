export { type Db, type OpenedStore, type StoreOptions, openSqliteStore, openPostgresStore, openStore, migrate } from "./database.js";
export { type StoreEngine, type LeaseRef, leaseNowMs, leaseHolds, skipLocked, withRetry, RETRYABLE_SQLSTATES } from "./cluster-sql.js";
export { type StoreTarget, parseStoreTarget, redactStoreUrl, describeStore } from "./store-target.js";
export type * from "./schema.js";

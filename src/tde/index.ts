export { TdeEngine, TdeError, MAX_OPEN_HANDLES, DEFAULT_CHECKPOINT_BYTES, MAX_WAL_BYTES, connectEncrypted, type EngineHooks, type TdeErrorKind, type QueryResult } from "./tde-engine.js";
export { type BootRecord, readBootRecord, writeBootRecord } from "./boot-record.js";
export { type KeyProtector, type KeyUnwrapper, type ProtectorRef, type WrappedDek, ServiceManagedProtector, SERVICE_MANAGED_KID } from "./protector.js";

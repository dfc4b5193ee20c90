export { TdeEngine, TdeError, MAX_OPEN_HANDLES, type TdeErrorKind, type QueryResult } from "./tde-engine.js";
export { type BootRecord, readBootRecord } from "./boot-record.js";
export { type KeyProtector, type KeyUnwrapper, type ProtectorRef, type WrappedDek, ServiceManagedProtector, SERVICE_MANAGED_KID } from "./protector.js";

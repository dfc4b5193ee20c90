export { type Db, type OpenedStore, openSqliteStore, migrate } from "./database.js";
export type * from "./schema.js";

/**
 * Control-plane tables, typed for Kysely. One schema serves SQLite (the embedded default) and later
 * PostgreSQL (scale-out.md): only portable column types (text, integer) and no engine-specific SQL.
 * Times are epoch milliseconds in integer columns; JSON documents are text.
 */
export interface SettingsTable {
  key: string;
  value: string;
}

export interface TenantsTable {
  id: string;
  display_name: string;
  default_domain: string;
  created_at: number;
}

export interface SubscriptionsTable {
  id: string;
  tenant_id: string;
  display_name: string;
  state: string;
  created_at: number;
}

/** Every security principal: service principals and managed identities (user- or system-assigned). */
export interface PrincipalsTable {
  object_id: string;
  tenant_id: string;
  /** ServicePrincipal | UserAssigned | SystemAssigned */
  kind: string;
  app_id: string;
  display_name: string;
  /** For managed identities: the resource id (lower-cased key) that owns or is the identity. */
  resource_key: string | null;
  resource_id: string | null;
  /** Salted SHA-256 of the client secret, for service principals. */
  secret_hash: string | null;
  created_at: number;
  /** For users (kind User): the userPrincipalName they sign in with. Added by migration 0010. */
  user_principal_name?: string | null;
}

/** A user's refresh token, by SHA-256 (migration 0010). */
export interface RefreshTokensTable {
  token_hash: string;
  object_id: string;
  tenant_id: string;
  client_id: string;
  scope: string;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
}

/** Generic ARM resources, resource groups included. `key` is the lower-cased id (ARM ids are case-insensitive). */
export interface ResourcesTable {
  key: string;
  id: string;
  subscription_id: string;
  resource_group_key: string | null;
  type_key: string;
  name: string;
  body: string;
  created_at: number;
  updated_at: number;
}

/** Long-running operations (Azure-AsyncOperation / Location). */
export interface OperationsTable {
  id: string;
  subscription_id: string;
  status: string;
  /** Resource whose body the Location URL returns when done, or null for 204. */
  result_resource_key: string | null;
  error: string | null;
  error_status: number | null;
  started_at: number;
  ended_at: number | null;
}

export interface Database {
  settings: SettingsTable;
  tenants: TenantsTable;
  subscriptions: SubscriptionsTable;
  principals: PrincipalsTable;
  resources: ResourcesTable;
  operations: OperationsTable;
  refresh_tokens: RefreshTokensTable;
}

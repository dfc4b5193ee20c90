/**
 * Logical servers and managed instances share every TDE rule; they differ in names, types, host names and
 * the words of their events (seed "Getting TDE status from the Activity log"). One descriptor per flavor
 * lets one implementation serve both (issue 4 §5).
 */
export interface SqlFlavor {
  /** ARM type segment: "servers" or "managedInstances". */
  parentType: "servers" | "managedInstances";
  fullType: string;
  keysType: string;
  protectorType: string;
  databaseType: string;
  /** Human word used in event descriptions: "Server" / "managed server". */
  serverWord: string;
  fqdn(name: string, zone: string): string;
  defaultDatabaseSku: Record<string, unknown>;
  databaseKind: string | undefined;
}

export const LOGICAL_SERVER: SqlFlavor = {
  parentType: "servers",
  fullType: "Microsoft.Sql/servers",
  keysType: "Microsoft.Sql/servers/keys",
  protectorType: "Microsoft.Sql/servers/encryptionProtector",
  databaseType: "Microsoft.Sql/servers/databases",
  serverWord: "Server",
  fqdn: (name) => `${name}.database.windows.net`,
  defaultDatabaseSku: { name: "GP_Gen5", tier: "GeneralPurpose", family: "Gen5", capacity: 2 },
  databaseKind: "v12.0,user,vcore",
};

export const MANAGED_INSTANCE: SqlFlavor = {
  parentType: "managedInstances",
  fullType: "Microsoft.Sql/managedInstances",
  keysType: "Microsoft.Sql/managedInstances/keys",
  protectorType: "Microsoft.Sql/managedInstances/encryptionProtector",
  databaseType: "Microsoft.Sql/managedInstances/databases",
  serverWord: "managed server",
  fqdn: (name, zone) => `${name}.${zone}.database.windows.net`,
  defaultDatabaseSku: { name: "GP_Gen5", tier: "GeneralPurpose", family: "Gen5", capacity: 8 },
  databaseKind: undefined,
};

/** Logical server names: 1-63 of lower-case letters, digits and hyphens, not starting or ending with a hyphen. */
export const isValidServerName = (name: string): boolean => /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(name);

/** Database names: up to 128 characters, none of <>*%&:\/? and not ending in a period or space. */
export const isValidDatabaseName = (name: string): boolean => name.length > 0 && name.length <= 128 && !/[<>*%&:\\/?]/.test(name) && !/[. ]$/.test(name);

import { ArmError } from "../../arm/index.js";

/**
 * Microsoft.Sql's errors for restores, retention, geo-replication and failover groups, with Azure's codes and
 * texts (pitr-fog.md §1.2-§1.6, §2.2, §2.4; spec 2023-08-01). 400 unless Azure says otherwise.
 */
export const backupErrors = {
  invalidPointInTime: () => new ArmError(400, "InvalidPointInTime", "The specified point in time is not valid for the database."),
  missingRestorePointInTime: (mode: string) => new ArmError(400, "MissingRestorePointInTime", `'restorePointInTime' must be specified when createMode is '${mode}'.`),
  missingSourceDatabaseId: (mode: string) => new ArmError(400, "MissingSourceDatabaseId", `'sourceDatabaseId' must be specified when createMode is '${mode}'.`),
  invalidSourceDatabaseId: (id: string) => new ArmError(400, "InvalidSourceDatabaseId", `The source database id '${id}' is not valid.`),
  missingDeletionDate: () =>
    new ArmError(400, "MissingSourceDatabaseDeletionDate", "'sourceDatabaseDeletionDate' must be specified when restoring a dropped database by its original resource id."),
  invalidLiveDatabase: () =>
    new ArmError(400, "InvalidLiveDatabase", "Source database does not exist on server within the supported recovery period. If restoring a dropped database, please specify its deletion date."),
  invalidDroppedDatabase: () => new ArmError(400, "InvalidDroppedDatabase", "Source database dropped does not exist on server within the supported recovery period."),
  multipleDropped: () =>
    new ArmError(400, "MultipleDroppedDatabasesWithTheSameName", "More than one dropped database with the same name matches; specify the restorable dropped database id."),
  restoreOnGeoSecondary: () =>
    new ArmError(
      400,
      "RestoreNotSupportedForGeoDrSecondary",
      "Point-in-time restore and database recovery operations are not supported on databases that are currently configured as geo-secondaries.",
    ),
  unsupportedCreateMode: (mode: string) => new ArmError(400, "InvalidParameterValue", `Invalid value given for parameter createMode: '${mode}'. tdekv supports Default, Copy, PointInTimeRestore, Restore and Secondary.`),
  databaseExists: (name: string) => new ArmError(409, "DatabaseAlreadyExists", `Database '${name}' already exists. Choose a different database name.`),
  invalidRetention: (days: unknown, min: number, max: number) =>
    new ArmError(400, "InvalidBackupRetentionPeriod", `The retention days of ${String(days)} is not a valid configuration. Valid backup retention in days must be between ${min} and ${max}`),
  invalidDiffInterval: (hours: unknown) =>
    new ArmError(400, "InvalidDiffBackupIntervalHours", `The differential backup interval hours of ${String(hours)} is not a valid configuration. Valid differential backup interval must be 12 or 24 hours.`),
  invalidPolicyName: () => new ArmError(400, "InvalidBackupShortTermRetentionPolicyName", "The backup short term retention policy name must be 'default'."),
  missingKeyForRestore: (kid: string, database: string, server: string) =>
    new ArmError(400, "MissingKeyVaultUriForRestore", `Azure Key Vault key URI '${kid}' is required to successfully restore the database '${database}' under server '${server}'.`),
  incorrectAccessForRestore: (server: string, kids: string[], from: string, to: string) =>
    new ArmError(
      400,
      "IncorrectAccessToAzureKeyVault",
      `Target server does not have access to all AKV Uris created during the backup time. Target server '${server}' doesn't have access to all AKV URIs created between ${from} and ${to}. Retry operation after restoring all AKV URIs: ${kids.join(", ")}.`,
    ),
  archiveDamaged: (detail: string) => new ArmError(500, "BackupUnavailable", `The backup needed for this restore cannot be read: ${detail}`),
  // Geo-replication and failover groups.
  sameKeyMaterialNotFound: (kid: string, secondary: string) =>
    new ArmError(
      400,
      "SameKeyMaterialNotFoundOnRemoteServer",
      `All servers linked by Geo replication should have the same key material as the encryption protector of the primary server. Please add the key '${kid}' with the same key material to the secondary server '${secondary}'.`,
    ),
  keyMaterialNotOnPartner: () => new ArmError(400, "KeyMaterialNotFoundOnRemoteServer", "Remote server does not have access to key material used as a TDE protector."),
  sameName: () => new ArmError(400, "ReplicationSourceAndTargetMustHaveSameName", "The source and target databases of a geo-replication link must have the same name."),
  differentServers: () => new ArmError(400, "ReplicationSourceAndTargetMustBeInDifferentServers", "The source and target databases of a geo-replication link must be on different servers."),
  geoChain: () =>
    new ArmError(400, "SecurityAzureKeyVaultGeoChainError", "Creating a geo-secondary of a geo-secondary (chaining) is not supported when encrypting databases with transparent data encryption using a customer-managed key."),
  remoteDatabaseExists: (name: string, server: string) => new ArmError(409, "RemoteDatabaseExists", `The destination database name '${name}' already exists on the server '${server}'.`),
  linkNameInvalid: (name: string) => new ArmError(400, "ReplicationLinksReplicationLinkNameIsInvalid", `The replication link name '${name}' is not valid: it must be a GUID.`),
  linkInFailoverGroup: () =>
    new ArmError(
      400,
      "FailoverGroupAlreadySetup",
      "Cannot perform the operation because the geo-replication link is part of a Failover Group. You must remove the database from the group in order to individually terminate or failover",
    ),
  linkFailoverOnPrimary: () => new ArmError(400, "ReplicationLinkFailoverRequestOnPrimary", "The failover request must be sent to the secondary database of the replication link."),
  fogExists: (name: string) => new ArmError(409, "FailoverGroupAlreadyExists", `A failover group with name '${name}' already exists.`),
  fogPartnerCount: () => new ArmError(400, "FailoverGroupCreateOrUpdateRequestUnsupportedPartnerCount", "A failover group must have exactly one partner server."),
  fogRegion: () => new ArmError(400, "InvalidFailoverGroupRegion", "The partner server of a failover group must be in a different region than the primary server."),
  fogPartnerSubscription: () =>
    new ArmError(400, "FailoverGroupPartnerServerFromDifferentSubscription", "The partner server of a failover group must be in the same subscription as the primary server."),
  fogPartnerInvalid: (id: string) => new ArmError(400, "FailoverGroupCreateOrUpdateRequestInvalidDatabaseServer", `The partner server '${id}' does not exist.`),
  fogGraceRequired: () =>
    new ArmError(
      400,
      "FailoverGroupCreateOrUpdateRequestInvalidReadWriteEndpointFields",
      "The 'failoverWithDataLossGracePeriodMinutes' field must be specified when the read-write endpoint's failover policy is 'Automatic'.",
    ),
  fogGraceForManual: () =>
    new ArmError(
      400,
      "FailoverGroupCreateOrUpdateRequestInvalidReadWriteEndpointFieldsForManualPolicy",
      "The 'failoverWithDataLossGracePeriodMinutes' field must not be specified when the read-write endpoint's failover policy is 'Manual'.",
    ),
  fogGraceTooShort: (min: number) =>
    new ArmError(
      400,
      "FailoverGroupCreateOrUpdateRequestLessThanMinimumGracePeriodValues",
      `The 'failoverWithDataLossGracePeriodMinutes' value must be greater than or equal to the '${min}' minutes minimum grace period.`,
    ),
  fogInvalidPolicy: (field: string, value: unknown) => new ArmError(400, "InvalidParameterValue", `Invalid value given for parameter ${field}: '${String(value)}'.`),
  fogOnSecondary: () =>
    new ArmError(400, "FailoverGroupUpdateOrDeleteRequestOnSecondary", "The update or delete request of a failover group must be sent to the server that holds its primary role."),
  fogFailoverOnPrimary: () =>
    new ArmError(400, "FailoverGroupFailoverRequestOnPrimary", "The failover request of a failover group must be sent to the server that holds its secondary role."),
  fogDatabaseInOther: (db: string, fog: string) =>
    new ArmError(409, "DatabaseBelongsToOtherFailoverGroup", `The database '${db}' already belongs to the failover group '${fog}'.`),
  fogDatabaseNotFound: (id: string) => new ArmError(400, "FailoverGroupCreateOrUpdateRequestInvalidDatabase", `The database '${id}' does not exist on the primary server of the failover group.`),
  fogBusy: () => new ArmError(409, "FailoverGroupBusy", "The failover group is busy with another operation. Retry later."),
};

import type { Migration, MigrationProvider } from "kysely";
import { frontDoor } from "./0001-front-door.js";
import { vaultManagement } from "./0002-vault-management.js";
import { vaultKeys } from "./0003-vault-keys.js";
import { sql } from "./0004-sql.js";
import { activity } from "./0005-activity.js";
import { alerts } from "./0006-alerts.js";
import { health } from "./0007-health.js";
import { backup } from "./0008-backup.js";
import { users } from "./0010-users.js";
import { activitySeq } from "./0011-activity-seq.js";
import { outboxClaims } from "./0013-outbox-claims.js";
import { cluster } from "./0012-cluster.js";
import { clusterCa } from "./0014-cluster-ca.js";

/**
 * Numbered migrations, embedded in code so one build carries its schema, and one list serves SQLite and
 * (later) PostgreSQL. Names sort; never edit a migration that has shipped, add the next number instead.
 */
const migrations: Record<string, Migration> = {
  "0001_front_door": frontDoor,
  "0002_vault_management": vaultManagement,
  "0003_vault_keys": vaultKeys,
  "0004_sql": sql,
  "0005_activity": activity,
  "0006_alerts": alerts,
  "0007_health": health,
  // 0006 shipped empty for a while; it is idempotent now, so data dirs that recorded it empty get its tables.
  "0009_alerts_tables": alerts,
  "0008_backup": backup,
  "0010_users": users,
  "0011_activity_seq": activitySeq,
  "0013_outbox_claims": outboxClaims,
  "0012_cluster": cluster,
  "0014_cluster_ca": clusterCa,
};

export const migrationProvider: MigrationProvider = {
  async getMigrations() {
    return migrations;
  },
};

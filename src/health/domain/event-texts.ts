import type { LifeEvent } from "./rules.js";

/**
 * The seed's events, word for word ("Getting TDE status from the Activity log"), for Azure SQL Database and
 * for managed instances. The managed-instance inaccessible event is `MakeManagedDbInaccessible`, as the seed
 * names it (current docs say MakeManagedDatabaseInaccessible: docs/fidelity.md).
 */
export interface EventText {
  eventName: string;
  status: "Started" | "Succeeded" | "Failed";
  description: string;
}

export function eventText(kind: LifeEvent, managed: boolean, db: string, server: string): EventText {
  if (!managed) {
    switch (kind) {
      case "inaccessible-started":
        return { eventName: "MakeDatabaseInaccessible", status: "Started", description: `Database ${db} on Server ${server} has lost access to Azure Key Vault Key and is now transitioning to inaccessible state.` };
      case "inaccessible-succeeded":
        return { eventName: "MakeDatabaseInaccessible", status: "Succeeded", description: "Database is inaccessible and requires user to resolve Azure key vault errors and reestablish access to Azure key vault key using Re-validate key." };
      case "accessible-started":
        return { eventName: "MakeDatabaseAccessible", status: "Started", description: `Access to Azure Key Vault Key has been re-established, operation to make database ${db} on server ${server} accessible started.` };
      case "accessible-succeeded":
        return { eventName: "MakeDatabaseAccessible", status: "Succeeded", description: `Access to Azure Key Vault Key has been re-established and database ${db} on server ${server} is now online.` };
      case "accessible-failed":
        return { eventName: "MakeDatabaseAccessible", status: "Failed", description: `Access to Azure Key Vault Key has been re-established, operation to make database ${db} accessible on server ${server} failed` };
    }
  }
  switch (kind) {
    case "inaccessible-started":
      return { eventName: "MakeManagedDbInaccessible", status: "Started", description: `Database ${db} on managed server ${server} has lost access to Azure Key Vault Key and is now transitioning to inaccessible state.` };
    case "inaccessible-succeeded":
      return { eventName: "MakeManagedDbInaccessible", status: "Succeeded", description: `Database ${db} on managed server ${server} is inaccessible and requires user to re-establish access to Azure Key Vault Key.` };
    case "accessible-started":
      return { eventName: "MakeManagedDatabaseAccessible", status: "Started", description: `Access to Azure Key Vault Key has been re-established, operation to make database ${db} on managed server ${server} accessible started.` };
    case "accessible-succeeded":
      return { eventName: "MakeManagedDatabaseAccessible", status: "Succeeded", description: `Access to Azure Key Vault Key has been re-established and database ${db} on managed server ${server} is now online.` };
    case "accessible-failed":
      return { eventName: "MakeManagedDatabaseAccessible", status: "Failed", description: `Access to Azure Key Vault Key has been re-established, operation to make database ${db} accessible on managed server ${server} failed` };
  }
}

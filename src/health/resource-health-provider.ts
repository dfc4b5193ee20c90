import { armErrors, armResponses, type ArmServices, type ResourceProvider } from "../arm/index.js";
import type { Lifecycle } from "./lifecycle.js";

/**
 * `{resourceId}/providers/Microsoft.ResourceHealth/availabilityStatuses/current` (azure-sql-tde.md §4.4): a
 * database is Available, or Unavailable once a connection has been denied because its key is out of reach.
 */
export function resourceHealthProvider(arm: ArmServices, lifecycle: Lifecycle): ResourceProvider {
  return {
    namespace: "Microsoft.ResourceHealth",
    types: ["availabilityStatuses"],
    extension: true,
    async handle(call) {
      if (call.method !== "GET") throw armErrors.methodNotAllowed(call.method, call.req.path);
      const scope = call.scopeId ?? "";
      const resource = await arm.store.get<{ location?: string; properties?: { databaseId?: string; status?: string } }>(scope);
      if (!resource) throw armErrors.pathNotFound(call.req.path);
      const name = call.ref.names[0];
      if (call.kind === "instance" && name?.toLowerCase() !== "current") throw armErrors.pathNotFound(call.req.path);
      const serverKey = scope.toLowerCase().replace(/\/databases\/[^/]+$/, "");
      const rec = resource.body.properties?.databaseId ? await lifecycle.lifeOf(resource.body.properties.databaseId, serverKey) : undefined;
      const unavailable = rec?.availability === "Unavailable";
      const changed = new Date(rec?.availabilityChangedAt ?? resource.createdAt).toISOString();
      const body = {
        id: `${resource.id}/providers/Microsoft.ResourceHealth/availabilityStatuses/current`,
        name: "current",
        type: "Microsoft.ResourceHealth/AvailabilityStatuses",
        location: resource.body.location ?? "global",
        properties: unavailable
          ? {
              availabilityState: "Unavailable",
              title: "Unavailable",
              summary: "This database is inaccessible: its server lost access to the Azure Key Vault key (TDE protector) that protects it, and connections are refused.",
              reasonType: "Customer Initiated",
              reasonChronicity: "Persistent",
              detailedStatus: "Access to Azure Key Vault has been lost for this database. Existing data will be inaccessible until this issue is resolved.",
              occuredTime: changed,
              reportedTime: changed,
            }
          : {
              availabilityState: "Available",
              title: "Available",
              summary: "There aren't any known Azure platform problems affecting this SQL database.",
              reasonChronicity: "Persistent",
              detailedStatus: "",
              occuredTime: changed,
              reportedTime: changed,
            },
      };
      return call.kind === "collection" ? armResponses.list([body]) : armResponses.ok(body);
    },
  };
}

import type { Area, ArmResource } from "../../lib/types";
import { ActivityBlade } from "./database/activity-blade";
import { EncryptionBlade } from "./database/encryption-blade";
import { HealthBlade } from "./database/health-blade";
import { DatabaseOverview } from "./database/overview";
import { DoctorBlade } from "./doctor/doctor-blade";
import { IncidentBlade } from "./incident/incident-blade";
import { IdentityBlade } from "./server/identity-blade";
import { DatabasesBlade, ServerOverview } from "./server/overview";
import { TdeBlade } from "./server/tde-blade";

/**
 * The SQL area (portal.md §3.6 #3–4): logical servers and managed instances share every blade, and so do
 * their databases. Blade ids are the hash routes' last segment (#/resource{id}/{blade}).
 */
const SERVERS = ["microsoft.sql/servers", "microsoft.sql/managedinstances"];
const DATABASES = ["microsoft.sql/servers/databases", "microsoft.sql/managedinstances/databases"];

export const area: Area = {
  resourceTypes: [...SERVERS, ...DATABASES],
  blades(r: ArmResource) {
    if (DATABASES.includes(r.type.toLowerCase())) {
      return [
        { id: "overview", label: "Overview", render: () => <DatabaseOverview resource={r} /> },
        { id: "incident", label: "Incident timeline", render: () => <IncidentBlade resource={r} /> },
        { id: "diagnose", label: "Diagnose and solve problems", render: () => <DoctorBlade resource={r} /> },
        { id: "activity-log", label: "Activity log", render: () => <ActivityBlade resource={r} /> },
        { id: "resource-health", label: "Resource health", render: () => <HealthBlade resource={r} /> },
        { id: "data-encryption", label: "Data encryption", render: () => <EncryptionBlade resource={r} /> },
      ];
    }
    return [
      { id: "overview", label: "Overview", render: () => <ServerOverview resource={r} /> },
      { id: "tde", label: "Transparent data encryption", render: () => <TdeBlade resource={r} /> },
      { id: "identity", label: "Identity", render: () => <IdentityBlade resource={r} /> },
      { id: "databases", label: "Databases", render: () => <DatabasesBlade resource={r} /> },
      { id: "diagnose", label: "Diagnose and solve problems", render: () => <DoctorBlade resource={r} /> },
    ];
  },
};

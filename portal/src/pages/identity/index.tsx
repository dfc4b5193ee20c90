import type { Area, ArmResource } from "../../lib/types";
import { IdentitiesList } from "./identities-list";
import { IdentityProperties, UsedBy } from "./identity-blades";

/**
 * Managed identities (portal.md §3.6 #6): the list at #/identities, and per identity its Properties
 * (principalId, clientId, tenantId) and what uses it. The identity a TDE server uses for Key Vault is its primary
 * user-assigned identity, else its system-assigned one (portal.md §1.2): "Used by" says which.
 */
export const area: Area = {
  resourceTypes: ["microsoft.managedidentity/userassignedidentities"],
  blades: (r: ArmResource) => [
    { id: "overview", label: "Properties", render: () => <IdentityProperties id={r.id} /> },
    { id: "used-by", label: "Used by", render: () => <UsedBy id={r.id} /> },
  ],
  topLevel: [{ path: "identities", label: "Managed identities", render: () => <IdentitiesList /> }],
};

import { ErrorBox, Loading, StatusBadge, Tabs } from "../../../components";
import { useArm } from "../../../lib/hooks";
import { href } from "../../../lib/router";
import type { ArmResource } from "../../../lib/types";
import { type Protector, type SqlDatabase, api, serverIdOf } from "../sql-api";
import { Revalidate } from "./revalidate";

/**
 * Database → Security → Data Encryption → "Transparent Data Encryption" tab (portal.md §1.3): where Azure
 * puts "Revalidate key" ("If the database has lost access to the Azure Key Vault, a Revalidate key button
 * will appear"), with the key the database is protected by.
 */
export function EncryptionBlade({ resource }: { resource: ArmResource }) {
  const serverId = serverIdOf(resource.id);
  const db = useArm<SqlDatabase>(api(resource.id));
  const tde = useArm<{ properties: { state: string } }>(api(`${resource.id}/transparentDataEncryption/current`));
  const protector = useArm<Protector>(api(`${serverId}/encryptionProtector/current`));
  if (db.error) return <ErrorBox error={db.error} />;
  if (!db.data) return <Loading what="Loading…" />;
  const down = db.data.properties.status === "Inaccessible";
  const p = protector.data?.properties;
  return (
    <Tabs
      label="Data encryption"
      tabs={[
        {
          id: "tde",
          label: "Transparent Data Encryption",
          render: () => (
            <div>
              <dl class="facts">
                <div>
                  <dt>Data encryption</dt>
                  <dd>
                    <StatusBadge state={tde.data?.properties.state ?? "Unknown"} />
                  </dd>
                </div>
                <div>
                  <dt>Encryption key</dt>
                  <dd>{p ? (p.serverKeyType === "AzureKeyVault" ? "Server level encryption key: Customer-managed key" : "Server level encryption key: Service-managed key") : "—"}</dd>
                </div>
                {p?.uri ? (
                  <div>
                    <dt>Key</dt>
                    <dd>
                      <code class="wrap">{p.uri}</code>
                    </dd>
                  </div>
                ) : null}
              </dl>
              <p>
                The key is set on the server: <a href={href(serverId, "tde")}>Transparent data encryption</a>.
              </p>
              {protector.error ? <ErrorBox error={protector.error} /> : null}
              {down ? null : <p>The database can use its key: no revalidation is needed.</p>}
              <Revalidate dbId={resource.id} down={down} primary onDone={db.reload} />
            </div>
          ),
        },
      ]}
    />
  );
}

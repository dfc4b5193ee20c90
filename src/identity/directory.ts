import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Db, PrincipalsTable } from "../storage/index.js";
import { type Clock, type SecretBox, newGuid, newSecret } from "../platform/index.js";

/** "User" is a person who signs in to the portal (issue 9 §1); the others are applications and identities. */
export type PrincipalKind = "ServicePrincipal" | "UserAssigned" | "SystemAssigned" | "User";

export interface Principal {
  objectId: string;
  tenantId: string;
  kind: PrincipalKind;
  /** The application (client) id. */
  appId: string;
  displayName: string;
  resourceId: string | null;
  /** Users only: the name they sign in with (admin@tdekv.local). */
  userPrincipalName?: string;
}

/** The user every tenant is seeded with; the bootstrap tenant's is admin@tdekv.local (issue 9 §1). */
export const SEEDED_USER_NAME = "tdekv Admin";
export const BOOTSTRAP_USER_UPN = "admin@tdekv.local";
export const seededUserUpn = (tenantId: string, bootstrap: boolean): string => (bootstrap ? BOOTSTRAP_USER_UPN : `admin@${tenantId}.tdekv.local`);

export interface Tenant {
  id: string;
  displayName: string;
  defaultDomain: string;
}

export interface Subscription {
  id: string;
  tenantId: string;
  displayName: string;
  state: string;
}

export interface ServicePrincipalCredentials {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  objectId: string;
}

function hashSecret(secret: string): string {
  const salt = randomBytes(16);
  return `sha256$${salt.toString("base64url")}$${createHash("sha256").update(salt).update(secret).digest("base64url")}`;
}

function secretMatches(secret: string, stored: string): boolean {
  const [scheme, salt, digest] = stored.split("$");
  if (scheme !== "sha256" || !salt || !digest) return false;
  const actual = createHash("sha256").update(Buffer.from(salt, "base64url")).update(secret).digest();
  const expected = Buffer.from(digest, "base64url");
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

const toPrincipal = (row: PrincipalsTable): Principal => ({
  objectId: row.object_id,
  tenantId: row.tenant_id,
  kind: row.kind as PrincipalKind,
  appId: row.app_id,
  displayName: row.display_name,
  resourceId: row.resource_id,
  ...(row.user_principal_name ? { userPrincipalName: row.user_principal_name } : {}),
});

/**
 * The directory: tenants, subscriptions (each bound to one tenant, as in Entra), service principals and
 * managed identities. Managed identities are real principals with an object id, so Key Vault access
 * policies and role assignments can name them (issue 4 §1, seed "Missing server identity").
 */
export class Directory {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly box: SecretBox,
  ) {}

  async getSetting(key: string): Promise<string | undefined> {
    const row = await this.db.selectFrom("settings").select("value").where("key", "=", key).executeTakeFirst();
    return row?.value;
  }

  async setSetting(key: string, value: string): Promise<void> {
    await this.db.insertInto("settings").values({ key, value }).onConflict((oc) => oc.column("key").doUpdateSet({ value })).execute();
  }

  /**
   * First start makes the default tenant, subscription and service principal; later starts read them back.
   * The bootstrap secret is kept sealed under the master key so endpoints.json can be rewritten each start.
   */
  async bootstrap(): Promise<{ tenant: Tenant; subscription: Subscription; credentials: ServicePrincipalCredentials }> {
    const saved = await this.getSetting("bootstrap");
    if (saved) {
      const b = JSON.parse(saved) as { tenantId: string; subscriptionId: string; clientId: string; objectId: string; sealedSecret: string };
      const tenant = await this.getTenant(b.tenantId);
      const subscription = await this.getSubscription(b.subscriptionId);
      if (!tenant || !subscription) throw new Error("data dir is inconsistent: the bootstrap tenant or subscription is missing");
      const clientSecret = this.box.open(b.sealedSecret, "bootstrap-secret").toString();
      // Data dirs made before users existed get theirs now; later starts find them and add nothing.
      await this.ensureUsers(b.tenantId);
      return { tenant, subscription, credentials: { tenantId: b.tenantId, clientId: b.clientId, clientSecret, objectId: b.objectId } };
    }
    const { tenant, credentials } = await this.createTenant("Default Directory", undefined, BOOTSTRAP_USER_UPN);
    const subscription = await this.createSubscription(tenant.id, "tdekv subscription");
    await this.setSetting(
      "bootstrap",
      JSON.stringify({
        tenantId: tenant.id,
        subscriptionId: subscription.id,
        clientId: credentials.clientId,
        objectId: credentials.objectId,
        sealedSecret: this.box.seal(credentials.clientSecret, "bootstrap-secret"),
      }),
    );
    return { tenant, subscription, credentials };
  }

  /** A new tenant comes with one service principal and one user (admin@{tenantId}.tdekv.local) that can sign in to it. */
  async createTenant(displayName: string, id: string = newGuid(), userUpn: string = seededUserUpn(id, false)): Promise<{ tenant: Tenant; credentials: ServicePrincipalCredentials }> {
    const tenant: Tenant = { id, displayName, defaultDomain: `tdekv${id.slice(0, 8)}.onmicrosoft.com` };
    await this.db
      .insertInto("tenants")
      .values({ id, display_name: displayName, default_domain: tenant.defaultDomain, created_at: this.clock.now() })
      .execute();
    const credentials = await this.createServicePrincipal(id, "tdekv-admin");
    await this.createUser(id, userUpn, SEEDED_USER_NAME);
    return { tenant, credentials };
  }

  async createUser(tenantId: string, userPrincipalName: string, displayName: string): Promise<Principal> {
    const row: PrincipalsTable = {
      object_id: newGuid(),
      tenant_id: tenantId,
      kind: "User",
      // Users are no application: an empty app id never matches a client_id or appId look-up.
      app_id: "",
      display_name: displayName,
      resource_key: null,
      resource_id: null,
      secret_hash: null,
      created_at: this.clock.now(),
      user_principal_name: userPrincipalName.toLowerCase(),
    };
    await this.db.insertInto("principals").values(row).execute();
    return toPrincipal(row);
  }

  /** Seeds the user of every tenant that has none (idempotent). */
  async ensureUsers(bootstrapTenantId: string): Promise<void> {
    for (const t of await this.listTenants()) {
      const has = await this.db.selectFrom("principals").select("object_id").where("tenant_id", "=", t.id).where("kind", "=", "User").executeTakeFirst();
      if (!has) await this.createUser(t.id, seededUserUpn(t.id, t.id === bootstrapTenantId), SEEDED_USER_NAME);
    }
  }

  /** Users, bootstrap tenant first (the sign-in page preselects the first); one tenant's when given. */
  async listUsers(bootstrapTenantId: string, tenantId?: string): Promise<Principal[]> {
    let q = this.db.selectFrom("principals").selectAll().where("kind", "=", "User");
    if (tenantId) q = q.where("tenant_id", "=", tenantId);
    const rows = await q.orderBy("created_at").orderBy("object_id").execute();
    const users = rows.map(toPrincipal);
    return [...users.filter((u) => u.tenantId === bootstrapTenantId), ...users.filter((u) => u.tenantId !== bootstrapTenantId)];
  }

  async findUser(objectId: string): Promise<Principal | undefined> {
    const row = await this.db.selectFrom("principals").selectAll().where("object_id", "=", objectId.toLowerCase()).where("kind", "=", "User").executeTakeFirst();
    return row && toPrincipal(row);
  }

  async createServicePrincipal(tenantId: string, displayName: string): Promise<ServicePrincipalCredentials> {
    const clientId = newGuid();
    const objectId = newGuid();
    // A secret that starts with "-" reads as an option to az's argument parser (`az login -p -x…` fails), so
    // draw again until it starts with a letter or digit.
    let clientSecret = newSecret();
    while (!/^[A-Za-z0-9]/.test(clientSecret)) clientSecret = newSecret();
    await this.db
      .insertInto("principals")
      .values({
        object_id: objectId,
        tenant_id: tenantId,
        kind: "ServicePrincipal",
        app_id: clientId,
        display_name: displayName,
        resource_key: null,
        resource_id: null,
        secret_hash: hashSecret(clientSecret),
        created_at: this.clock.now(),
      })
      .execute();
    return { tenantId, clientId, clientSecret, objectId };
  }

  async createSubscription(tenantId: string, displayName: string, id: string = newGuid()): Promise<Subscription> {
    await this.db
      .insertInto("subscriptions")
      .values({ id, tenant_id: tenantId, display_name: displayName, state: "Enabled", created_at: this.clock.now() })
      .execute();
    return { id, tenantId, displayName, state: "Enabled" };
  }

  async getTenant(idOrDomain: string): Promise<Tenant | undefined> {
    const key = idOrDomain.toLowerCase();
    const row = await this.db
      .selectFrom("tenants")
      .selectAll()
      .where((eb) => eb.or([eb("id", "=", key), eb("default_domain", "=", key)]))
      .executeTakeFirst();
    return row && { id: row.id, displayName: row.display_name, defaultDomain: row.default_domain };
  }

  async listTenants(): Promise<Tenant[]> {
    const rows = await this.db.selectFrom("tenants").selectAll().orderBy("created_at").execute();
    return rows.map((row) => ({ id: row.id, displayName: row.display_name, defaultDomain: row.default_domain }));
  }

  async getSubscription(id: string): Promise<Subscription | undefined> {
    const row = await this.db.selectFrom("subscriptions").selectAll().where("id", "=", id.toLowerCase()).executeTakeFirst();
    return row && { id: row.id, tenantId: row.tenant_id, displayName: row.display_name, state: row.state };
  }

  async listSubscriptions(tenantId: string): Promise<Subscription[]> {
    const rows = await this.db.selectFrom("subscriptions").selectAll().where("tenant_id", "=", tenantId).orderBy("created_at").execute();
    return rows.map((row) => ({ id: row.id, tenantId: row.tenant_id, displayName: row.display_name, state: row.state }));
  }

  /**
   * Re-homes a subscription in another tenant (Azure's "change directory"). As in Azure, the managed
   * identities of its resources do not survive the transfer: they must be assigned again (seed "Missing
   * server identity": "If the logical SQL Server … was moved to a new tenant … assign a new managed identity").
   */
  async moveSubscription(id: string, tenantId: string): Promise<void> {
    const sub = id.toLowerCase();
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable("subscriptions").set({ tenant_id: tenantId }).where("id", "=", sub).execute();
      await trx
        .deleteFrom("principals")
        .where("kind", "in", ["SystemAssigned", "UserAssigned"])
        .where("resource_key", ">", `/subscriptions/${sub}/`)
        .where("resource_key", "<", `/subscriptions/${sub}0`)
        .execute();
    });
  }

  /** Checks a client secret; undefined when the app is unknown in that tenant, false when the secret is wrong. */
  async authenticateClient(tenantId: string, clientId: string, secret: string): Promise<Principal | false | undefined> {
    const row = await this.db
      .selectFrom("principals")
      .selectAll()
      .where("tenant_id", "=", tenantId)
      .where("app_id", "=", clientId.toLowerCase())
      .where("kind", "=", "ServicePrincipal")
      .executeTakeFirst();
    if (!row) return undefined;
    return row.secret_hash && secretMatches(secret, row.secret_hash) ? toPrincipal(row) : false;
  }

  /** Makes the principal of a user-assigned identity, or of a resource's system-assigned identity. */
  async createManagedIdentity(args: { tenantId: string; kind: "UserAssigned" | "SystemAssigned"; resourceId: string; displayName: string }): Promise<Principal> {
    const row: PrincipalsTable = {
      object_id: newGuid(),
      tenant_id: args.tenantId,
      kind: args.kind,
      app_id: newGuid(),
      display_name: args.displayName,
      resource_key: args.resourceId.toLowerCase(),
      resource_id: args.resourceId,
      secret_hash: null,
      created_at: this.clock.now(),
    };
    await this.db.insertInto("principals").values(row).execute();
    return toPrincipal(row);
  }

  async findManagedIdentity(kind: "UserAssigned" | "SystemAssigned", resourceId: string): Promise<Principal | undefined> {
    const row = await this.db
      .selectFrom("principals")
      .selectAll()
      .where("kind", "=", kind)
      .where("resource_key", "=", resourceId.toLowerCase())
      .executeTakeFirst();
    return row && toPrincipal(row);
  }

  async findPrincipal(by: { objectId?: string; appId?: string }): Promise<Principal | undefined> {
    let q = this.db.selectFrom("principals").selectAll();
    if (by.objectId) q = q.where("object_id", "=", by.objectId.toLowerCase());
    else if (by.appId) q = q.where("app_id", "=", by.appId.toLowerCase());
    else return undefined;
    const row = await q.executeTakeFirst();
    return row && toPrincipal(row);
  }

  /** Deleting the identity deletes its principal: tokens can no longer be had for it (seed: identity deleted). */
  async deleteManagedIdentity(kind: "UserAssigned" | "SystemAssigned", resourceId: string): Promise<void> {
    await this.db.deleteFrom("principals").where("kind", "=", kind).where("resource_key", "=", resourceId.toLowerCase()).execute();
  }

  /** Managed identities follow their resources when ARM moves them (ids are rewritten by prefix). */
  async moveManagedIdentities(oldIdPrefix: string, newIdPrefix: string): Promise<void> {
    const oldKey = oldIdPrefix.toLowerCase();
    const rows = await this.db
      .selectFrom("principals")
      .selectAll()
      .where((eb) => eb.or([eb("resource_key", "=", oldKey), eb.and([eb("resource_key", ">", `${oldKey}/`), eb("resource_key", "<", `${oldKey}0`)])]))
      .execute();
    for (const row of rows) {
      const resourceId = newIdPrefix + (row.resource_id ?? "").slice(oldIdPrefix.length);
      await this.db
        .updateTable("principals")
        .set({ resource_id: resourceId, resource_key: resourceId.toLowerCase() })
        .where("object_id", "=", row.object_id)
        .execute();
    }
  }
}

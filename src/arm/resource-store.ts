import type { Db } from "../storage/index.js";
import type { Clock } from "../platform/index.js";
import { resourceKey } from "./domain/resource-id.js";

/** A stored ARM resource: its id and the JSON body that GET returns. */
export interface StoredResource<T = Record<string, unknown>> {
  id: string;
  name: string;
  body: T;
  createdAt: number;
}

const RESOURCE_GROUP_TYPE = "microsoft.resources/resourcegroups";

/**
 * Generic ARM resource persistence. Every resource (resource groups included) is one row keyed by its
 * lower-cased id; children share their parent's id as a prefix, which is what makes cascade delete and
 * move a prefix rewrite.
 */
export class ResourceStore {
  /** Told the id of every resource written, deleted or moved: the portal's change hints (issue 9 §4). */
  onChange: (id: string) => void = () => {};

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  async get<T = Record<string, unknown>>(id: string): Promise<StoredResource<T> | undefined> {
    const row = await this.db.selectFrom("resources").selectAll().where("key", "=", resourceKey(id)).executeTakeFirst();
    return row && { id: row.id, name: row.name, body: JSON.parse(row.body) as T, createdAt: row.created_at };
  }

  /**
   * Inserts or replaces; returns true when the resource is new. Insert-if-absent first, then update: of two
   * nodes racing to create one resource exactly one sees it as new (issue 11 §2), and created_at is the
   * first writer's. A read-then-write would let both answer 201.
   */
  async put(args: { id: string; subscriptionId: string; resourceGroup: string | null; typeKey: string; name: string; body: unknown }): Promise<boolean> {
    const key = resourceKey(args.id);
    const now = this.clock.now();
    const row = {
      key,
      id: args.id,
      subscription_id: args.subscriptionId,
      resource_group_key: args.resourceGroup?.toLowerCase() ?? null,
      type_key: args.typeKey.toLowerCase(),
      name: args.name,
      body: JSON.stringify(args.body),
      created_at: now,
      updated_at: now,
    };
    const inserted = await this.db.insertInto("resources").values(row).onConflict((oc) => oc.column("key").doNothing()).executeTakeFirst();
    const created = Number(inserted.numInsertedOrUpdatedRows ?? 0n) > 0;
    if (!created) await this.db.updateTable("resources").set({ body: row.body, updated_at: now, id: row.id }).where("key", "=", key).execute();
    this.onChange(args.id);
    return created;
  }

  /** Deletes a resource and everything under it (its id prefix). Returns the deleted ids. */
  async deleteTree(id: string): Promise<string[]> {
    return (await this.removeTree(id)).map((r) => r.id);
  }

  /** Like deleteTree, returning what was removed (providers clean up their own state from the bodies). */
  async removeTree(id: string): Promise<StoredResource[]> {
    const key = resourceKey(id);
    const inTree = (eb: any) => eb.or([eb("key", "=", key), eb.and([eb("key", ">", `${key}/`), eb("key", "<", `${key}0`)])]);
    const removed = await this.db.transaction().execute(async (trx) => {
      const rows = await trx.selectFrom("resources").selectAll().where(inTree).execute();
      await trx.deleteFrom("resources").where(inTree).execute();
      return rows.map((row) => ({ id: row.id, name: row.name, body: JSON.parse(row.body) as Record<string, unknown>, createdAt: row.created_at }));
    });
    for (const r of removed) this.onChange(r.id);
    return removed;
  }

  async listByType<T = Record<string, unknown>>(scope: { subscriptionId: string; resourceGroup?: string; typeKey: string; parentId?: string }): Promise<StoredResource<T>[]> {
    if (scope.parentId !== undefined) {
      // Children of one resource: a primary-key range scan (cost proportional to the children, not to every
      // resource of that type in the subscription), filtered by type afterwards.
      const parent = resourceKey(scope.parentId);
      const typeKey = scope.typeKey.toLowerCase();
      const rows = await this.db.selectFrom("resources").selectAll().where("key", ">", `${parent}/`).where("key", "<", `${parent}0`).orderBy("key").execute();
      return rows
        .filter((row) => row.type_key === typeKey)
        .sort((a, b) => a.created_at - b.created_at || (a.key < b.key ? -1 : 1))
        .map((row) => ({ id: row.id, name: row.name, body: JSON.parse(row.body) as T, createdAt: row.created_at }));
    }
    let q = this.db.selectFrom("resources").selectAll().where("subscription_id", "=", scope.subscriptionId).where("type_key", "=", scope.typeKey.toLowerCase());
    if (scope.resourceGroup !== undefined) q = q.where("resource_group_key", "=", scope.resourceGroup.toLowerCase());
    if (scope.parentId !== undefined) {
      const parent = resourceKey(scope.parentId);
      // Children sort between "parent/" and "parent0" ('0' follows '/'): an exact prefix match without LIKE wildcards.
      q = q.where("key", ">", `${parent}/`).where("key", "<", `${parent}0`);
    }
    const rows = await q.orderBy("created_at").orderBy("key").execute();
    return rows.map((row) => ({ id: row.id, name: row.name, body: JSON.parse(row.body) as T, createdAt: row.created_at }));
  }

  /** Top-level resources (not resource groups, not child resources) in a subscription or group. */
  async listTopLevel<T = Record<string, unknown>>(scope: { subscriptionId: string; resourceGroup?: string }): Promise<StoredResource<T>[]> {
    let q = this.db.selectFrom("resources").selectAll().where("subscription_id", "=", scope.subscriptionId).where("type_key", "!=", RESOURCE_GROUP_TYPE);
    if (scope.resourceGroup !== undefined) q = q.where("resource_group_key", "=", scope.resourceGroup.toLowerCase());
    const rows = await q.orderBy("created_at").execute();
    return rows
      .filter((r) => r.type_key.split("/").length === 2)
      .map((row) => ({ id: row.id, name: row.name, body: JSON.parse(row.body) as T, createdAt: row.created_at }));
  }

  /**
   * Moves a resource (and its children) to a new id prefix, rewriting the `id` inside each body too.
   * Runs in one transaction so a crash leaves either the old or the new ids, never a mix.
   */
  async move(oldId: string, newId: string, target: { subscriptionId: string; resourceGroup: string }): Promise<void> {
    const oldKey = resourceKey(oldId);
    await this.db.transaction().execute(async (trx) => {
      const rows = await trx
        .selectFrom("resources")
        .selectAll()
        .where((eb) => eb.or([eb("key", "=", oldKey), eb.and([eb("key", ">", `${oldKey}/`), eb("key", "<", `${oldKey}0`)])]))
        .execute();
      for (const row of rows) {
        const id = newId + row.id.slice(oldId.length);
        const body = JSON.parse(row.body) as Record<string, unknown>;
        if (typeof body.id === "string") body.id = id;
        await trx.deleteFrom("resources").where("key", "=", row.key).execute();
        await trx
          .insertInto("resources")
          .values({
            ...row,
            key: resourceKey(id),
            id,
            subscription_id: target.subscriptionId,
            resource_group_key: target.resourceGroup.toLowerCase(),
            body: JSON.stringify(body),
            updated_at: this.clock.now(),
          })
          .execute();
      }
    });
    this.onChange(oldId);
    this.onChange(newId);
  }
}

export { RESOURCE_GROUP_TYPE };

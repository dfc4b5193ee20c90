import type { Kysely } from "kysely";
import type { Logger } from "../platform/index.js";
import { type Db, type StoreEngine, leaseNowMs } from "../storage/index.js";
import type { ClusterTables } from "./lease-store.js";

/** What the placement poller does to this node's files (implemented by src/sql: `files`). */
export interface LocalFiles {
  isOpen(databaseId: string): boolean;
  /** Closes the file, zeroes its DEK, ends its TDS sessions (as the lifecycle port's close). */
  close(databaseId: string): void;
  /** Reopens it by unwrapping its DEK; false when that is not possible now. */
  reopen(databaseId: string): Promise<boolean>;
  /** Rewraps the DEKs of files held here whose server's protector another node changed (only with several nodes). */
  followProtectors?(): Promise<number>;
}

/** How often the owner looks for transitions other nodes decided (scale-out.md §3.4: every 1 s, versions only). */
export const PLACEMENT_POLL_MS = 1000;

/**
 * Database placement in local-disk mode (scale-out.md §3.4): each file lives on exactly one node's disk, the
 * one that created or last opened it, recorded by node *name* in `db_placement`. The node that decides a
 * lifecycle transition (the prober) is usually not the owner, so the owner follows shared state: every
 * second it reads the versions of its databases' health rows and closes those that turned Inaccessible
 * (file closed, DEK zeroed) and reopens those healed.
 */
export class Placement {
  private readonly db: Kysely<ClusterTables>;
  private readonly seen = new Map<string, { version: number; state: string }>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;

  constructor(
    private readonly deps: { db: Db; engine: StoreEngine; log: Logger; nodeName: () => string; liveNames: () => Promise<Set<string>> },
  ) {
    this.db = deps.db as unknown as Kysely<ClusterTables>;
  }

  /** This node created or opened the file: it holds it. */
  async holds(databaseId: string): Promise<void> {
    const name = this.deps.nodeName();
    const now = leaseNowMs(this.deps.engine);
    await this.db
      .insertInto("db_placement")
      .values({ database_id: databaseId, node_name: name, updated_at: now })
      .onConflict((oc) => oc.column("database_id").doUpdateSet({ node_name: name, updated_at: now }))
      .execute();
  }

  async ownerOf(databaseId: string): Promise<string | undefined> {
    return (await this.db.selectFrom("db_placement").select("node_name").where("database_id", "=", databaseId).executeTakeFirst())?.node_name;
  }

  /** Another node holds the file (placed on another name). */
  async heldElsewhere(databaseId: string): Promise<boolean> {
    const owner = await this.ownerOf(databaseId);
    return owner !== undefined && owner !== this.deps.nodeName();
  }

  /**
   * At start: open a file placed on this node, an unplaced one (made before placement existed), or one whose
   * file is in this node's own data dir. In local-disk mode a file can only be here if this data dir made it;
   * the placement names an earlier incarnation under another name (a default name carries the port, and
   * `--port 0` picks a new one at each start).
   */
  async mayOpen(databaseId: string, fileIsHere: boolean): Promise<boolean> {
    const owner = await this.ownerOf(databaseId);
    if (owner === undefined || owner === this.deps.nodeName() || fileIsHere) return true;
    // Placed elsewhere and not here: the owner serves it (forwarding to it is the next slice).
    if (!(await this.deps.liveNames()).has(owner)) this.deps.log.info({ databaseId, owner }, "placement: database held by a node that is down; it is unavailable until that node returns");
    return false;
  }

  forget(databaseId: string): Promise<unknown> {
    return this.db.deleteFrom("db_placement").where("database_id", "=", databaseId).execute();
  }

  /** Database file ids placed on each node name. */
  async byNode(): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    for (const r of await this.db.selectFrom("db_placement").select(["database_id", "node_name"]).orderBy("database_id").execute()) {
      out.set(r.node_name, [...(out.get(r.node_name) ?? []), r.database_id]);
    }
    return out;
  }

  /**
   * One poll: this node's databases whose health row changed version since the last poll. Only changes are
   * acted on (the first poll records what is), so a transition this node is in the middle of deciding
   * (a revalidation that has opened the file but not yet committed) is never undone under it.
   */
  async poll(files: LocalFiles): Promise<void> {
    const rows = await this.db
      .selectFrom("health_databases as h")
      .innerJoin("db_placement as p", "p.database_id", "h.database_id")
      .select(["h.database_id as id", "h.state as state", "h.version as version"])
      .where("p.node_name", "=", this.deps.nodeName())
      .execute();
    for (const r of rows) {
      const version = Number(r.version);
      const state = (JSON.parse(r.state) as { state: string }).state;
      const before = this.seen.get(r.id);
      this.seen.set(r.id, { version, state });
      if (!before || before.version === version) continue;
      if (state === "Inaccessible" && files.isOpen(r.id)) {
        files.close(r.id);
        this.deps.log.info({ databaseId: r.id }, "placement: closed a database another node made Inaccessible");
      } else if (state === "Online" && before.state === "Inaccessible" && !files.isOpen(r.id)) {
        const ok = await files.reopen(r.id);
        this.deps.log.info({ databaseId: r.id, ok }, "placement: reopened a database another node healed");
      }
    }
    await files.followProtectors?.();
  }

  start(files: LocalFiles): void {
    const run = () => {
      this.polling ??= this.poll(files)
        .catch((err: Error) => this.deps.log.warn({ err: err.message }, "placement poll failed"))
        .finally(() => (this.polling = undefined));
    };
    run();
    this.timer = setInterval(run, PLACEMENT_POLL_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.polling;
  }
}


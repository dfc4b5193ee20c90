import type { Db } from "../storage/index.js";
import { type Clock, newGuid } from "../platform/index.js";
import { ArmError } from "./domain/errors.js";

export type OperationStatus = "InProgress" | "Succeeded" | "Failed" | "Canceled";

export interface Operation {
  id: string;
  subscriptionId: string;
  status: OperationStatus;
  resultResourceKey: string | null;
  error: { code: string; message: string } | null;
  errorStatus: number | null;
  startedAt: number;
  endedAt: number | null;
}

/**
 * Long-running operations. Work that a provider chooses to run as an LRO is recorded here and polled through
 * absolute `Azure-AsyncOperation` and `Location` URLs on the host the client called (sdk-compat.md §4.3,
 * az-cli-compat.md §7). Most work finishes before the 202 is sent, so the first poll already says Succeeded.
 */
export class Operations {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  /** Runs `work`, recording it as an operation. The work's ArmError becomes the operation's error. */
  async run(subscriptionId: string, work: () => Promise<{ resultResourceKey?: string } | void>, opts: { background?: boolean } = {}): Promise<Operation> {
    const id = newGuid();
    const startedAt = this.clock.now();
    await this.db
      .insertInto("operations")
      .values({ id, subscription_id: subscriptionId, status: "InProgress", result_resource_key: null, error: null, error_status: null, started_at: startedAt, ended_at: null })
      .execute();
    const finish = async () => {
      try {
        const result = await work();
        await this.db
          .updateTable("operations")
          .set({ status: "Succeeded", result_resource_key: (result && result.resultResourceKey) ?? null, ended_at: this.clock.now() })
          .where("id", "=", id)
          .execute();
      } catch (err) {
        const e = err instanceof ArmError ? err : new ArmError(500, "InternalServerError", "The operation failed with an internal error.");
        await this.db
          .updateTable("operations")
          .set({ status: "Failed", error: JSON.stringify({ code: e.code, message: e.message }), error_status: e.status, ended_at: this.clock.now() })
          .where("id", "=", id)
          .execute();
      }
    };
    if (opts.background) void finish();
    else await finish();
    return (await this.get(id))!;
  }

  async get(id: string): Promise<Operation | undefined> {
    const row = await this.db.selectFrom("operations").selectAll().where("id", "=", id.toLowerCase()).executeTakeFirst();
    if (!row) return undefined;
    return {
      id: row.id,
      subscriptionId: row.subscription_id,
      status: row.status as OperationStatus,
      resultResourceKey: row.result_resource_key,
      error: row.error ? (JSON.parse(row.error) as { code: string; message: string }) : null,
      errorStatus: row.error_status,
      startedAt: row.started_at,
      endedAt: row.ended_at,
    };
  }
}

import type { SurfaceResponse } from "../../platform/index.js";
import type { ArmServices } from "../provider.js";
import { armErrors } from "../domain/errors.js";

/**
 * Answers a poll. `status` style (Azure-AsyncOperation) returns `{name,status,startTime,endTime,error?}`;
 * `location` style returns 202 while running, then the result resource body (or an empty 200), or the
 * operation's error with its status (azure-sql-tde.md §1.3).
 */
export async function operationResponse(services: ArmServices, id: string, style: "status" | "location", subscriptionId: string): Promise<SurfaceResponse> {
  const op = await services.operations.get(id);
  if (!op || op.subscriptionId !== subscriptionId) throw armErrors.operationNotFound(id);
  const iso = (ms: number | null) => (ms === null ? undefined : new Date(ms).toISOString());
  if (style === "status") {
    const body: Record<string, unknown> = { id: op.id, name: op.id, status: op.status, startTime: iso(op.startedAt) };
    if (op.endedAt !== null) body.endTime = iso(op.endedAt);
    if (op.error) body.error = op.error;
    return { status: 200, body, headers: op.status === "InProgress" ? { "retry-after": "1" } : {} };
  }
  if (op.status === "InProgress") return { status: 202, headers: { "retry-after": "1" } };
  if (op.status === "Failed" || op.status === "Canceled") {
    return { status: op.errorStatus ?? 400, body: { error: op.error ?? { code: "OperationCanceled", message: "The operation was canceled." } } };
  }
  if (op.resultResourceKey) {
    const resource = await services.store.get(op.resultResourceKey);
    if (resource) return { status: 200, body: resource.body };
  }
  return { status: 200 };
}

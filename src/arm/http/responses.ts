import type { SurfaceResponse } from "../../platform/index.js";
import type { Operation } from "../operations.js";
import { ArmError } from "../domain/errors.js";

export const ok = (body: unknown): SurfaceResponse => ({ status: 200, body });
export const created = (body: unknown): SurfaceResponse => ({ status: 201, body });
export const okOrCreated = (isNew: boolean, body: unknown): SurfaceResponse => ({ status: isNew ? 201 : 200, body });
export const noContent = (): SurfaceResponse => ({ status: 204 });
export const list = (value: unknown[]): SurfaceResponse => ({ status: 200, body: { value } });

export function armErrorResponse(err: ArmError): SurfaceResponse {
  const error: Record<string, unknown> = { code: err.code, message: err.message };
  if (err.target) error.target = err.target;
  return { status: err.status, headers: { ...err.headers, "x-ms-failure-cause": "gateway" }, body: { error } };
}

/**
 * 202 for a long-running operation, with both poll URLs absolute on the host the client called
 * (sdk-compat.md §4.3: relative URLs get their api-version rewritten). `Retry-After: 1` keeps az from
 * falling back to its 30 s default between polls (az-cli-compat.md §7); the JS SDKs poll at once anyway.
 */
export function accepted(op: Operation, urls: { asyncOperation?: string; location: string }, body?: unknown): SurfaceResponse {
  const headers: Record<string, string> = { location: urls.location, "retry-after": "1" };
  if (urls.asyncOperation) headers["azure-asyncoperation"] = urls.asyncOperation;
  return { status: 202, headers, body };
}

/** Builds poll URLs: subscription-level `operationresults` or a provider's `locations/{loc}/...` pair. */
export function operationUrls(
  origin: string,
  op: Operation,
  apiVersion: string,
  provider?: { namespace: string; location: string; kind: string },
): { asyncOperation?: string; location: string } {
  const q = `?api-version=${encodeURIComponent(apiVersion)}`;
  if (!provider) return { location: `${origin}/subscriptions/${op.subscriptionId}/operationresults/${op.id}${q}` };
  const base = `${origin}/subscriptions/${op.subscriptionId}/providers/${provider.namespace}/locations/${encodeURIComponent(provider.location)}`;
  return {
    asyncOperation: `${base}/${provider.kind}AzureAsyncOperation/${op.id}${q}`,
    location: `${base}/${provider.kind}OperationResults/${op.id}${q}`,
  };
}

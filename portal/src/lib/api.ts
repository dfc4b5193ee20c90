// The portal's only way out: the public ARM, Key Vault and Activity Log APIs (like az), plus tdekv's own clearly
// named /_tdekv/* routes (portal.md §2). Errors keep Azure's code and message verbatim (issue 9 §5).
import { accessToken, whoAmI as who, type TokenKind } from "./auth";
import type { WhoAmI } from "./types";

/** ARM is the portal's own origin, directly (https://localhost:PORT) and through the proxy (management.azure.com). */
export const armOrigin: string = location.origin;

export class ApiError extends Error {
  /** Key Vault's `error.innererror.code` (e.g. ForbiddenByPolicy under Forbidden) when present. */
  innerCode?: string;
  /** The x-ms-request-id of the failing call, when the response exposes it. */
  requestId?: string;
  constructor(public status: number, public code: string, message: string, public body: unknown) {
    super(message);
    this.name = "ApiError";
  }
}

export const whoAmI = (): WhoAmI => who();

/** Turns any thrown value into an ApiError so pages can always hand it to <ErrorBox>. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof Error) return new ApiError(0, err.name === "TypeError" ? "NetworkError" : err.name, err.message, undefined);
  return new ApiError(0, "Error", String(err), undefined);
}

type ErrorBody = { error?: { code?: string; message?: string; innererror?: { code?: string } }; code?: string; message?: string };

async function errorOf(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => "");
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON: keep the text */
  }
  const b = (typeof body === "object" && body ? body : {}) as ErrorBody;
  const e = b.error ?? b;
  const err = new ApiError(res.status, e.code ?? `HTTP${res.status}`, e.message ?? (res.statusText || `HTTP ${res.status}`), body);
  if (b.error?.innererror?.code) err.innerCode = b.error.innererror.code;
  const rid = res.headers.get("x-ms-request-id");
  if (rid) err.requestId = rid;
  return err;
}

/** One call with a bearer; on 401 one silent refresh and one retry (issue 9 §1, contract). */
async function send(kind: TokenKind, method: string, url: string, body?: unknown): Promise<Response> {
  const go = async (force: boolean): Promise<Response> => {
    const headers: Record<string, string> = { Authorization: `Bearer ${await accessToken(kind, force)}`, Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    try {
      return await fetch(url, { method, headers, cache: "no-store", ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    } catch (err) {
      throw new ApiError(0, "NetworkError", `${method} ${new URL(url).host} failed: ${(err as Error).message}`, undefined);
    }
  };
  const res = await go(false);
  return res.status === 401 ? go(true) : res;
}

async function parse<T>(res: Response): Promise<T> {
  if (!res.ok) throw await errorOf(res);
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

const armUrl = (path: string): string => (/^https?:/i.test(path) ? path : `${armOrigin}${path}`);

/** ARM call; `path` includes `?api-version=`. */
export async function arm<T>(method: string, path: string, body?: unknown): Promise<T> {
  return parse<T>(await send("arm", method, armUrl(path), body));
}

export interface LroProgress {
  status: string;
  elapsedMs: number;
  /** The status URL being polled (portal.md §4.4: "a link to the operation's status URL"). */
  statusUrl?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Azure's Retry-After is often 10-60 s; a local emulator answers far sooner, so poll at most every second. */
const pollDelay = (res: Response): number => Math.min(Math.max(Number(res.headers.get("Retry-After") ?? 1) * 1000, 250), 1000);

/**
 * An ARM long-running operation: follows 201/202 Azure-AsyncOperation (or Location) polling until Succeeded/Failed,
 * throws ApiError with the operation's own error, and returns the final resource.
 */
export async function armLro<T>(method: string, path: string, body?: unknown, onProgress?: (p: LroProgress) => void): Promise<T> {
  const started = performance.now();
  const first = await send("arm", method, armUrl(path), body);
  if (!first.ok) throw await errorOf(first);
  const asyncUrl = first.headers.get("Azure-AsyncOperation");
  const location = first.headers.get("Location");
  if ((first.status !== 201 && first.status !== 202) || (!asyncUrl && !location)) return parse<T>(first);
  const initial = await first.text();
  let delay = pollDelay(first);
  if (asyncUrl) {
    for (;;) {
      await sleep(delay);
      const res = await send("arm", "GET", asyncUrl);
      const op = await parse<{ status?: string; error?: { code?: string; message?: string } }>(res);
      const status = op.status ?? "InProgress";
      onProgress?.({ status, elapsedMs: performance.now() - started, statusUrl: asyncUrl });
      if (/^(failed|canceled|cancelled)$/i.test(status)) {
        throw new ApiError(200, op.error?.code ?? status, op.error?.message ?? `The operation ended ${status}.`, op);
      }
      if (/^succeeded$/i.test(status)) break;
      delay = pollDelay(res);
    }
    if (method === "PUT" || method === "PATCH") return arm<T>("GET", path);
    if (location) return parse<T>(await send("arm", "GET", location));
    return (initial ? JSON.parse(initial) : undefined) as T;
  }
  for (;;) {
    await sleep(delay);
    const res = await send("arm", "GET", location!);
    onProgress?.({ status: res.status === 202 ? "InProgress" : "Succeeded", elapsedMs: performance.now() - started, statusUrl: location! });
    if (res.status !== 202) return parse<T>(res);
    delay = pollDelay(res);
  }
}

/** Key Vault data plane; `vaultUri` is the vault's `properties.vaultUri` from ARM, `path` includes api-version. */
export async function vault<T>(vaultUri: string, method: string, path: string, body?: unknown): Promise<T> {
  return parse<T>(await send("vault", method, `${vaultUri.replace(/\/+$/, "")}${path}`, body));
}

/** tdekv's own /_tdekv/* routes (chaos, clock, events, notifications inbox), with the ARM token. */
export async function tdekv<T>(method: string, path: string, body?: unknown): Promise<T> {
  return parse<T>(await send("arm", method, armUrl(path), body));
}

/** Every page of an ARM list (follows nextLink). */
export async function armListAll<T>(path: string): Promise<T[]> {
  const out: T[] = [];
  let next: string | undefined = path;
  while (next) {
    const page: { value?: T[]; nextLink?: string } = await arm("GET", next);
    out.push(...(page.value ?? []));
    next = page.nextLink;
  }
  return out;
}

import { httpsJson } from "../platform/index.js";
import { API, RestError } from "./rest-types.js";

export { API, RestError };

/**
 * The doctor's (and chaos's) only way into tdekv: Azure's public HTTP APIs, the way a user's own script
 * would call them. Every request goes to tdekv's HTTPS listener with the *real* Azure host name as Host and
 * SNI (management.azure.com, login.microsoftonline.com, graph.microsoft.com, {vault}.vault.azure.net), so
 * resource ids, key URIs and tokens are exactly what az sees through the proxy (az-cli-compat.md §0).
 * Certificates are verified against tdekv's CA; nothing is switched off.
 */
export interface Credentials {
  tenantId: string;
  clientId: string;
  clientSecret: string;
}

export interface Connection {
  /** tdekv's direct HTTPS endpoint (endpoints.json armEndpoint); only its host and port are dialled. */
  baseUrl: string;
  /** tdekv's CA certificate (PEM). */
  ca: Buffer | string;
  /** Who calls the Azure APIs: AZURE_TENANT_ID/CLIENT_ID/CLIENT_SECRET, or endpoints.json's service principal. */
  credentials: Credentials;
  /** Who calls tdekv's own `/_tdekv/*` endpoints (clock, faults, tenants): a principal of the bootstrap tenant. */
  admin?: Credentials;
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

export const ARM_HOST = "management.azure.com";
export const LOGIN_HOST = "login.microsoftonline.com";
export const GRAPH_HOST = "graph.microsoft.com";
export const vaultHost = (vault: string) => `${vault.toLowerCase()}.vault.azure.net`;

function errorOf(res: HttpResult): RestError {
  const b = res.body as { error?: { code?: string; message?: string; innererror?: { code?: string }; innerError?: { code?: string } }; code?: string; message?: string } | undefined;
  const e = b?.error ?? b;
  const code = (e && typeof e === "object" && typeof e.code === "string" ? e.code : undefined) ?? `HTTP${res.status}`;
  const message = (e && typeof e === "object" && typeof e.message === "string" ? e.message : undefined) ?? (typeof res.body === "string" ? res.body : `HTTP ${res.status}`);
  const inner = b?.error?.innererror?.code ?? b?.error?.innerError?.code;
  return new RestError(res.status, code, message, inner);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class AzureRest {
  private readonly tokens = new Map<string, Promise<string>>();
  private readonly dial: URL;

  constructor(readonly conn: Connection) {
    this.dial = new URL(conn.baseUrl);
  }

  /** The tenant the Azure calls are made in. */
  get tenantId(): string {
    return this.conn.credentials.tenantId;
  }

  /** One HTTPS request to tdekv, addressed to `host` (Host header and SNI). */
  request(host: string, method: string, pathAndQuery: string, opts: { token?: string; json?: unknown; form?: Record<string, string> } = {}): Promise<HttpResult> {
    return httpsJson({ dial: this.dial, host, method, path: pathAndQuery, ca: this.conn.ca, ...opts, timeoutMs: 20_000 });
  }

  /** A client-credentials token (Entra v2 endpoint), cached per principal and scope for this run. */
  token(scope: string, who: Credentials = this.conn.credentials): Promise<string> {
    const key = `${who.tenantId}|${who.clientId}|${scope}`;
    let t = this.tokens.get(key);
    if (!t) {
      t = (async () => {
        const res = await this.request(LOGIN_HOST, "POST", `/${who.tenantId}/oauth2/v2.0/token`, {
          form: { grant_type: "client_credentials", client_id: who.clientId, client_secret: who.clientSecret, scope },
        });
        const body = res.body as { access_token?: string; error_description?: string } | undefined;
        if (res.status !== 200 || !body?.access_token) throw new RestError(res.status, "TokenRequestFailed", `could not get a token for ${scope}: ${body?.error_description ?? res.status}`);
        return body.access_token;
      })();
      t.catch(() => this.tokens.delete(key));
      this.tokens.set(key, t);
    }
    return t;
  }

  /** ARM: `path` is a resource path with its query (api-version). */
  async arm(method: string, path: string, body?: unknown): Promise<HttpResult> {
    const token = await this.token("https://management.azure.com/.default");
    return this.request(ARM_HOST, method, path, { token, ...(body !== undefined ? { json: body } : {}) });
  }

  /** ARM, throwing RestError on a non-2xx answer; long-running operations are followed to their end. */
  async armOk(method: string, path: string, body?: unknown): Promise<any> {
    const res = await this.arm(method, path, body);
    if (res.status >= 300) throw errorOf(res);
    if (res.status === 202 || (res.status === 201 && (res.headers["azure-asyncoperation"] || res.headers.location))) return this.follow(res, method, path);
    return res.body;
  }

  /** GET that answers undefined for 404 (and throws other errors). */
  async armFind(path: string): Promise<any | undefined> {
    const res = await this.arm("GET", path);
    if (res.status === 404) return undefined;
    if (res.status >= 300) throw errorOf(res);
    return res.body;
  }

  /** Follows Azure-AsyncOperation (or Location) until a terminal status (az-cli-compat.md §7). */
  private async follow(first: HttpResult, method: string, path: string): Promise<any> {
    const asyncUrl = first.headers["azure-asyncoperation"];
    const location = first.headers.location;
    const poll = typeof asyncUrl === "string" ? asyncUrl : typeof location === "string" ? location : undefined;
    if (!poll) return first.body;
    const u = new URL(poll);
    for (let i = 0; i < 600; i++) {
      const res = await this.arm("GET", u.pathname + u.search);
      if (res.status >= 300 && res.status !== 202) throw errorOf(res);
      const status = (res.body as { status?: string } | undefined)?.status;
      if (typeof asyncUrl === "string") {
        if (status === "Succeeded") break;
        if (status === "Failed" || status === "Canceled") {
          const e = (res.body as { error?: { code?: string; message?: string } }).error;
          throw new RestError(400, e?.code ?? status, e?.message ?? `the operation ${status.toLowerCase()}`);
        }
      } else if (res.status !== 202) {
        return res.body;
      }
      await sleep(Math.min(50 * (i + 1), 500));
    }
    return method === "PUT" || method === "PATCH" ? this.armOk("GET", path) : first.body;
  }

  /** Key Vault data plane at https://{vault}.vault.azure.net. */
  async vault(vault: string, method: string, path: string, body?: unknown): Promise<HttpResult> {
    const token = await this.token("https://vault.azure.net/.default");
    return this.request(vaultHost(vault), method, path, { token, ...(body !== undefined ? { json: body } : {}) });
  }

  async vaultOk(vault: string, method: string, path: string, body?: unknown): Promise<any> {
    const res = await this.vault(vault, method, path, body);
    if (res.status >= 300) throw errorOf(res);
    return res.body;
  }

  /** Microsoft Graph (read-only look-ups of principals). */
  async graph(path: string): Promise<HttpResult> {
    const token = await this.token("https://graph.microsoft.com/.default");
    return this.request(GRAPH_HOST, "GET", path, { token });
  }

  /** tdekv's own endpoints (`/_tdekv/...`), as a principal of the bootstrap tenant. */
  async tdekv(method: string, path: string, body?: unknown): Promise<any> {
    const who = this.conn.admin ?? this.conn.credentials;
    const token = await this.token("https://management.azure.com/.default", who);
    const res = await this.request(this.dial.host, method, path, { token, ...(body !== undefined ? { json: body } : {}) });
    if (res.status >= 300) throw errorOf(res);
    return res.body;
  }

  /** A copy that calls the Azure APIs as someone else (same tdekv, same admin). */
  as(credentials: Credentials): AzureRest {
    return new AzureRest({ ...this.conn, credentials });
  }
}

export { errorOf };
